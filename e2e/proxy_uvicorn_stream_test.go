package e2e

// The failures reverse proxies with their own upstream client are known
// for, each tried against real uvicorn: large streamed bodies both ways
// (no chunk-size line may leak into a body, no upload may hang), answers
// without a body (204, 304, HEAD) that must not be waited for, bodies the
// app stops half-way (the client must see a cut, never a short 200 presented
// as whole), and WebSocket upgrades with the fields browsers send. The
// uploads are in proxy_uvicorn_upload_test.go, the WebSocket openings in
// proxy_uvicorn_websocket_test.go.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"testing"
	"time"
)

// streamSize is the size of the large streamed response: not a multiple
// of any buffer size.
const streamSize = 3_000_017

// uploadSize is the size of the large uploads, below max_body (10 MB).
const uploadSize = 8_000_003

// testStream runs the streaming checks over HTTP/1.1 and HTTP/2.
func testStream(t *testing.T, e *Edge, api *apiServer) {
	for _, proto := range []string{"h1", "h2"} {
		c := e.Client1()
		if proto == "h2" {
			c = e.Client()
		}
		t.Run("large-response-"+proto, func(t *testing.T) { testLargeResponse(t, e, c, proto) })
		t.Run("progressive-"+proto, func(t *testing.T) { testProgressive(t, e, c, proto) })
		t.Run("large-upload-"+proto, func(t *testing.T) { testLargeUpload(t, e, c, proto) })
		t.Run("upload-answered-early-"+proto, func(t *testing.T) { testUploadAnsweredEarly(t, e, c, proto) })
		t.Run("no-body-204-304-"+proto, func(t *testing.T) { testNoBody(t, e, c, proto) })
		t.Run("head-stream-"+proto, func(t *testing.T) { testHeadStream(t, e, c, proto) })
		t.Run("cut-body-"+proto, func(t *testing.T) { testCutBody(t, e, c, proto) })
		t.Run("client-gone-mid-body-"+proto, func(t *testing.T) { testClientGoneMidBody(t, e, c, proto) })
		t.Run("post-after-close-"+proto, func(t *testing.T) { testPostAfterClose(t, e, api, c, proto) })
		t.Run("upload-never-whole-"+proto, func(t *testing.T) { testUploadNeverWhole(t, e, api, c, proto) })
	}
	t.Run("large-upload-expect-100-h1", func(t *testing.T) { testLargeExpectContinue(t, e) })
	t.Run("websocket-browsers", func(t *testing.T) { testWebSocketBrowsers(t, e) })
	t.Run("websocket-not-over-h2", func(t *testing.T) { testNoExtendedConnect(t, e) })
}

// exchangeResult is one request's response with its body as far as it
// could be read, and the read error.
type exchangeResult struct {
	resp    *http.Response
	body    []byte
	readErr error
	reused  bool // the client sent it on a connection it had used before
}

// send sends one request with a 10 s deadline and reads the body; a
// failure before the response head fails the test, a read error is
// returned.
func send(t *testing.T, c *http.Client, proto, method, url string, body io.Reader, opts ...reqOpt) exchangeResult {
	t.Helper()
	var r exchangeResult
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { r.reused = i.Reused },
	})
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		o(req)
	}
	start := time.Now()
	r.resp, err = c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v after %s (a hang?)", method, url, err, time.Since(start).Round(time.Millisecond))
	}
	defer r.resp.Body.Close()
	r.body, r.readErr = io.ReadAll(r.resp.Body)
	if want := map[string]int{"h1": 1, "h2": 2}[proto]; r.resp.ProtoMajor != want {
		t.Errorf("%s %s answered over %s, want %s", method, url, r.resp.Proto, proto)
	}
	return r
}

