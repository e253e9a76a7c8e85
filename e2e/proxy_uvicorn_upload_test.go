package e2e

// Uploads through edge to real uvicorn (see proxy_uvicorn_stream_test.go).

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

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

// failingBody yields n zero bytes, then fails: a client that goes away
// mid-upload.
type failingBody struct{ n int }

func (f *failingBody) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("client gone")
	}
	m := min(len(p), f.n)
	clear(p[:m])
	f.n -= m
	return m, nil
}

// testUploadNeverWhole: an upload cut short (its client goes away after
// 1 MB of 8 MB, with a Content-Length and without one) or stopped by
// max_body (12 MB without a length, against 10 MB) never reaches uvicorn
// as a complete request: the app sees a disconnect, or no request at all,
// and answers nothing.
func testUploadNeverWhole(t *testing.T, e *Edge, api *apiServer, c *http.Client, proto string) {
	const answered = `"POST /api/upload/sha256 HTTP/1.1" 200`
	count := func(s string) int { return strings.Count(api.out.String(), s) }
	for _, tc := range []struct {
		name   string
		body   io.Reader
		length int64
	}{
		{"client-gone-length", &failingBody{n: 1 << 20}, uploadSize},
		{"client-gone-unknown-length", &failingBody{n: 1 << 20}, -1},
		{"over-max-body-unknown-length", io.LimitReader(zeros{}, 12<<20), -1},
	} {
		before, gone := count(answered), count("ClientDisconnect")
		req, err := http.NewRequest(http.MethodPost, e.URL("/api/upload/sha256"), tc.body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = tc.length
		resp, err := c.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.HasPrefix(tc.name, "over-max-body") {
				t.Errorf("%s: answered %s %q", tc.name, resp.Status, b)
			}
		} else {
			t.Logf("%s: %v", tc.name, err)
		}
		// When part of the body was sent, the app sees the disconnect at
		// once; when none was (a stream reset before edge read from it),
		// nothing ever comes, and 2 s is far more than uvicorn takes to
		// answer a complete upload.
		if !eventually(2*time.Second, func() bool { return count("ClientDisconnect") > gone || count(answered) > before }) {
			t.Logf("%s: no part of the upload reached the app", tc.name)
		}
		if n := count(answered); n != before {
			t.Errorf("%s: uvicorn answered the upload: a cut body reached it as a complete request", tc.name)
		}
	}
	r := send(t, c, proto, http.MethodGet, e.URL("/api/health"), nil).mustRead(t)
	wantStatus(t, r.resp, r.body, http.StatusOK)
}

// testPostAfterClose: after an unhandled exception Starlette answers 500,
// uvicorn logs the exception and then closes the connection, without
// having announced it (no "Connection: close"). A POST after that close,
// which edge must not send twice, is still answered by the app, never
// 502, however short the pooled connection's idle time. (A POST sent in
// the milliseconds before the close meets the keep-alive race every proxy
// has: RFC 9112 9.3.1 forbids sending it again.)
func testPostAfterClose(t *testing.T, e *Edge, api *apiServer, c *http.Client, proto string) {
	const logged = "Exception in ASGI application"
	for i := range 10 {
		crashes := strings.Count(api.out.String(), logged)
		r := send(t, c, proto, http.MethodGet, e.URL("/api/boom"), nil).mustRead(t)
		wantStatus(t, r.resp, r.body, http.StatusInternalServerError)
		if !eventually(5*time.Second, func() bool { return strings.Count(api.out.String(), logged) > crashes }) {
			t.Fatalf("round %d: uvicorn logged no exception for /api/boom", i)
		}
		// uvicorn closes the socket in its event loop's next round after
		// the log: an answer on a new connection comes after that.
		direct := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		if res, err := direct.Get("http://" + api.Addr() + "/api/health"); err != nil {
			t.Fatalf("round %d: GET /api/health from uvicorn itself: %v", i, err)
		} else {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		body := fmt.Sprintf("post %d after a closed connection", i)
		r = send(t, c, proto, http.MethodPost, e.URL("/api/upload/sha256"), strings.NewReader(body)).mustRead(t)
		if r.resp.StatusCode != http.StatusOK {
			t.Fatalf("round %d: POST after uvicorn closed its connection: %s %q", i, r.resp.Status, r.body)
		}
		var seen uploadSeen
		if err := json.Unmarshal(r.body, &seen); err != nil || seen.Sha256 != sha256Hex([]byte(body)) {
			t.Fatalf("round %d: answer %q (%v), want the hash of the body", i, r.body, err)
		}
	}
}
