package logship

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestAppendMessage(t *testing.T) {
	h := newHeader("web 1.example.com", 4242)
	at := time.Date(2026, 12, 6, 14, 3, 4, 5006000, time.FixedZone("x", 3600))
	tests := []struct {
		name string
		kind Kind
		line string
		want string
	}{
		{"access with request id", Access,
			`{"time":"t","level":"INFO","msg":"request","request_id":"abc123","status":200}` + "\n",
			`<190>1 2026-12-06T13:03:04.005006Z web1.example.com edge 4242 access [edge@32473 request_id="abc123"] {"time":"t","level":"INFO","msg":"request","request_id":"abc123","status":200}`},
		{"error event", Event, `{"level":"ERROR","msg":"boom"}`,
			`<27>1 2026-12-06T13:03:04.005006Z web1.example.com edge 4242 event - {"level":"ERROR","msg":"boom"}`},
		{"warn event", Event, `{"level":"WARN","msg":"w"}`, `<28>1 `},
		{"debug event", Event, `{"level":"DEBUG","msg":"d"}`, `<31>1 `},
		{"slog offset level", Event, `{"level":"ERROR+4","msg":"d"}`, `<27>1 `},
		{"no level", Event, `{"msg":"d"}`, `<30>1 `},
		{"request id needing escapes", Event, `{"level":"INFO","request_id":"a]b\"c\\d"}`,
			`[edge@32473 request_id="a\]b\\\"c\\\\d"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(h.appendMessage(nil, tt.kind, at, []byte(tt.line)))
			if !strings.Contains(got, tt.want) {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if strings.HasSuffix(got, "\n") {
				t.Error("message ends with a newline")
			}
		})
	}
}

func TestPrintableHostname(t *testing.T) {
	if got := newHeader("", 1).hostname; got != "-" {
		t.Errorf("empty hostname: %q", got)
	}
	if got := newHeader(strings.Repeat("a", 300), 1).hostname; len(got) != 255 {
		t.Errorf("long hostname kept %d bytes", len(got))
	}
}

func TestAppendFrame(t *testing.T) {
	if got := string(appendFrame([]byte("x"), []byte("hello"))); got != "x5 hello" {
		t.Errorf("got %q", got)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	var b []byte
	msgs := []string{"one", strings.Repeat("z", 1000), "three"}
	for _, m := range msgs {
		b = appendRecord(b, []byte(m))
	}
	lines, good, err := scanRecords(b)
	if err != nil || lines != 3 || good != len(b) {
		t.Fatalf("scan: %d lines, %d of %d bytes, %v", lines, good, len(b), err)
	}
	for i, m := range msgs {
		got, n, err := readRecord(b)
		if err != nil || string(got) != m {
			t.Fatalf("record %d: %q, %v", i, got, err)
		}
		b = b[n:]
	}
	long := appendRecord(nil, bytes.Repeat([]byte("y"), maxMessage+10))
	if got, _, err := readRecord(long); err != nil || len(got) != maxMessage {
		t.Errorf("long message: %d bytes, %v", len(got), err)
	}
	torn := appendRecord(nil, []byte("hello"))
	if _, _, err := readRecord(torn[:len(torn)-1]); err != errTorn {
		t.Errorf("torn: %v", err)
	}
	torn[len(torn)-1] ^= 1
	if _, _, err := readRecord(torn); err == nil {
		t.Error("flipped bit accepted")
	}
}

// FuzzReadRecord: the spool reader never panics, never reads past its
// input, and accepts exactly what appendRecord wrote.
func FuzzReadRecord(f *testing.F) {
	f.Add(appendRecord(nil, []byte("<190>1 - - edge 1 access - {}")))
	f.Add([]byte{0, 0, 0, 5, 1, 2, 3, 4, 'a'})
	f.Add([]byte{})
	f.Add(append(appendRecord(nil, []byte("a")), 0xff, 0xff))
	f.Fuzz(func(t *testing.T, b []byte) {
		lines, good, _ := scanRecords(b)
		if good > len(b) || (lines == 0) != (good == 0) {
			t.Fatalf("scan: %d lines, %d of %d bytes", lines, good, len(b))
		}
		msg, n, err := readRecord(b)
		if err != nil {
			return
		}
		if n > len(b) || len(msg) == 0 || len(msg) > maxMessage {
			t.Fatalf("record of %d bytes, message %d", n, len(msg))
		}
		if again := appendRecord(nil, msg); !bytes.Equal(again, b[:n]) {
			t.Fatalf("re-encoding differs")
		}
	})
}
