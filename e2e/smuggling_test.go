package e2e

import (
	"bufio"
	"fmt"
	"github.com/gitcourse/edge/internal/testutil"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawReq is one request as the strict upstream received it.
type rawReq struct {
	Line     string // the request line, without CRLF
	Head     string // the field lines as received
	Body     string
	Complete bool   // the whole body arrived with one unambiguous framing
	Err      string // why the upstream refused it, when it did
}

// strictUpstream is a raw TCP upstream that parses requests strictly
// (CRLF lines, exactly one framing) and records each as received. It
// answers /api/resp/<case> with the raw bytes of upstreamAnswers[case]
// and closes; anything else gets 200 "got N bytes".
type strictUpstream struct {
	ln   net.Listener
	mu   sync.Mutex
	reqs []rawReq
}

func newStrictUpstream(t *testing.T) *strictUpstream {
	t.Helper()
	u := &strictUpstream{}
	u.ln = testutil.ServeTCP(t, u.serve)
	return u
}

func (u *strictUpstream) addr() string { return u.ln.Addr().String() }

// received returns the requests whose target starts with prefix.
func (u *strictUpstream) received(prefix string) []rawReq {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []rawReq
	for _, r := range u.reqs {
		if _, target, _ := strings.Cut(r.Line, " "); strings.HasPrefix(target, prefix) {
			out = append(out, r)
		}
	}
	return out
}

func (u *strictUpstream) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	for {
		r := readStrict(br)
		if r.Line == "" && r.Err != "" {
			return // the connection ended between requests
		}
		u.mu.Lock()
		u.reqs = append(u.reqs, r)
		u.mu.Unlock()
		if !r.Complete {
			return
		}
		_, target, _ := strings.Cut(r.Line, " ")
		if name, ok := strings.CutPrefix(strings.Fields(target)[0], "/api/resp/"); ok {
			_, _ = io.WriteString(c, upstreamAnswers[name])
			return
		}
		body := fmt.Sprintf("got %d bytes", len(r.Body))
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}
}

// readStrict reads one request: every line must end in CRLF, and the body
// framing must be one Content-Length or one chunked Transfer-Encoding.
func readStrict(br *bufio.Reader) rawReq {
	var r rawReq
	line, err := strictLine(br)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	r.Line = line
	var cls, tes []string
	var head strings.Builder
	for {
		l, err := strictLine(br)
		if err != nil {
			r.Err = err.Error()
			return r
		}
		if l == "" {
			break
		}
		head.WriteString(l + "\r\n")
		k, v, ok := strings.Cut(l, ":")
		if !ok || strings.ContainsAny(k, " \t") || l[0] == ' ' || l[0] == '\t' {
			r.Err = "malformed field line " + strconv.Quote(l)
			return r
		}
		switch strings.ToLower(k) {
		case "content-length":
			cls = append(cls, strings.TrimSpace(v))
		case "transfer-encoding":
			tes = append(tes, strings.TrimSpace(v))
		}
	}
	r.Head = head.String()
	switch {
	case len(tes) > 0 && (len(cls) > 0 || len(tes) > 1 || tes[0] != "chunked"):
		r.Err = "ambiguous framing"
	case len(tes) == 1:
		r.Body, r.Complete, r.Err = strictChunked(br)
	case len(cls) > 1:
		r.Err = "several Content-Length fields"
	case len(cls) == 1:
		n, err := strconv.Atoi(cls[0])
		if err != nil || n < 0 || cls[0][0] == '+' {
			r.Err = "bad Content-Length"
			return r
		}
		buf := make([]byte, n)
		got, err := io.ReadFull(br, buf)
		r.Body, r.Complete = string(buf[:got]), err == nil
	default:
		r.Complete = true
	}
	return r
}

func strictLine(br *bufio.Reader) (string, error) {
	l, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(l, "\r\n") || strings.ContainsAny(l[:len(l)-2], "\r\n\x00") {
		return "", fmt.Errorf("line %q not ended by CRLF alone", l)
	}
	return l[:len(l)-2], nil
}

