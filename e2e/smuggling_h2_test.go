package e2e

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Result is how edge ended one HTTP/2 stream.
type h2Result struct {
	status int    // :status of the response, 0 when none came
	rst    bool   // the stream was reset (RST_STREAM) or the connection refused (GOAWAY)
	body   string // the response body
}

// h2Exchange opens an HTTP/2 connection to e and sends one request built
// from fields as given (no validation: hpack carries any bytes), then the
// data frames, the last one with END_STREAM (or END_STREAM on the headers
// when there is none).
func h2Exchange(t *testing.T, e *Edge, fields [][2]string, data ...string) h2Result {
	t.Helper()
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 2 * time.Second},
		Config: &tls.Config{ServerName: domain, RootCAs: e.RootCAs(), NextProtos: []string{"h2"}}}
	nc, err := d.Dial("tcp", e.SiteAddr())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer nc.Close()
	if p := nc.(*tls.Conn).ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("negotiated %q, want h2", p)
	}
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(nc, nc)
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range fields {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	err = errors.Join(fr.WriteSettings(), fr.WriteHeaders(http2.HeadersFrameParam{
		StreamID: 1, BlockFragment: block.Bytes(), EndHeaders: true, EndStream: len(data) == 0}))
	for i, chunk := range data {
		err = errors.Join(err, fr.WriteData(1, i == len(data)-1, []byte(chunk)))
	}
	if err != nil {
		t.Fatalf("write frames: %v", err)
	}
	return readH2Result(t, fr)
}

// readH2Result reads frames until stream 1 ends.
func readH2Result(t *testing.T, fr *http2.Framer) h2Result {
	t.Helper()
	var res h2Result
	dec := hpack.NewDecoder(4096, nil)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("read frame: %v (so far %+v)", err, res)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.HeadersFrame:
			fields, err := dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				t.Fatalf("decode headers: %v", err)
			}
			for _, hf := range fields {
				if hf.Name == ":status" {
					res.status, _ = strconv.Atoi(hf.Value)
				}
			}
			if f.StreamEnded() {
				return res
			}
		case *http2.DataFrame:
			res.body += string(f.Data())
			if f.StreamEnded() {
				return res
			}
		case *http2.RSTStreamFrame:
			res.rst = true
			return res
		case *http2.GoAwayFrame:
			res.rst = true
			return res
		}
	}
}

// TestProxySmugglingHTTP2 sends HTTP/2 requests that HTTP/1.1 cannot carry
// as they are: each is refused (400 or a reset stream) before anything
// reaches the upstream, or forwarded with one valid request line and
// framing.
// The subtests run in order (not in parallel): each looks at what the
// upstream received during it.
func TestProxySmugglingHTTP2(t *testing.T) {
	t.Parallel()
	up := newStrictUpstream(t)
	e := startEdge(t, Options{Routes: []Route{{Path: "/api/", Upstreams: []string{up.addr()}}}})
	base := func(method, path string, extra ...[2]string) [][2]string {
		return append([][2]string{{":method", method}, {":scheme", "https"}, {":authority", domain}, {":path", path}}, extra...)
	}
	refused := []struct {
		name   string
		fields [][2]string
		data   []string
	}{
		{"space in query", base("GET", "/api/h2/space?q=a HTTP/1.1"), nil},
		{"space in path", base("GET", "/api/h2/space x"), nil},
		{"CRLF in query", base("GET", "/api/h2/crlf?q=a\r\nX-Evil: 1"), nil},
		{"NUL in path", base("GET", "/api/h2/nul\x00"), nil},
		{"fragment", base("GET", "/api/h2/frag#x"), nil},
		{"not origin-form", base("GET", "api/h2/rel"), nil},
		{"method not a token", base("GET /api/h2/m HTTP/1.1\r\nX:", "/api/h2/method"), nil},
		{"CRLF in a value", base("GET", "/api/h2/value", [2]string{"x-a", "1\r\nX-Evil: 1"}), nil},
		{"NUL in a value", base("GET", "/api/h2/value", [2]string{"x-a", "a\x00b"}), nil},
		{"transfer-encoding", base("POST", "/api/h2/te", [2]string{"transfer-encoding", "chunked"}), []string{"0\r\n\r\n"}},
		{"signed content-length", base("POST", "/api/h2/plus", [2]string{"content-length", "+5"}), []string{"hello"}},
		{"content-length list", base("POST", "/api/h2/list", [2]string{"content-length", "5, 5"}), []string{"hello"}},
		{"content-length space", base("POST", "/api/h2/sp", [2]string{"content-length", " 5"}), []string{"hello"}},
		{"content-length too big", base("POST", "/api/h2/big", [2]string{"content-length", "10"}), []string{"hello"}},
		{"content-length too small", base("POST", "/api/h2/small", [2]string{"content-length", "3"}), []string{"hello"}},
		{"content-length, no data", base("POST", "/api/h2/nodata", [2]string{"content-length", "5"}), nil},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			before := len(up.received(""))
			res := h2Exchange(t, e, tc.fields, tc.data...)
			if !res.rst && res.status != 400 {
				t.Errorf("got %+v, want 400 or a reset stream", res)
			}
			for _, r := range up.received("")[before:] {
				if r.Complete {
					t.Errorf("a complete request reached the upstream: %+v", r)
				}
			}
		})
	}
	forwarded := []struct {
		name, path, line, body string
		fields                 [][2]string
		data                   []string
		chunked                bool
	}{
		{name: "content-length agrees", path: "/api/h2ok/cl", line: "POST /api/h2ok/cl HTTP/1.1",
			fields: [][2]string{{"content-length", "5"}}, data: []string{"hel", "lo"}, body: "hello"},
		{name: "no content-length", path: "/api/h2ok/chunked", line: "POST /api/h2ok/chunked HTTP/1.1",
			data: []string{"hel", "lo"}, body: "hello", chunked: true},
		{name: "non-ASCII query", path: "/api/h2ok/utf8?q=\xc3\xa9", line: "POST /api/h2ok/utf8?q=%C3%A9 HTTP/1.1"},
	}
	for _, tc := range forwarded {
		t.Run(tc.name, func(t *testing.T) {
			res := h2Exchange(t, e, base("POST", tc.path, tc.fields...), tc.data...)
			if res.status != 200 {
				t.Fatalf("got %+v, want 200", res)
			}
			got := up.received(tc.path[:len("/api/h2ok/")+2])
			if len(got) != 1 || got[0].Line != tc.line || !got[0].Complete || got[0].Body != tc.body {
				t.Fatalf("upstream received %+v, want one complete %q with body %q", got, tc.line, tc.body)
			}
			if chunked := bytes.Contains([]byte(got[0].Head), []byte("Transfer-Encoding: chunked\r\n")); chunked != tc.chunked {
				t.Errorf("upstream head %q, want chunked %v", got[0].Head, tc.chunked)
			}
		})
	}
}
