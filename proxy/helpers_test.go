package proxy

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitcourse/edge/accesslog"
	"github.com/gitcourse/edge/clientaddr"
	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/reqid"
)

func dur(d time.Duration) config.Duration { return config.Duration{Duration: d} }

// routeConfig is a validated-looking [[route]] for /api/ with the defaults.
func routeConfig(upstreams ...string) config.Route {
	return config.Route{
		Path:      "/api/",
		Upstreams: upstreams,
		Health: config.HealthProbe{
			Interval: dur(time.Second), Timeout: dur(500 * time.Millisecond), Healthy: 2, Unhealthy: 3,
		},
		Timeouts: config.Timeouts{
			Connect: dur(time.Second), ResponseHeader: dur(5 * time.Second), Idle: dur(time.Minute),
		},
		MaxBody:         config.ByteSize{Bytes: 10e6},
		PassiveCooldown: dur(10 * time.Second),
	}
}

// backend is an httptest upstream that names itself and echoes what it saw.
type backend struct {
	name string
	srv  *httptest.Server
	hits atomic.Int64
}

// echo is what a backend answers.
type echo struct {
	Upstream string      `json:"upstream"`
	Method   string      `json:"method"`
	Host     string      `json:"host"`
	Path     string      `json:"path"`
	Body     string      `json:"body"`
	Header   http.Header `json:"header"`
}

func newBackend(t *testing.T, name string, h http.HandlerFunc) *backend {
	t.Helper()
	b := &backend{name: name}
	if h == nil {
		h = echoHandler(name)
	}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// echoHandler answers with the echo of the request.
func echoHandler(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echo{name, r.Method, r.Host, r.URL.Path, string(body), r.Header})
	}
}

func (b *backend) addr() string { return strings.TrimPrefix(b.srv.URL, "http://") }

// deadAddr returns a loopback address that refuses connections.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// front serves rt behind the request-id middleware, like edge's chain.
type front struct {
	rt  *Route
	srv *httptest.Server

	mu    sync.Mutex
	codes map[int]int // statuses seen by the access log's recorder
}

// observe is the front's accesslog.Observer: what metrics would count.
func (f *front) observe(_ string, code int, _ time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.codes[code]++
}

// answered returns how many requests were answered with code, as the
// access log (and so the metrics) saw them.
func (f *front) answered(code int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.codes[code]
}

func newFront(t *testing.T, rc config.Route, trusted *clientaddr.Trusted) *front {
	t.Helper()
	rt, err := New(rc, Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(rt.Close)
	f := &front{rt: rt, codes: map[int]int{}}
	f.srv = httptest.NewServer(reqid.Trusting(trusted.Peer)(clientaddr.Middleware(trusted)(accesslog.Middleware(nil, f.observe)(rt))))
	t.Cleanup(f.srv.Close)
	return f
}

// do sends a request through the front and returns the response with its
// body read.
func (f *front) do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	res, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body of %s %s: %v", req.Method, req.URL, err)
	}
	return res, string(body)
}

func (f *front) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	return f.do(t, newRequest(t, http.MethodGet, f.srv.URL+path, nil))
}

func newRequest(t *testing.T, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func decodeEcho(t *testing.T, body string) echo {
	t.Helper()
	var e echo
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("decode upstream echo %q: %v", body, err)
	}
	return e
}

// fakeClock is a settable clock for cool-downs.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// waitFor polls cond every 10ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// errorBody is the JSON of a proxy error.
type errorBody struct {
	Error     string `json:"error"`
	RequestID string `json:"request_id"`
}

func decodeError(t *testing.T, body string) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("decode error body %q: %v", body, err)
	}
	return e
}

func newHTTPTestServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

var pingBody = []byte(`{"status":"ok","service":"gitcourse-api","version":"bench","time":"2026-11-25T03:00:00Z"}` + "\n")

// newBenchBackend is an upstream answering a small fixed body.
func newBenchBackend(b *testing.B) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(pingBody)
	}))
	b.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func newBenchFront(b *testing.B, rt *Route) *httptest.Server {
	srv := httptest.NewServer(reqid.Middleware(rt))
	b.Cleanup(srv.Close)
	return srv
}
