package e2e

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gitcourse/edge/internal/testutil"
)

// seen is what the upstream received for one request.
type seen struct {
	Method, URI, Host string
	Header            http.Header
	BodyLen           int
}

// upstream is an httptest API behind edge: /api/echo records the request,
// /api/slow answers after 5 s (or when edge gives up), /api/upload reads
// the body, /api/ws echoes over an upgraded connection.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	last map[string]seen // by X-Test-Id
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{last: map[string]seen{}}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) seen(id string) (seen, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	s, ok := u.last[id]
	return s, ok
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.last[r.Header.Get("X-Test-Id")] = seen{r.Method, r.RequestURI, r.Host, r.Header.Clone(), len(body)}
	u.mu.Unlock()
	switch r.URL.Path {
	case "/api/slow":
		select {
		case <-r.Context().Done():
			return
		case <-time.After(5 * time.Second):
		}
	case "/api/ws":
		wsEcho(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"path": r.URL.Path, "bytes": len(body)})
}

// wsEcho accepts a WebSocket upgrade and echoes raw bytes back.
func wsEcho(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.Error(w, "upgrade required", http.StatusUpgradeRequired)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		base64.StdEncoding.EncodeToString(sum[:]))
	_ = brw.Flush()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	n, err := brw.Read(buf)
	if err != nil {
		return
	}
	_, _ = conn.Write(buf[:n])
}

var hex16 = regexp.MustCompile(`^[0-9a-f]{16}$`)

func TestProxy(t *testing.T) {
	t.Parallel()
	for _, mode := range listenerModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t)
			closed := "127.0.0.1:" + freePort(t)
			e := startEdge(t, Options{NoHTTPS: mode.noHTTPS, Routes: []Route{
				{Path: "/api/", Upstreams: []string{upstreamAddr(up.Server)},
					Timeouts: `connect = "1s", response_header = "300ms"`, MaxBody: "1KB"},
				{Path: "/down/", Upstreams: []string{closed}, Timeouts: `connect = "1s"`, RetryWindow: "0s"},
			}})
			c := e.Client()
			wantProto := "https"
			if mode.noHTTPS {
				wantProto = "http"
			}

			t.Run("forwarding-headers", func(t *testing.T) {
				resp, body := get(t, c, e.URL("/api/echo?x=1&y=%2F"),
					header("X-Test-Id", "fwd"),
					header("X-Forwarded-For", "6.6.6.6"),
					header("X-Forwarded-Proto", "gopher"),
					header("X-Forwarded-Host", "evil.test"),
					header("Forwarded", "for=6.6.6.6;proto=https;host=evil.test"),
					header("X-Real-IP", "6.6.6.6"),
					header("X-Request-ID", "client-chosen-id"),
					header("Proxy-Authorization", "Basic c2VjcmV0"),
				)
				wantStatus(t, resp, body, http.StatusOK)
				s, ok := up.seen("fwd")
				if !ok {
					t.Fatal("the request did not reach the upstream")
				}
				if s.URI != "/api/echo?x=1&y=%2F" {
					t.Errorf("upstream got URI %q, want %q", s.URI, "/api/echo?x=1&y=%2F")
				}
				if got := s.Header.Values("X-Forwarded-For"); len(got) != 1 || got[0] != "127.0.0.1" {
					t.Errorf("upstream X-Forwarded-For = %q, want [127.0.0.1] (client value replaced)", got)
				}
				if got := s.Header.Get("X-Forwarded-Proto"); got != wantProto {
					t.Errorf("upstream X-Forwarded-Proto = %q, want %q", got, wantProto)
				}
				if got := s.Header.Get("X-Forwarded-Host"); got != domain && !strings.HasPrefix(got, domain+":") {
					t.Errorf("upstream X-Forwarded-Host = %q, want %s", got, domain)
				}
				if got := s.Header.Get("Forwarded"); got != "" {
					t.Errorf("upstream Forwarded = %q, want none (client-sent, not trusted)", got)
				}
				if got := s.Header.Get("Proxy-Authorization"); got != "" {
					t.Errorf("upstream Proxy-Authorization = %q, want none (hop-by-hop)", got)
				}
				if s.Host != domain && !strings.HasPrefix(s.Host, domain+":") {
					t.Errorf("upstream Host = %q, want %s", s.Host, domain)
				}
				id := s.Header.Get("X-Request-Id")
				if !hex16.MatchString(id) {
					t.Errorf("upstream X-Request-ID = %q, want an id made by edge (16 hex digits)", id)
				}
				if got := resp.Header.Get("X-Request-Id"); got != id {
					t.Errorf("response X-Request-Id = %q, want the id the upstream saw %q", got, id)
				}
			})

			t.Run("request-ids-differ", func(t *testing.T) {
				r1, _ := get(t, c, e.URL("/api/echo"))
				r2, _ := get(t, c, e.URL("/api/echo"))
				if a, b := r1.Header.Get("X-Request-Id"), r2.Header.Get("X-Request-Id"); a == b || a == "" {
					t.Errorf("two requests got ids %q and %q, want distinct ones", a, b)
				}
			})

			t.Run("upstream-down-502", func(t *testing.T) {
				start := time.Now()
				resp, body := get(t, c, e.URL("/down/anything"))
				elapsed := time.Since(start)
				wantStatus(t, resp, body, http.StatusBadGateway)
				checkErrorJSON(t, resp, body, "upstream unavailable")
				if elapsed > time.Second {
					t.Errorf("502 for a closed port took %s, want within the connect timeout (1s)", elapsed)
				}
			})

			t.Run("slow-upstream-504", func(t *testing.T) {
				start := time.Now()
				resp, body := get(t, c, e.URL("/api/slow"))
				elapsed := time.Since(start)
				wantStatus(t, resp, body, http.StatusGatewayTimeout)
				var v map[string]string
				if err := json.Unmarshal(body, &v); err != nil || v["request_id"] != resp.Header.Get("X-Request-Id") {
					t.Errorf("504 body %q: want JSON with the request_id %q (%v)", body, resp.Header.Get("X-Request-Id"), err)
				}
				if elapsed > 2*time.Second {
					t.Errorf("504 took %s, want about response_header = 300ms", elapsed)
				}
			})

			t.Run("max-body-413", func(t *testing.T) {
				small := strings.Repeat("a", 1000)
				resp, body := do(t, c, http.MethodPost, e.URL("/api/upload"), strings.NewReader(small), header("X-Test-Id", "small"))
				wantStatus(t, resp, body, http.StatusOK)
				if s, _ := up.seen("small"); s.BodyLen != 1000 {
					t.Errorf("upstream got %d bytes, want 1000", s.BodyLen)
				}
				big := strings.Repeat("b", 2000)
				resp, body = do(t, c, http.MethodPost, e.URL("/api/upload"), strings.NewReader(big), header("X-Test-Id", "big"))
				wantStatus(t, resp, body, http.StatusRequestEntityTooLarge)
				if _, ok := up.seen("big"); ok {
					t.Errorf("a body with Content-Length over max_body reached the upstream")
				}
				// Without Content-Length (chunked): cut off while streaming.
				resp, body = do(t, c, http.MethodPost, e.URL("/api/upload"), io.MultiReader(strings.NewReader(big)), header("X-Test-Id", "chunked"))
				wantStatus(t, resp, body, http.StatusRequestEntityTooLarge)
				if s, ok := up.seen("chunked"); ok && s.BodyLen > 1000 {
					t.Errorf("upstream got %d bytes of a chunked body, more than max_body", s.BodyLen)
				}
			})

			t.Run("websocket-upgrade", func(t *testing.T) {
				conn := e.DialSite(t)
				br := bufio.NewReader(conn)
				fmt.Fprintf(conn, "GET /api/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
					"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", domain)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("read upgrade response: %v", err)
				}
				if resp.StatusCode != http.StatusSwitchingProtocols {
					b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
					t.Fatalf("upgrade: status %d, want 101; body %q", resp.StatusCode, b)
				}
				if got, want := resp.Header.Get("Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; got != want {
					t.Errorf("Sec-WebSocket-Accept %q, want %q", got, want)
				}
				if _, err := conn.Write([]byte("ping-through-edge")); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, len("ping-through-edge"))
				if _, err := io.ReadFull(br, buf); err != nil {
					t.Fatalf("read echo: %v", err)
				}
				if string(buf) != "ping-through-edge" {
					t.Errorf("echo %q, want %q", buf, "ping-through-edge")
				}
			})
		})
	}
}

