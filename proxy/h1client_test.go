package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/gitcourse/edge/internal/testutil"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawUpstream is a TCP upstream that answers each request on a connection
// with the next of its canned responses, written as raw bytes, and records
// the bytes of every request head and body it received.
type rawUpstream struct {
	ln      net.Listener
	accepts atomic.Int64
	mu      sync.Mutex
	got     []string // each request as received, head and body
}

// newRawUpstream serves answers in order on each connection; after the
// last answer of a connection it closes it when closeAfter is set.
func newRawUpstream(t *testing.T, closeAfter bool, answers ...string) *rawUpstream {
	t.Helper()
	u := &rawUpstream{}
	u.ln = testutil.ServeTCP(t, func(c net.Conn) {
		u.accepts.Add(1)
		u.serve(c, closeAfter, answers)
	})
	return u
}

func (u *rawUpstream) addr() string { return u.ln.Addr().String() }

func (u *rawUpstream) serve(c net.Conn, closeAfter bool, answers []string) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for _, a := range answers {
		req, ok := readRawRequest(br)
		u.mu.Lock()
		u.got = append(u.got, req)
		u.mu.Unlock()
		if !ok {
			return
		}
		if _, err := io.WriteString(c, a); err != nil {
			return
		}
	}
	if !closeAfter {
		_, _ = io.Copy(io.Discard, br)
	}
}

// readRawRequest reads a head and the body its framing announces (a
// Content-Length or chunked), returning everything as received.
func readRawRequest(br *bufio.Reader) (string, bool) {
	var b strings.Builder
	cl, chunked := 0, false
	for {
		line, err := br.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			return b.String(), false
		}
		lower := strings.ToLower(line)
		if v, ok := strings.CutPrefix(lower, "content-length: "); ok {
			for _, c := range strings.TrimSpace(v) {
				cl = cl*10 + int(c-'0')
			}
		}
		if strings.HasPrefix(lower, "transfer-encoding: chunked") {
			chunked = true
		}
		if line == "\r\n" {
			break
		}
	}
	if chunked {
		for {
			line, err := br.ReadString('\n')
			b.WriteString(line)
			if err != nil {
				return b.String(), false
			}
			size := 0
			for _, c := range strings.TrimSpace(line) {
				size = size*16 + strings.IndexRune("0123456789abcdef", c|0x20)
			}
			if size == 0 {
				break
			}
			data := make([]byte, size+2)
			n, err := io.ReadFull(br, data)
			b.Write(data[:n])
			if err != nil {
				return b.String(), false
			}
		}
		for { // trailers
			line, err := br.ReadString('\n')
			b.WriteString(line)
			if err != nil {
				return b.String(), false
			}
			if line == "\r\n" {
				return b.String(), true
			}
		}
	}
	body := make([]byte, cl)
	n, err := io.ReadFull(br, body)
	b.Write(body[:n])
	return b.String(), err == nil
}

func (u *rawUpstream) requests() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.got...)
}

func testClient() *h1Client {
	return newH1Client(routeConfig().Timeouts)
}