// mustRead fails the test when the body could not be read to its end.
func (r exchangeResult) mustRead(t *testing.T) exchangeResult {
	t.Helper()
	if r.readErr != nil {
		t.Fatalf("%s %s: read body: %v after %d bytes", r.resp.Request.Method, r.resp.Request.URL, r.readErr, len(r.body))
	}
	return r
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// blobURL is the app's streamed body of size bytes from seed, chunked or
// with a Content-Length.
func blobURL(e *Edge, size, seed int, length bool) string {
	return e.URL(fmt.Sprintf("/api/stream/blob?size=%d&seed=%d&length=%t", size, seed, length))
}

// testLargeResponse: 3 MB that uvicorn streams in uneven pieces (chunked,
// then with a Content-Length) arrive byte for byte.
func testLargeResponse(t *testing.T, e *Edge, c *http.Client, proto string) {
	for _, length := range []bool{false, true} {
		r := send(t, c, proto, http.MethodGet, blobURL(e, streamSize, 7, length), nil).mustRead(t)
		wantStatus(t, r.resp, nil, http.StatusOK)
		if got, want := len(r.body), r.resp.Header.Get("X-Bytes"); strconv.Itoa(got) != want || got != streamSize {
			t.Errorf("length=%t: %d bytes, the app sent %s (%d asked)", length, got, want, streamSize)
		}
		if got, want := sha256Hex(r.body), r.resp.Header.Get("X-Sha256"); got != want {
			t.Errorf("length=%t: sha256 %s, the app sent %s: the body was changed on the way (chunk sizes in it?)",
				length, got, want)
		}
		if cl := r.resp.ContentLength; (length && cl != streamSize) || (!length && cl != -1 && cl != streamSize) {
			t.Errorf("length=%t: Content-Length %d, want %d", length, cl, streamSize)
		}
	}
}

// testProgressive: a chunked stream that is not an event stream (a log,
// a progress feed) reaches the client line by line as uvicorn sends it,
// not at its end.
func testProgressive(t *testing.T, e *Edge, c *http.Client, proto string) {
	const n, interval = 3, 600 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := e.URL(fmt.Sprintf("/api/stream/lines?n=%d&interval=%g", n, interval.Seconds()))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var arrived []time.Duration
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		arrived = append(arrived, time.Since(start))
		if want := fmt.Sprintf(`{"line": %d, "of": %d}`, len(arrived), n); sc.Text() != want {
			t.Errorf("line %d: %q, want %q", len(arrived), sc.Text(), want)
		}
	}
	if len(arrived) != n || sc.Err() != nil {
		t.Fatalf("got %d lines, want %d (%v)", len(arrived), n, sc.Err())
	}
	if arrived[0] > interval*3/4 {
		t.Errorf("first line after %s, want at once (held back?)", arrived[0])
	}
	for i := 1; i < n; i++ {
		if gap := arrived[i] - arrived[i-1]; gap < interval/2 {
			t.Errorf("line %d arrived %s after line %d, want about %s apart (held back?); all: %v", i+1, gap, i, interval, arrived)
		}
	}
}

// testNoBody: 304 (with the Content-Length of the full body, as RFC 9110
// allows) and 204 come without a body and are not waited for; the client's
// connection and edge's pooled upstream connection serve the next
// requests, and the last full answer is the same as the first.
func testNoBody(t *testing.T, e *Edge, c *http.Client, proto string) {
	first := send(t, c, proto, http.MethodGet, e.URL("/api/etag"), nil).mustRead(t)
	wantStatus(t, first.resp, first.body, http.StatusOK)
	etag := first.resp.Header.Get("ETag")
	if etag == "" || len(first.body) == 0 {
		t.Fatalf("GET /api/etag: ETag %q, body %q; want both", etag, first.body)
	}
	for round := range 3 {
		r := send(t, c, proto, http.MethodGet, e.URL("/api/etag"), nil, header("If-None-Match", etag))
		wantStatus(t, r.resp, r.body, http.StatusNotModified)
		// edge passes the 304's Content-Length on, as nginx does; Go's
		// HTTP/2 client then reports the body it does not expect as
		// missing (http2missingBody) although none was sent.
		if r.readErr != nil && !(proto == "h2" && r.resp.ContentLength > 0 && errors.Is(r.readErr, io.ErrUnexpectedEOF)) {
			t.Errorf("round %d: 304: read body: %v", round, r.readErr)
		}
		if len(r.body) != 0 || r.resp.Header.Get("ETag") != etag {
			t.Errorf("round %d: 304 with body %q and ETag %q, want no body and %q", round, r.body, r.resp.Header.Get("ETag"), etag)
		}
		if !r.reused {
			t.Errorf("round %d: the 304 went on a new client connection", round)
		}
		r = send(t, c, proto, http.MethodGet, e.URL("/api/nocontent"), nil).mustRead(t)
		wantStatus(t, r.resp, r.body, http.StatusNoContent)
		if len(r.body) != 0 || !r.reused {
			t.Errorf("round %d: 204 with body %q, on a reused connection: %t; want no body, reused", round, r.body, r.reused)
		}
	}
	if proto == "h2" { // on the wire: the 304 ends its stream with no DATA
		res := h2Exchange(t, e, [][2]string{{":method", "GET"}, {":scheme", "https"},
			{":authority", domain + ":" + e.HTTPSPort}, {":path", "/api/etag"}, {"if-none-match", etag}})
		if res.status != http.StatusNotModified || res.rst || res.body != "" {
			t.Errorf("304 over HTTP/2 frames: %+v, want status 304, no body, no reset", res)
		}
	}
	last := send(t, c, proto, http.MethodGet, e.URL("/api/etag"), nil).mustRead(t)
	wantStatus(t, last.resp, last.body, http.StatusOK)
	if !bytes.Equal(last.body, first.body) || !last.reused {
		t.Errorf("after the 204s and 304s: body %q (reused connection: %t), want %q again on the same connection",
			last.body, last.reused, first.body)
	}
}