// checkErrorJSON asserts {"error": msg, "request_id": <the response's id>}.
func checkErrorJSON(t *testing.T, resp *http.Response, body []byte, msg string) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var v map[string]string
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body %q is not a JSON object of strings: %v", body, err)
	}
	id := resp.Header.Get("X-Request-Id")
	if v["error"] != msg || v["request_id"] != id || id == "" || len(v) != 2 {
		t.Errorf("body %q, want {\"error\":%q,\"request_id\":%q}", body, msg, id)
	}
}

// blackhole returns a loopback address whose accept queue is full, so that
// a new connection attempt hangs (the kernel drops the SYN) instead of
// being refused. ok is false when this kernel does not behave so.
func blackhole(t *testing.T) (addr string, ok bool) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return "", false
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return "", false
	}
	if err := syscall.Listen(fd, 0); err != nil {
		return "", false
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return "", false
	}
	addr = fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	for range 8 {
		conn, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			return addr, true // the queue is full: connects now hang
		}
		t.Cleanup(func() { conn.Close() })
	}
	return "", false
}

func TestProxyConnectTimeout(t *testing.T) {
	t.Parallel()
	addr, ok := blackhole(t)
	if !ok {
		testutil.RequireOrSkip(t, "a loopback address that drops SYNs (a listener with a full accept queue)",
			errors.New("every connection attempt was accepted or refused"))
	}
	e := startEdge(t, Options{Routes: []Route{
		{Path: "/api/", Upstreams: []string{addr}, Timeouts: `connect = "700ms"`, RetryWindow: "0s"},
	}})
	start := time.Now()
	resp, body := get(t, e.Client(), e.HTTPS("/api/health"))
	elapsed := time.Since(start)
	wantStatus(t, resp, body, http.StatusBadGateway)
	checkErrorJSON(t, resp, body, "upstream unavailable")
	if elapsed < 500*time.Millisecond || elapsed > 2*time.Second {
		t.Errorf("502 after %s, want soon after the connect timeout (700ms)", elapsed)
	}
}