func newReq(t *testing.T, method, addr, target string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+target, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// fetch sends one request and reads the whole body.
func fetch(c *h1Client, req *http.Request) (*http.Response, string, error) {
	res, err := c.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, string(b), err
}

// TestH1ResponseFraming sends raw upstream answers through the client:
// every ambiguous or malformed framing is an error (502 or a cut body),
// never a response with another body.
func TestH1ResponseFraming(t *testing.T) {
	const ok = "HTTP/1.1 200 OK\r\n"
	cases := []struct {
		name, answer string
		body         string // expected body when the exchange succeeds
		headErr      bool   // RoundTrip fails: 502 before anything is sent
		bodyErr      bool   // the body read fails: a cut connection
	}{
		{name: "content-length", answer: ok + "Content-Length: 5\r\n\r\nhello", body: "hello"},
		{name: "lower-case fields", answer: ok + "content-length: 5\r\ncontent-type: text/plain\r\n\r\nhello", body: "hello"},
		{name: "same content-length twice", answer: ok + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", body: "hello"},
		{name: "space before colon", answer: ok + "Content-Length : 5\r\n\r\nhelloPOISONED", headErr: true},
		{name: "tab before colon", answer: ok + "Content-Length\t: 5\r\n\r\nhello", headErr: true},
		{name: "two content-lengths", answer: ok + "Content-Length: 5\r\nContent-Length: 13\r\n\r\nhelloPOISONED", headErr: true},
		{name: "content-length list", answer: ok + "Content-Length: 5, 5\r\n\r\nhello", headErr: true},
		{name: "signed content-length", answer: ok + "Content-Length: +5\r\n\r\nhello", headErr: true},
		{name: "empty content-length", answer: ok + "Content-Length: \r\n\r\nhello", headErr: true},
		{name: "hex content-length", answer: ok + "Content-Length: 0x5\r\n\r\nhello", headErr: true},
		{name: "huge content-length", answer: ok + "Content-Length: 99999999999999999999\r\n\r\nhello", headErr: true},
		{name: "content-length and chunked", answer: ok + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", headErr: true},
		{name: "chunked, identity", answer: ok + "Transfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n", headErr: true},
		{name: "identity", answer: ok + "Transfer-Encoding: identity\r\n\r\nhello", headErr: true},
		{name: "two transfer-encodings", answer: ok + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", headErr: true},
		{name: "chunked in HTTP/1.0", answer: "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", headErr: true},
		{name: "obs-fold", answer: ok + "X-A: 1\r\n Content-Length: 5\r\n\r\nhello", headErr: true},
		{name: "bare LF", answer: "HTTP/1.1 200 OK\nContent-Length: 5\n\nhello", headErr: true},
		{name: "bare LF in one line", answer: ok + "X-A: 1\nContent-Length: 5\r\n\r\nhello", headErr: true},
		{name: "bare CR", answer: ok + "X-A: 1\rContent-Length: 13\r\nContent-Length: 5\r\n\r\nhello", headErr: true},
		{name: "NUL in value", answer: ok + "X-A: a\x00b\r\nContent-Length: 5\r\n\r\nhello", headErr: true},
		{name: "NUL in name", answer: ok + "X-\x00A: a\r\nContent-Length: 5\r\n\r\nhello", headErr: true},
		{name: "field without colon", answer: ok + "Content-Length 5\r\n\r\nhello", headErr: true},
		{name: "bad status line", answer: "HTTP/1.1 20 OK\r\nContent-Length: 5\r\n\r\nhello", headErr: true},
		{name: "HTTP/2 status line", answer: "HTTP/2 200 OK\r\nContent-Length: 5\r\n\r\nhello", headErr: true},
		{name: "not HTTP", answer: "ICY 200 OK\r\n\r\nhello", headErr: true},
		{name: "status without reason", answer: "HTTP/1.1 200\r\nContent-Length: 5\r\n\r\nhello", body: "hello"},
		{name: "chunked", answer: ok + "Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", body: "hello world"},
		{name: "chunked upper-case", answer: ok + "Transfer-Encoding: Chunked\r\n\r\nA\r\nhelloworld\r\n0\r\n\r\n", body: "helloworld"},
		{name: "chunk size overflow", answer: ok + "Transfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n", bodyErr: true},
		{name: "chunk size 0x", answer: ok + "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", bodyErr: true},
		{name: "chunk size negative", answer: ok + "Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n", bodyErr: true},
		{name: "chunk size space", answer: ok + "Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", bodyErr: true},
		{name: "chunk size bare LF", answer: ok + "Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", bodyErr: true},
		{name: "chunk data too long", answer: ok + "Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n", bodyErr: true},
		{name: "chunk data bare LF", answer: ok + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n", bodyErr: true},
		{name: "chunked cut", answer: ok + "Transfer-Encoding: chunked\r\n\r\n5\r\nhel", bodyErr: true},
		{name: "chunked no last chunk", answer: ok + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", bodyErr: true},
		{name: "content-length cut", answer: ok + "Content-Length: 10\r\n\r\nhello", bodyErr: true},
		{name: "until close", answer: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello", body: "hello"},
		{name: "head cut", answer: ok + "Content-Le", headErr: true},
		{name: "nothing", answer: "", headErr: true},
		{name: "1xx then 200", answer: "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + ok + "Content-Length: 2\r\n\r\nok", body: "ok"},
		{name: "head too large", answer: ok + "X-Big: " + strings.Repeat("a", headBufSize) + "\r\n\r\n", headErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := newRawUpstream(t, true, tc.answer)
			c := testClient()
			defer c.CloseIdleConnections()
			res, err := c.RoundTrip(newReq(t, "GET", up.addr(), "/x", nil))
			if tc.headErr {
				if err == nil {
					body, _ := io.ReadAll(res.Body)
					t.Fatalf("got %d %q, want an error", res.StatusCode, body)
				}
				if isConnFailure(err) && !strings.Contains(tc.name, "cut") && tc.name != "nothing" {
					t.Errorf("framing error %v would be retried as a connection failure", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("RoundTrip: %v", err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if tc.bodyErr {
				if err == nil {
					t.Fatalf("body %q read whole, want an error", body)
				}
				return
			}
			if err != nil || string(body) != tc.body {
				t.Fatalf("body %q, %v; want %q", body, err, tc.body)
			}
		})
	}
}

// TestH1NoBodyResponses checks HEAD, 204 and 304: no body is read, and a
// 204 that announces one does not leave its connection for reuse.
func TestH1NoBodyResponses(t *testing.T) {
	up := newRawUpstream(t, false,
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nEtag: \"a\"\r\n\r\n",
		"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nPOISONED",
	)
	c := testClient()
	defer c.CloseIdleConnections()
	for i, m := range []string{"HEAD", "GET", "GET"} {
		res, body, err := fetch(c, newReq(t, m, up.addr(), "/x", nil))
		if err != nil || body != "" {
			t.Fatalf("%d %s: body %q, %v", i, m, body, err)
		}
		if i == 0 && (res.ContentLength != 5 || res.Header.Get("Content-Length") != "5") {
			t.Errorf("HEAD: ContentLength %d, header %q; want 5", res.ContentLength, res.Header.Get("Content-Length"))
		}
	}
	if n := up.accepts.Load(); n != 1 {
		t.Fatalf("%d connections for three keep-alive exchanges, want 1", n)
	}
	// The 204 announced a body: its connection is not reused, so the
	// bytes after it are never read as the next response.
	res, body, err := fetch(c, newReq(t, "HEAD", up.addr(), "/x", nil))
	if err != nil || res.StatusCode != http.StatusOK || body != "" {
		t.Fatalf("after a 204 with a length: %v, %v %q; want the next upstream answer", err, res, body)
	}
	if n := up.accepts.Load(); n != 2 {
		t.Errorf("%d connections, want a new one after the 204 with a length", n)
	}
}

// TestH1KeepAliveAndStale reuses one connection, then recovers from the
// upstream closing it between requests (a stale pooled connection).
func TestH1KeepAliveAndStale(t *testing.T) {
	const ans = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	up := newRawUpstream(t, true, ans, ans) // two answers, then close
	c := testClient()
	c.staleAfter = 0 // check every reused connection
	defer c.CloseIdleConnections()
	for i := range 2 {
		if _, body, err := fetch(c, newReq(t, "GET", up.addr(), "/x", nil)); err != nil || body != "ok" {
			t.Fatalf("request %d: %q, %v", i, body, err)
		}
	}
	if n := up.accepts.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
	// The upstream closed the connection; a GET and then a POST with a
	// body both go through on new connections.
	if _, body, err := fetch(c, newReq(t, "GET", up.addr(), "/x", nil)); err != nil || body != "ok" {
		t.Fatalf("GET after the upstream closed: %q, %v", body, err)
	}
	// wait (bounded) until the upstream has closed the second connection too
	deadline := time.Now().Add(2 * time.Second)
	for len(up.requests()) < 4 && time.Now().Before(deadline) {
		if _, _, err := fetch(c, newReq(t, "GET", up.addr(), "/x", nil)); err != nil {
			t.Fatalf("GET: %v", err)
		}
	}
	p := c.pool(up.addr())
	for time.Now().Before(deadline) {
		p.mu.Lock()
		n := len(p.idle)
		stale := n > 0 && !p.idle[n-1].alive()
		p.mu.Unlock()
		if stale || n == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	res, body, err := fetch(c, newReq(t, "POST", up.addr(), "/x", strings.NewReader("data")))
	if err != nil || body != "ok" || res.StatusCode != 200 {
		t.Fatalf("POST on a connection the upstream closed: %q, %v", body, err)
	}
}

// TestH1ClosedRightAfterResponse: an upstream that closes its connection
// right after a complete response without announcing it (uvicorn after an
// app's unhandled exception) must not cost the next request that cannot
// be sent again (a POST with a body) a 502, however soon it comes; a GET
// may still take the pooled connection, being retried on a new one.
func TestH1ClosedRightAfterResponse(t *testing.T) {
	const ans = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops!"
	up := newRawUpstream(t, true, ans) // one answer per connection, then close
	c := testClient()
	if c.staleAfter < time.Second/10 {
		t.Fatalf("staleAfter %s: the test needs the default, far longer than it takes", c.staleAfter)
	}
	defer c.CloseIdleConnections()
	for i := range 5 {
		if _, body, err := fetch(c, newReq(t, "GET", up.addr(), "/boom", nil)); err != nil || body != "oops!" {
			t.Fatalf("round %d: GET: %q, %v", i, body, err)
		}
		// The pooled connection is closed by the upstream by now; no
		// more than a few milliseconds of idle time, far below staleAfter.
		waitFor(t, 2*time.Second, "the upstream's close", func() bool { return upstreamClosedIdle(c, up.addr()) })
		res, body, err := fetch(c, newReq(t, "POST", up.addr(), "/x", strings.NewReader("data")))
		if err != nil || res.StatusCode != 500 || body != "oops!" {
			t.Fatalf("round %d: POST right after the upstream closed: %v, %q, %v; want its answer", i, res, body, err)
		}
		waitFor(t, 2*time.Second, "the upstream's close", func() bool { return upstreamClosedIdle(c, up.addr()) })
	}
	if got := len(up.requests()); got != 10 {
		t.Errorf("the upstream got %d requests, want 10 (none sent on a closed connection)", got)
	}
}

// upstreamClosedIdle reports whether the most recent idle connection to
// addr has been closed by the upstream.
func upstreamClosedIdle(c *h1Client, addr string) bool {
	p := c.pool(addr)
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	return n > 0 && !p.idle[n-1].alive()
}

// TestH1RequestWriting checks what the upstream receives: one valid
// request line, edge's framing, and refusals for what HTTP/1.1 cannot
// carry.
func TestH1RequestWriting(t *testing.T) {
	const ans = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	t.Run("non-ASCII query is percent-encoded", func(t *testing.T) {
		up := newRawUpstream(t, true, ans)
		req := newReq(t, "GET", up.addr(), "/x", nil)
		req.URL.RawQuery = "q=\xc3\xa9"
		if _, _, err := fetch(testClient(), req); err != nil {
			t.Fatal(err)
		}
		if got := up.requests()[0]; !strings.HasPrefix(got, "GET /x?q=%C3%A9 HTTP/1.1\r\n") {
			t.Fatalf("request line %q", strings.SplitN(got, "\r\n", 2)[0])
		}
	})
	refused := map[string]func(*http.Request){
		"space in query":   func(r *http.Request) { r.URL.RawQuery = "q=a HTTP/1.1" },
		"CRLF in query":    func(r *http.Request) { r.URL.RawQuery = "q=a\r\nX-Evil: 1" },
		"hash in query":    func(r *http.Request) { r.URL.RawQuery = "q=a#b" },
		"method not token": func(r *http.Request) { r.Method = "GET /x HTTP/1.1\r\n" },
		"LF in value":      func(r *http.Request) { r.Header["X-A"] = []string{"a\nb"} },
		"NUL in value":     func(r *http.Request) { r.Header["X-A"] = []string{"a\x00b"} },
		"space in name":    func(r *http.Request) { r.Header["X A"] = []string{"1"} },
		"CRLF in host":     func(r *http.Request) { r.Host = "a\r\nX: y" },
	}
	for name, mutate := range refused {
		t.Run(name, func(t *testing.T) {
			up := newRawUpstream(t, true, ans)
			req := newReq(t, "GET", up.addr(), "/x", nil)
			mutate(req)
			_, _, err := fetch(testClient(), req)
			if !errors.As(err, new(*badRequestError)) {
				t.Fatalf("error %v, want a refused request", err)
			}
			if n := up.accepts.Load(); n != 0 {
				t.Errorf("the upstream was contacted")
			}
		})
	}
	t.Run("short body never completes the request", func(t *testing.T) {
		up := newRawUpstream(t, true, ans)
		req := newReq(t, "POST", up.addr(), "/x", io.LimitReader(strings.NewReader("hello"), 3))
		req.ContentLength = 5
		_, _, err := fetch(testClient(), req)
		if !errors.As(err, new(*clientBodyError)) {
			t.Fatalf("error %v, want a body error", err)
		}
		waitFor(t, 3*time.Second, "the upstream to see the close", func() bool { return len(up.requests()) == 1 })
		if got := up.requests()[0]; strings.HasSuffix(got, "hel") && !strings.Contains(got, "Content-Length: 5\r\n") {
			t.Fatalf("upstream got %q: a complete request with another length", got)
		}
	})
	t.Run("unknown length is chunked with trailers", func(t *testing.T) {
		up := newRawUpstream(t, true, ans)
		req := newReq(t, "POST", up.addr(), "/x", io.NopCloser(strings.NewReader("hello")))
		req.ContentLength = -1
		req.Header["Content-Length"] = []string{"3"}
		req.Header["Transfer-Encoding"] = []string{"identity"}
		req.Trailer = http.Header{"X-Sum": {"abc"}}
		if _, _, err := fetch(testClient(), req); err != nil {
			t.Fatal(err)
		}
		got := up.requests()[0]
		for _, want := range []string{"Transfer-Encoding: chunked\r\n", "Trailer: X-Sum\r\n", "\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: abc\r\n\r\n"} {
			if !strings.Contains(got, want) {
				t.Errorf("upstream got %q, want %q in it", got, want)
			}
		}
		if strings.Contains(got, "Content-Length") || strings.Contains(got, "identity") {
			t.Errorf("the client's framing fields were copied: %q", got)
		}
	})
}

// TestH1ResponseTrailers reads trailers into res.Trailer.
func TestH1ResponseTrailers(t *testing.T) {
	up := newRawUpstream(t, true, "HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n"+
		"2\r\nok\r\n0\r\nX-Sum: 42\r\nContent-Length: 99\r\n\r\n")
	res, body, err := fetch(testClient(), newReq(t, "GET", up.addr(), "/x", nil))
	if err != nil || body != "ok" {
		t.Fatalf("%q, %v", body, err)
	}
	if got := res.Trailer.Get("X-Sum"); got != "42" || res.Trailer.Get("Content-Length") != "" {
		t.Fatalf("trailers %v", res.Trailer)
	}
}

// TestH1HeaderTimeoutAndCancel checks the error contract: a slow head is
// a timeout, a cancelled request a context error.
func TestH1HeaderTimeoutAndCancel(t *testing.T) {
	up := newRawUpstream(t, false) // reads, never answers
	c := testClient()
	c.headerTimeout = 100 * time.Millisecond
	_, err := c.RoundTrip(newReq(t, "GET", up.addr(), "/x", nil))
	if !isTimeout(err) || classify(context.Background(), err) != http.StatusGatewayTimeout {
		t.Fatalf("error %v, want a timeout (504)", err)
	}
	c.headerTimeout = 0
	ctx, cancel := context.WithCancel(context.Background())
	req := newReq(t, "GET", up.addr(), "/x", nil).WithContext(ctx)
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = c.RoundTrip(req)
	if classify(ctx, err) != StatusClientClosed {
		t.Fatalf("error %v, want the client's cancellation", err)
	}
	_, err = c.RoundTrip(newReq(t, "GET", deadAddr(t), "/x", nil))
	if !isDialError(err) || !isConnFailure(err) {
		t.Fatalf("error %v, want a dial error", err)
	}
}

// TestH1EarlyResponse: an upstream that answers before reading a large
// upload and closes gets its answer passed on, not a hang or an error.
func TestH1EarlyResponse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = readRawRequestHead(bufio.NewReader(c))
		_, _ = io.WriteString(c, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbig!")
	}()
	body := strings.Repeat("x", 8<<20)
	req := newReq(t, "POST", ln.Addr().String(), "/upload", strings.NewReader(body))
	done := make(chan struct{})
	var res *http.Response
	var got string
	go func() {
		defer close(done)
		res, got, err = fetch(testClient(), req)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the upload hung after the upstream answered")
	}
	if err != nil || res.StatusCode != http.StatusRequestEntityTooLarge || got != "big!" {
		t.Fatalf("got %v %q, %v; want the upstream's 413", res, got, err)
	}
}

// readRawRequestHead reads up to the empty line.
func readRawRequestHead(br *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		b.WriteString(line)
		if err != nil || line == "\r\n" {
			return b.String(), err
		}
	}
}

// TestH1LargeBody sends a body larger than the write buffer, with and
// without a length, and checks the bytes the upstream received.
func TestH1LargeBody(t *testing.T) {
	const ans = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	body := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB
	for _, length := range []int64{int64(len(body)), -1} {
		up := newRawUpstream(t, true, ans)
		req := newReq(t, "PUT", up.addr(), "/big", io.NopCloser(strings.NewReader(body)))
		req.ContentLength = length
		if _, _, err := fetch(testClient(), req); err != nil {
			t.Fatalf("length %d: %v", length, err)
		}
		got := up.requests()[0]
		_, sent, _ := strings.Cut(got, "\r\n\r\n")
		if length < 0 {
			sent = decodeChunked(t, sent)
		}
		if sent != body {
			t.Fatalf("length %d: upstream got %d body bytes, want %d", length, len(sent), len(body))
		}
	}
}

// decodeChunked decodes a chunked body (no trailers) for a test.
func decodeChunked(t *testing.T, s string) string {
	t.Helper()
	var out strings.Builder
	for {
		line, rest, ok := strings.Cut(s, "\r\n")
		if !ok {
			t.Fatalf("chunked body cut: %.40q", s)
		}
		var n int
		if _, err := fmt.Sscanf(line, "%x", &n); err != nil {
			t.Fatalf("chunk size %q: %v", line, err)
		}
		if n == 0 {
			return out.String()
		}
		out.WriteString(rest[:n])
		s = rest[n+2:]
	}
}