// testHeadStream: HEAD on a streamed body (chunked, then with a length)
// answers at once with the GET's fields and no body, and the connection
// carries a GET afterwards.
func testHeadStream(t *testing.T, e *Edge, c *http.Client, proto string) {
	for _, length := range []bool{false, true} {
		start := time.Now()
		r := send(t, c, proto, http.MethodHead, blobURL(e, streamSize, 9, length), nil).mustRead(t)
		wantStatus(t, r.resp, r.body, http.StatusOK)
		if len(r.body) != 0 || r.resp.Header.Get("X-Bytes") != strconv.Itoa(streamSize) {
			t.Errorf("length=%t: HEAD body %d bytes, X-Bytes %q; want none and %d", length, len(r.body), r.resp.Header.Get("X-Bytes"), streamSize)
		}
		if length && r.resp.ContentLength != streamSize {
			t.Errorf("length=true: HEAD Content-Length %d, want the GET's %d", r.resp.ContentLength, streamSize)
		}
		t.Logf("length=%t: HEAD answered in %s", length, time.Since(start).Round(time.Millisecond))
		g := send(t, c, proto, http.MethodGet, blobURL(e, 5000, 9, length), nil).mustRead(t)
		wantStatus(t, g.resp, g.body, http.StatusOK)
		if sha256Hex(g.body) != g.resp.Header.Get("X-Sha256") || !g.reused {
			t.Errorf("length=%t: GET after HEAD: %d bytes, sha256 match %t, reused connection %t; want 5000, true, true",
				length, len(g.body), sha256Hex(g.body) == g.resp.Header.Get("X-Sha256"), g.reused)
		}
	}
}

// testCutBody: the app fails after 300 KB of 1 MB (chunked, or with a
// Content-Length), or returns with its Content-Length unmet. The client
// must see the status and a failed read, never the end of a whole body,
// and what it got must be the start of the real body; edge logs the cut
// and serves the next request.
func testCutBody(t *testing.T, e *Edge, c *http.Client, proto string) {
	const size, after = 1_000_000, 300_000
	whole := send(t, c, proto, http.MethodGet, blobURL(e, size, 2, true), nil).mustRead(t).body
	for _, q := range []string{"how=raise", "how=raise&length=true", "how=short&length=true"} {
		r := send(t, c, proto, http.MethodGet, e.URL(fmt.Sprintf("/api/stream/cut?size=%d&after=%d&%s", size, after, q)), nil)
		wantStatus(t, r.resp, nil, http.StatusOK)
		switch {
		case r.readErr == nil:
			t.Errorf("%s: read %d bytes and a clean end: a cut body presented as whole", q, len(r.body))
		case proto == "h1" && !errors.Is(r.readErr, io.ErrUnexpectedEOF):
			t.Errorf("%s: read error %v, want unexpected EOF (a cut connection)", q, r.readErr)
		}
		if len(r.body) > after || !bytes.Equal(r.body, whole[:len(r.body)]) {
			t.Errorf("%s: got %d bytes (the app sent %d), start of the real body: %t", q, len(r.body), after,
				bytes.Equal(r.body, whole[:min(len(r.body), len(whole))]))
		}
		t.Logf("%s: %d bytes, then %v", q, len(r.body), r.readErr)
		h := send(t, c, proto, http.MethodGet, e.URL("/api/health"), nil).mustRead(t)
		wantStatus(t, h.resp, h.body, http.StatusOK)
	}
	if !e.WaitOutput("upstream response body cut", 5*time.Second) {
		t.Error(`edge logged no "upstream response body cut"`)
	}
}

// testClientGoneMidBody: a client that stops reading a large response
// half-way, three times, leaves no half-read upstream connection in edge's
// pool: the next full response is byte for byte the app's.
func testClientGoneMidBody(t *testing.T, e *Edge, c *http.Client, proto string) {
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, blobURL(e, streamSize, 11, false), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(resp.Body, make([]byte, 100_000)); err != nil {
			t.Fatalf("read the first 100 KB: %v", err)
		}
		cancel() // the request's end: HTTP/1.1 closes the connection, HTTP/2 resets the stream
		resp.Body.Close()
	}
	for _, length := range []bool{false, true} {
		r := send(t, c, proto, http.MethodGet, blobURL(e, streamSize, 12, length), nil).mustRead(t)
		wantStatus(t, r.resp, nil, http.StatusOK)
		if sha256Hex(r.body) != r.resp.Header.Get("X-Sha256") || len(r.body) != streamSize {
			t.Errorf("length=%t: after clients went away mid-body: %d bytes, sha256 match %t; want %d, true",
				length, len(r.body), sha256Hex(r.body) == r.resp.Header.Get("X-Sha256"), streamSize)
		}
	}
}