func strictChunked(br *bufio.Reader) (string, bool, string) {
	var body strings.Builder
	for {
		l, err := strictLine(br)
		if err != nil {
			return body.String(), false, err.Error()
		}
		size, err := strconv.ParseUint(l, 16, 32)
		if err != nil {
			return body.String(), false, "bad chunk size " + strconv.Quote(l)
		}
		if size == 0 {
			for {
				if l, err = strictLine(br); err != nil || l == "" {
					return body.String(), err == nil, ""
				}
			}
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(br, buf); err != nil || string(buf[size:]) != "\r\n" {
			return body.String(), false, "chunk data cut"
		}
		body.Write(buf[:size])
	}
}

// upstreamAnswers are the upstream responses of the response-framing
// cases, served at /api/resp/<name>.
var upstreamAnswers = map[string]string{
	"good-chunked":       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"space-before-colon": "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhelloPOISONED",
	"two-lengths":        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 13\r\n\r\nhelloPOISONED",
	"length-and-chunked": "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nPOISONED",
	"chunked-identity":   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"obs-fold":           "HTTP/1.1 200 OK\r\nX-A: 1\r\n Content-Length: 5\r\n\r\nhelloPOISONED",
	"bare-lf":            "HTTP/1.1 200 OK\nContent-Length: 13\n\nhelloPOISONED",
	"bare-cr":            "HTTP/1.1 200 OK\r\nX-A: 1\rContent-Length: 5\r\n\r\nhelloPOISONED",
	"nul":                "HTTP/1.1 200 OK\r\nX-A: a\x00\r\nContent-Length: 13\r\n\r\nhelloPOISONED",
	"bad-chunk-size":     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nPOISONED\r\n0\r\n\r\n",
	"chunk-overflow":     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n",
	"cut-length":         "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello",
	"cut-chunked":        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
	"chunked-in-1.0":     "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
}

// TestProxySmugglingUpstreamResponses sends each malformed upstream
// response through edge: the client gets 502, or a cut connection once
// the response has started, never a complete 2xx.
func TestProxySmugglingUpstreamResponses(t *testing.T) {
	t.Parallel()
	up := newStrictUpstream(t)
	e := startEdge(t, Options{Routes: []Route{{Path: "/api/", Upstreams: []string{up.addr()}}}})
	cut := map[string]bool{"bad-chunk-size": true, "chunk-overflow": true, "cut-length": true, "cut-chunked": true}
	for name := range upstreamAnswers {
		t.Run(name, func(t *testing.T) {
			for _, c := range []*http.Client{e.Client1(), e.Client()} {
				res, err := c.Get(e.HTTPS("/api/resp/" + name))
				if err != nil && cut[name] {
					continue // cut before the head reached the client
				}
				if err != nil {
					t.Fatalf("GET: %v", err)
				}
				body, rerr := io.ReadAll(res.Body)
				res.Body.Close()
				switch {
				case name == "good-chunked":
					if res.StatusCode != 200 || rerr != nil || string(body) != "hello" {
						t.Fatalf("%s: %d %q %v, want 200 hello", res.Proto, res.StatusCode, body, rerr)
					}
				case cut[name]:
					if rerr == nil {
						t.Fatalf("%s: %d %q read whole, want a cut response", res.Proto, res.StatusCode, body)
					}
				default:
					if res.StatusCode != http.StatusBadGateway || strings.Contains(string(body), "POISONED") {
						t.Fatalf("%s: %d %q, want 502", res.Proto, res.StatusCode, body)
					}
				}
			}
		})
	}
}

// h1Case is a raw HTTP/1.1 request (or several) sent to edge over one
// connection.
type h1Case struct {
	name, raw string
	status    []int // the responses expected, in order; a refusal is one 4xx/5xx
	closed    bool  // edge closes the connection after the responses
	upstream  []string
	bodies    []string // the bodies the upstream received, in order
	chunked   []bool   // whether each was sent chunked (else by length)
}

// TestProxySmugglingHTTP1 sends the classic request-smuggling corpus as
// raw bytes: each request is refused, or reaches the strict upstream as
// exactly the requests edge answered, each with one framing.
func TestProxySmugglingHTTP1(t *testing.T) {
	t.Parallel()
	up := newStrictUpstream(t)
	e := startEdge(t, Options{Routes: []Route{{Path: "/api/", Upstreams: []string{up.addr()}}}})
	const h = " HTTP/1.1\r\nHost: edge.test\r\n"
	cases := []h1Case{
		{name: "cl-te", raw: "POST /api/cl-te" + h + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
			status: []int{200}, closed: true, upstream: []string{"/api/cl-te"}, bodies: []string{""}, chunked: []bool{true}},
		{name: "te-cl", raw: "POST /api/te-cl" + h + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n",
			status: []int{200}, closed: true, upstream: []string{"/api/te-cl"}, bodies: []string{"SMUGGLED"}, chunked: []bool{true}},
		{name: "two-lengths", raw: "POST /api/two-lengths" + h + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhelloG",
			status: []int{400}, closed: true},
		{name: "chunked-identity", raw: "POST /api/chunked-identity" + h + "Transfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
			status: []int{501}, closed: true},
		{name: "space-before-colon", raw: "POST /api/space-before-colon" + h + "Content-Length : 5\r\n\r\nhello",
			status: []int{400}, closed: true},
		// net/http unfolds the line into one value (RFC 9112 5.2 allows
		// replacing obs-fold with SP): the upstream sees no Transfer-Encoding.
		{name: "obs-fold", raw: "POST /api/obs-fold" + h + "X-A: 1\r\n Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello",
			status: []int{200}, upstream: []string{"/api/obs-fold"}, bodies: []string{"hello"}, chunked: []bool{false}},
		{name: "bare-cr", raw: "POST /api/bare-cr" + h + "X-A: 1\rTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello",
			status: []int{400}, closed: true},
		{name: "nul", raw: "GET /api/nul" + h + "X-A: a\x00b\r\n\r\n", status: []int{400}, closed: true},
		{name: "bare-lf", raw: "GET /api/bare-lf HTTP/1.1\nHost: edge.test\n\n",
			status: []int{200}, upstream: []string{"/api/bare-lf"}, bodies: []string{""}, chunked: []bool{false}},
		{name: "chunk-overflow", raw: "POST /api/chunk-overflow" + h + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nhello\r\n0\r\n\r\n",
			status: []int{400}, closed: true},
		{name: "pipelining", raw: "GET /api/pipelining/1" + h + "\r\nPOST /api/pipelining/2" + h + "Content-Length: 5\r\n\r\nhelloGET /api/pipelining/3" + h + "\r\n",
			status: []int{200, 200, 200}, upstream: []string{"/api/pipelining/1", "/api/pipelining/2", "/api/pipelining/3"},
			bodies: []string{"", "hello", ""}, chunked: []bool{false, false, false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runH1Case(t, e, up, tc) })
	}
	t.Run("100-continue", func(t *testing.T) { expectContinue(t, e, up) })
}

func runH1Case(t *testing.T, e *Edge, up *strictUpstream, tc h1Case) {
	conn := e.DialSite(t)
	if _, err := io.WriteString(conn, tc.raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	for i, want := range tc.status {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("response %d: status %d, want %d", i, res.StatusCode, want)
		}
	}
	if tc.closed {
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		if n, err := br.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("connection still open after the response (read %d, %v), want it closed", n, err)
		}
	}
	got := up.received("/api/" + tc.name)
	if len(got) != len(tc.upstream) {
		t.Fatalf("upstream received %d requests %+v, want %d", len(got), got, len(tc.upstream))
	}
	for i, r := range got {
		if !r.Complete || r.Err != "" || !strings.HasSuffix(r.Line, " "+tc.upstream[i]+" HTTP/1.1") {
			t.Errorf("upstream request %d: %+v, want a complete %s", i, r, tc.upstream[i])
		}
		if chunked := strings.HasPrefix(r.Head, "Transfer-Encoding: chunked\r\n") ||
			strings.Contains(r.Head, "\r\nTransfer-Encoding: chunked\r\n"); chunked != tc.chunked[i] {
			t.Errorf("upstream request %d framing: %q, want chunked %v", i, r.Head, tc.chunked[i])
		}
		if r.Body != tc.bodies[i] {
			t.Errorf("upstream request %d body %q, want %q", i, r.Body, tc.bodies[i])
		}
	}
}

// expectContinue sends a body after edge's 100 Continue; the upstream
// never sees Expect.
func expectContinue(t *testing.T, e *Edge, up *strictUpstream) {
	conn := e.DialSite(t)
	head := "POST /api/continue HTTP/1.1\r\nHost: edge.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("first line %q, %v; want 100 Continue", line, err)
	}
	if l, _ := br.ReadString('\n'); l != "\r\n" {
		t.Fatalf("100 Continue carries fields: %q", l)
	}
	_, _ = io.WriteString(conn, "hello")
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("response %v, %v", res, err)
	}
	got := up.received("/api/continue")
	if len(got) != 1 || got[0].Body != "hello" || strings.Contains(strings.ToLower(got[0].Head), "expect") {
		t.Fatalf("upstream received %+v", got)
	}
}
