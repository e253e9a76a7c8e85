package logquery

import (
	"testing"
	"time"
)

const (
	access5xx = `<6>{"time":"2026-12-06T14:00:00Z","level":"INFO","msg":"request","component":"access","request_id":"r1","method":"GET","path":"/api/x","status":502,"duration_ms":812.5,"route":"/api/"}`
	access200 = `{"time":"2026-12-06T14:30:00Z","level":"INFO","msg":"request","component":"access","request_id":"r2","method":"GET","path":"/app","status":200,"duration_ms":1.2,"route":"static"}`
	event     = `{"time":"2026-12-06T14:31:00Z","level":"WARN","msg":"upstream down","component":"proxy","request_id":"r1"}`
)

func TestFilter(t *testing.T) {
	var lines []Line
	for _, s := range []string{access5xx, access200, event, "-- No entries --", "", "{not json"} {
		if l, ok := Parse([]byte(s)); ok {
			lines = append(lines, l)
		}
	}
	if len(lines) != 3 {
		t.Fatalf("parsed %d lines, want 3", len(lines))
	}
	lo, hi, _ := ParseStatus("5xx")
	since := time.Date(2026, 12, 6, 14, 15, 0, 0, time.UTC)
	tests := []struct {
		name string
		f    Filter
		want []string // request ids + msg
	}{
		{"all", Filter{}, []string{"r1 request", "r2 request", "r1 upstream down"}},
		{"5xx", Filter{StatusLo: lo, StatusHi: hi}, []string{"r1 request"}},
		{"route", Filter{Route: "/api/"}, []string{"r1 request"}},
		{"route name", Filter{Route: "static"}, []string{"r2 request"}},
		{"since", Filter{Since: since}, []string{"r2 request", "r1 upstream down"}},
		{"request", Filter{Request: "r1"}, []string{"r1 request", "r1 upstream down"}},
		{"slow", Filter{Slow: 500 * time.Millisecond}, []string{"r1 request"}},
	}
	for _, tt := range tests {
		var got []string
		for _, l := range lines {
			if tt.f.Match(l) {
				got = append(got, l.RequestID+" "+l.Msg)
			}
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
			}
		}
	}
	if string(lines[0].Raw[:1]) != "{" {
		t.Errorf("the journald prefix was kept: %s", lines[0].Raw)
	}
}

func TestParseStatus(t *testing.T) {
	for in, want := range map[string][2]int{"5xx": {500, 599}, "4XX": {400, 499}, "404": {404, 404}} {
		lo, hi, err := ParseStatus(in)
		if err != nil || lo != want[0] || hi != want[1] {
			t.Errorf("%s: %d-%d %v", in, lo, hi, err)
		}
	}
	for _, bad := range []string{"", "6xx", "99", "600", "abc", "x5x"} {
		if _, _, err := ParseStatus(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{access5xx, access200, event, "<6>", "<", "{}"} {
		f.Add([]byte(s), "5xx")
	}
	f.Fuzz(func(t *testing.T, b []byte, status string) {
		if l, ok := Parse(b); ok && (len(l.Raw) == 0 || l.Raw[0] != '{' || l.Msg == "") {
			t.Fatalf("accepted %q as %+v", b, l)
		}
		if lo, hi, err := ParseStatus(status); err == nil && (lo < 100 || hi > 599 || lo > hi) {
			t.Fatalf("%q: %d-%d", status, lo, hi)
		}
	})
}
