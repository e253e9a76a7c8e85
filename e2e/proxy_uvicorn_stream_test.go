package e2e

// The failures reverse proxies with their own upstream client are known
// for, each tried against real uvicorn: large streamed bodies both ways
// (no chunk-size line may leak into a body, no upload may hang), answers
// without a body (204, 304, HEAD) that must not be waited for, bodies the
// app stops half-way (the client must see a cut, never a short 200 presented
// as whole), and WebSocket upgrades with the fields browsers send.

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// streamSize is the size of the large streamed response: not a multiple
// of any buffer size.
const streamSize = 3_000_017

// uploadSize is the size of the large uploads, below max_body (10 MB).
const uploadSize = 8_000_003

// testStream runs the streaming checks over HTTP/1.1 and HTTP/2.
func testStream(t *testing.T, e *Edge) {
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

// unevenReader hands out data in pieces of changing sizes, so that a
// chunked upload has uneven chunks.
type unevenReader struct {
	data []byte
	k    int
}

func (u *unevenReader) Read(p []byte) (int, error) {
	if len(u.data) == 0 {
		return 0, io.EOF
	}
	sizes := []int{1, 4095, 7, 16385, 3, 32768, 100003}
	n := min(len(p), len(u.data), sizes[u.k%len(sizes)])
	u.k++
	copy(p, u.data[:n])
	u.data = u.data[n:]
	return n, nil
}

// uploadSeen is what POST /api/upload/sha256 answers.
type uploadSeen struct {
	Bytes            int     `json:"bytes"`
	Sha256           string  `json:"sha256"`
	ContentLength    *string `json:"content_length"`
	TransferEncoding *string `json:"transfer_encoding"`
}

// testLargeUpload: 8 MB with a Content-Length, without one (chunked over
// HTTP/1.1), and without one but with trailers reach uvicorn whole, in the
// framing edge promises (the length kept when known), and are answered.
func testLargeUpload(t *testing.T, e *Edge, c *http.Client, proto string) {
	data := make([]byte, uploadSize)
	_, _ = rand.Read(data)
	sum := sha256Hex(data)
	for _, kind := range []string{"length", "unknown-length", "trailers"} {
		var body io.Reader = bytes.NewReader(data)
		var opts []reqOpt
		switch kind {
		case "unknown-length":
			body = &unevenReader{data: data}
		case "trailers":
			body = &unevenReader{data: data}
			opts = append(opts, func(r *http.Request) { r.Trailer = http.Header{"X-Upload-Sha256": {sum}} })
		}
		start := time.Now()
		r := send(t, c, proto, http.MethodPost, e.URL("/api/upload/sha256"), body, opts...).mustRead(t)
		wantStatus(t, r.resp, r.body, http.StatusOK)
		var seen uploadSeen
		if err := json.Unmarshal(r.body, &seen); err != nil {
			t.Fatalf("%s: answer %q: %v", kind, r.body, err)
		}
		if seen.Bytes != uploadSize || seen.Sha256 != sum {
			t.Errorf("%s: uvicorn read %d bytes with sha256 %s, want %d bytes with %s", kind, seen.Bytes, seen.Sha256, uploadSize, sum)
		}
		framing := fmt.Sprintf("content-length %s, transfer-encoding %s", deref(seen.ContentLength), deref(seen.TransferEncoding))
		want := "content-length -, transfer-encoding chunked"
		if kind == "length" {
			want = fmt.Sprintf("content-length %d, transfer-encoding -", uploadSize)
		}
		if framing != want {
			t.Errorf("%s: uvicorn saw %s, want %s", kind, framing, want)
		}
		t.Logf("%s: %d bytes up in %s", kind, uploadSize, time.Since(start).Round(time.Millisecond))
	}
}

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

// testUploadAnsweredEarly: an app that answers before it reads the body
// (uvicorn then drains it) gets its answer to the client, no hang.
func testUploadAnsweredEarly(t *testing.T, e *Edge, c *http.Client, proto string) {
	for _, length := range []bool{true, false} {
		var body io.Reader = io.LimitReader(zeros{}, uploadSize)
		if length {
			body = bytes.NewReader(make([]byte, uploadSize))
		}
		r := send(t, c, proto, http.MethodPost, e.URL("/api/upload/refuse"), body).mustRead(t)
		wantStatus(t, r.resp, r.body, http.StatusUnauthorized)
		if !bytes.Contains(r.body, []byte("uploads need a token")) {
			t.Errorf("length=%t: body %q, want the app's answer", length, r.body)
		}
	}
	r := send(t, c, proto, http.MethodGet, e.URL("/api/health"), nil).mustRead(t)
	wantStatus(t, r.resp, r.body, http.StatusOK)
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

// browserUpgrades are the request fields of a WebSocket opening as the
// browsers send them (Host, Origin and the key added per request).
var browserUpgrades = map[string][]string{
	"chrome": {
		"Connection: Upgrade", "Pragma: no-cache", "Cache-Control: no-cache",
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Upgrade: websocket", "Sec-WebSocket-Version: 13", "Accept-Encoding: gzip, deflate, br, zstd",
		"Accept-Language: en-US,en;q=0.9", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
	},
	"firefox": {
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Accept: */*", "Accept-Language: en-US,en;q=0.5", "Accept-Encoding: gzip, deflate, br, zstd",
		"Sec-WebSocket-Version: 13", "Sec-WebSocket-Extensions: permessage-deflate",
		"Connection: keep-alive, Upgrade", "Sec-Fetch-Dest: empty", "Sec-Fetch-Mode: websocket",
		"Sec-Fetch-Site: same-origin", "Pragma: no-cache", "Cache-Control: no-cache", "Upgrade: websocket",
	},
	"safari": {
		"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
		"Sec-WebSocket-Extensions: permessage-deflate", "Accept-Encoding: gzip, deflate",
		"User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		"Accept-Language: en-GB,en;q=0.9", "Pragma: no-cache", "Cache-Control: no-cache",
	},
}

// testWebSocketBrowsers: the openings of Chrome, Firefox (Connection:
// keep-alive, Upgrade, on a connection that already carried a request) and
// Safari get 101 with the extension uvicorn agreed to passed through, and
// messages (compressed by uvicorn when it agreed to) come back intact.
func testWebSocketBrowsers(t *testing.T, e *Edge) {
	for _, name := range []string{"chrome", "firefox", "safari"} {
		t.Run(name, func(t *testing.T) {
			conn := e.DialSite(t)
			_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
			br := bufio.NewReader(conn)
			authority := domain + ":" + e.HTTPSPort
			if name == "firefox" {
				fmt.Fprintf(conn, "GET /api/health HTTP/1.1\r\nHost: %s\r\n\r\n", authority)
				resp, err := http.ReadResponse(br, nil)
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("GET before the upgrade: %v, %v", resp, err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
			}
			ext := browserUpgrade(t, conn, br, authority, browserUpgrades[name])
			t.Logf("Sec-WebSocket-Extensions: %q", ext)
			z := &wsInflater{reset: strings.Contains(ext, "server_no_context_takeover")}
			for _, m := range []struct {
				op  byte
				msg string
			}{{wsText, "hello from " + name}, {wsBinary, strings.Repeat("edge ", 20000)}, {wsText, "again"}} {
				if err := wsWrite(conn, m.op, []byte(m.msg)); err != nil {
					t.Fatalf("write: %v", err)
				}
				op, got, err := wsReadMessage(br, ext, z)
				if err != nil || op != m.op || string(got) != m.msg {
					t.Fatalf("echo of %d bytes: op %d, %d bytes, %v; want op %d and the same bytes", len(m.msg), op, len(got), err, m.op)
				}
			}
			if err := wsWrite(conn, wsClose, []byte{0x03, 0xe8}); err != nil {
				t.Fatal(err)
			}
			if op, _, err := wsRead(br); err != nil || op != wsClose {
				t.Errorf("close handshake: op %d, %v; want a close frame", op, err)
			}
		})
	}
}

// browserUpgrade sends an opening with the fields of a browser, checks
// the 101 and its Sec-WebSocket-Accept, and returns the extensions agreed.
func browserUpgrade(t *testing.T, conn io.Writer, br *bufio.Reader, authority string, fields []string) string {
	t.Helper()
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	var req strings.Builder
	fmt.Fprintf(&req, "GET /api/ws HTTP/1.1\r\nHost: %s\r\nOrigin: https://%s\r\nSec-WebSocket-Key: %s\r\n", authority, authority, key)
	for _, l := range fields {
		req.WriteString(l + "\r\n")
	}
	req.WriteString("\r\n")
	if _, err := io.WriteString(conn, req.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read the upgrade response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		t.Fatalf("upgrade: status %d, want 101: %q", resp.StatusCode, b)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), base64.StdEncoding.EncodeToString(sum[:]); got != want {
		t.Fatalf("Sec-WebSocket-Accept %q, want %q", got, want)
	}
	return resp.Header.Get("Sec-WebSocket-Extensions")
}

// wsReadMessage reads one unfragmented message, inflating it when its
// RSV1 bit says it was compressed.
func wsReadMessage(br *bufio.Reader, ext string, z *wsInflater) (byte, []byte, error) {
	compressed := false
	if b, err := br.Peek(1); err == nil {
		compressed = b[0]&0x40 != 0
	}
	op, got, err := wsRead(br)
	if err != nil || !compressed {
		return op, got, err
	}
	if !strings.Contains(ext, "permessage-deflate") {
		return op, got, fmt.Errorf("a compressed frame without permessage-deflate agreed (%q)", ext)
	}
	got, err = z.message(got)
	return op, got, err
}

// wsInflater undoes permessage-deflate (RFC 7692). With context takeover
// a message may refer to earlier ones: the whole stream is inflated again
// and the new bytes returned (the messages here are few and small).
type wsInflater struct {
	reset  bool // server_no_context_takeover: each message stands alone
	stream []byte
	out    int
}

func (z *wsInflater) message(payload []byte) ([]byte, error) {
	if z.reset {
		z.stream, z.out = nil, 0
	}
	z.stream = append(append(z.stream, payload...), 0, 0, 0xff, 0xff)
	all, err := io.ReadAll(flate.NewReader(bytes.NewReader(z.stream)))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("inflate: %w", err)
	}
	msg := all[z.out:]
	z.out = len(all)
	return msg, nil
}

// testLargeExpectContinue: 8 MB sent as curl sends a large upload (Expect:
// 100-continue, body only after the 100): the 100 comes at once, uvicorn
// gets every byte, and the connection carries the next request.
func testLargeExpectContinue(t *testing.T, e *Edge) {
	data := make([]byte, uploadSize)
	_, _ = rand.Read(data)
	conn := e.DialSite(t)
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(conn)
	start := time.Now()
	fmt.Fprintf(conn, "POST /api/upload/sha256 HTTP/1.1\r\nHost: %s\r\nUser-Agent: curl/8.11.1\r\nAccept: */*\r\n"+
		"Content-Type: application/octet-stream\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", domain, len(data))
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("first line %q, %v; want 100 Continue", line, err)
	}
	if l, _ := br.ReadString('\n'); l != "\r\n" {
		t.Fatalf("100 Continue followed by %q", l)
	}
	// curl waits 1 s for the 100 before it sends the body anyway.
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("100 Continue after %s, want at once", took)
	}
	if _, err := conn.Write(data); err != nil {
		t.Fatalf("write the body: %v", err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read the response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	var seen uploadSeen
	if err != nil || resp.StatusCode != http.StatusOK || json.Unmarshal(body, &seen) != nil {
		t.Fatalf("response %d %q, %v; want 200 and the app's JSON", resp.StatusCode, body, err)
	}
	if seen.Bytes != uploadSize || seen.Sha256 != sha256Hex(data) {
		t.Errorf("uvicorn read %d bytes with sha256 %s, want %d with %s", seen.Bytes, seen.Sha256, uploadSize, sha256Hex(data))
	}
	fmt.Fprintf(conn, "GET /api/health HTTP/1.1\r\nHost: %s\r\n\r\n", domain)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("the next request on the connection: %v, %v; want 200", resp, err)
	}
}

// testNoExtendedConnect: edge's HTTP/2 listener does not offer WebSocket
// over HTTP/2 (RFC 8441 SETTINGS_ENABLE_CONNECT_PROTOCOL): the proxy
// answers such a CONNECT with 400. So browsers on an HTTP/2 connection
// open their WebSockets over HTTP/1.1, the path websocket-browsers checks.
// (Go offers it only with GODEBUG=http2xconnect=1 in edge's environment.)
func testNoExtendedConnect(t *testing.T, e *Edge) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 2 * time.Second},
		Config: &tls.Config{ServerName: domain, RootCAs: e.RootCAs(), NextProtos: []string{"h2"}}}
	nc, err := d.Dial("tcp", e.SiteAddr())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(nc, nc)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("read frame: %v", err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			if v, ok := sf.Value(http2.SettingEnableConnectProtocol); ok && v != 0 {
				t.Errorf("edge offers extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL = %d): browsers would "+
					"send WebSockets as HTTP/2 CONNECT requests, which the proxy answers with 400", v)
			}
			return
		}
	}
	t.Fatal("no SETTINGS frame from edge")
}
