package proxy

import (
	"context"
	"errors"
	"github.com/gitcourse/edge/accesslog"
	"github.com/gitcourse/edge/clientaddr"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitcourse/edge/reqid"
)

// result is one response seen by a client goroutine.
type result struct {
	code   int
	header http.Header
	body   string
	err    error
	took   time.Duration
}

// send does req in the background and delivers its result.
func (f *front) send(req *http.Request) <-chan result {
	ch := make(chan result, 1)
	go func() {
		start := time.Now()
		res, err := f.srv.Client().Do(req)
		if err != nil {
			ch <- result{err: err, took: time.Since(start)}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		ch <- result{code: res.StatusCode, header: res.Header, body: string(b), err: err, took: time.Since(start)}
	}()
	return ch
}

// receive returns the result or fails after timeout.
func receive(t *testing.T, ch <-chan result, timeout time.Duration) result {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("request failed: %v", r.err)
		}
		return r
	case <-time.After(timeout):
		t.Fatalf("no response within %s", timeout)
	}
	return result{}
}

// listenOn starts an echo backend on addr, which must be free.
func listenOn(t *testing.T, addr, name string) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s again: %v", addr, err)
	}
	b := &backend{name: name}
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		echoHandler(name)(w, r)
	}))
	b.srv.Listener.Close()
	b.srv.Listener = ln
	b.srv.Start()
	t.Cleanup(b.srv.Close)
	return b
}

// TestRetryWindowWaitsForRestart: a POST whose only upstream refuses
// connections waits, and is sent, body intact, once the upstream listens
// again within retry_window; it counts as served after waiting.
func TestRetryWindowWaitsForRestart(t *testing.T) {
	addr := deadAddr(t)
	rc := routeConfig(addr)
	rc.RetryWindow = dur(10 * time.Second)
	f := newFront(t, rc, nil)
	const payload = `{"title":"sent while the API restarts"}`
	ch := f.send(newRequest(t, http.MethodPost, f.srv.URL+"/api/courses", strings.NewReader(payload)))
	waitFor(t, 5*time.Second, "the POST to wait", func() bool { return f.rt.WaitStats().Waiting == 1 })
	live := listenOn(t, addr, "restarted")
	r := receive(t, ch, 10*time.Second)
	if r.code != http.StatusOK {
		t.Fatalf("status %d, want 200 after the restart: %s", r.code, r.body)
	}
	if e := decodeEcho(t, r.body); e.Body != payload || e.Method != http.MethodPost {
		t.Errorf("upstream got %s %q, want POST %q", e.Method, e.Body, payload)
	}
	if n := live.hits.Load(); n != 1 {
		t.Errorf("restarted upstream got %d requests, want 1", n)
	}
	st := f.rt.WaitStats()
	if st.Served != 1 || st.Waiting != 0 || st.Expired != 0 {
		t.Errorf("wait stats %+v, want 1 served, none waiting or expired", st)
	}
}

// TestRetryWindowExpires: an upstream that never comes back gets 502 once
// the window is over, not before and not much later, after several
// attempts.
func TestRetryWindowExpires(t *testing.T) {
	const window = 600 * time.Millisecond
	rc := routeConfig(deadAddr(t))
	rc.RetryWindow = dur(window)
	f := newFront(t, rc, nil)
	r := receive(t, f.send(newRequest(t, http.MethodPost, f.srv.URL+"/api/x", strings.NewReader("{}"))), 5*time.Second)
	if r.code != http.StatusBadGateway || decodeError(t, r.body).Error != "upstream unavailable" {
		t.Fatalf("status %d %s, want 502 upstream unavailable", r.code, r.body)
	}
	if r.took < window || r.took > window+time.Second {
		t.Errorf("502 after %s, want within [%s, %s]", r.took, window, window+time.Second)
	}
	if n := f.rt.Upstreams()[0].Requests; n < 4 {
		t.Errorf("upstream tried %d times within the window, want several (short backoff)", n)
	}
	if st := f.rt.WaitStats(); st.Expired != 1 || st.Waiting != 0 || st.Served != 0 {
		t.Errorf("wait stats %+v, want 1 expired", st)
	}
}

// TestRetryWindowCap: with retry_max_waiting = 1, a second request while
// one waits gets 503 with Retry-After at once; the first one's client
// going away ends its wait and frees the slot.
func TestRetryWindowCap(t *testing.T) {
	rc := routeConfig(deadAddr(t))
	rc.RetryWindow = dur(30 * time.Second)
	rc.RetryMaxWaiting = 1
	var mu sync.Mutex
	outcomes := map[string]int{}
	rt, err := New(rc, Options{Waited: func(o string) { mu.Lock(); outcomes[o]++; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	f := &front{rt: rt, codes: map[int]int{}}
	srv := httptest.NewServer(reqid.Trusting((*clientaddr.Trusted)(nil).Peer)(accesslog.Middleware(nil, f.observe)(rt)))
	t.Cleanup(srv.Close)
	f.srv = srv
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := f.send(newRequest(t, http.MethodGet, f.srv.URL+"/api/a", nil).WithContext(ctx))
	waitFor(t, 5*time.Second, "the first request to wait", func() bool { return f.rt.WaitStats().Waiting == 1 })

	r := receive(t, f.send(newRequest(t, http.MethodGet, f.srv.URL+"/api/b", nil)), 5*time.Second)
	if r.code != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "30" {
		t.Fatalf("second request: %d Retry-After %q %s, want 503 with Retry-After 30", r.code, r.header.Get("Retry-After"), r.body)
	}
	if e := decodeError(t, r.body); e.RequestID == "" || !strings.Contains(e.Error, "waiting") {
		t.Errorf("503 body %+v, want the waiting error and a request id", e)
	}
	if r.took > 2*time.Second {
		t.Errorf("503 took %s, want at once", r.took)
	}

	cancel()
	select {
	case res := <-first:
		if res.err == nil || !errors.Is(res.err, context.Canceled) {
			t.Errorf("first request: %+v, want the client's cancellation", res)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the cancelled request did not return")
	}
	waitFor(t, 5*time.Second, "the wait to end", func() bool {
		st := f.rt.WaitStats()
		return st.Waiting == 0 && st.Gone == 1
	})
	if st := f.rt.WaitStats(); st.Rejected != 1 {
		t.Errorf("wait stats %+v, want 1 rejected", st)
	}
	mu.Lock()
	if outcomes["rejected"] != 1 || outcomes["gone"] != 1 || len(outcomes) != 2 {
		t.Errorf("Options.Waited got %v, want one rejected and one gone", outcomes)
	}
	mu.Unlock()
	if f.answered(StatusClientClosed) != 1 || f.answered(http.StatusServiceUnavailable) != 1 {
		t.Errorf("answered %v, want one 499 and one 503", f.codes)
	}
}

// TestRetryWindowSentRequests: with the window on, a request the upstream
// received and then dropped is sent again only when idempotent, at most
// maxResendsInWindow times; a POST is never sent twice.
func TestRetryWindowSentRequests(t *testing.T) {
	dying := newBackend(t, "dying", func(w http.ResponseWriter, r *http.Request) {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close() // no response at all
		}
	})
	rc := routeConfig(dying.addr())
	rc.RetryWindow = dur(5 * time.Second)
	f := newFront(t, rc, nil)
	for _, tt := range []struct {
		method string
		sends  int64
	}{{http.MethodPost, 1}, {http.MethodGet, 1 + maxResendsInWindow}, {http.MethodPatch, 1}} {
		before := dying.hits.Load()
		var body io.Reader
		if tt.method != http.MethodGet {
			body = strings.NewReader("{}")
		}
		r := receive(t, f.send(newRequest(t, tt.method, f.srv.URL+"/api/x", body)), 10*time.Second)
		if r.code != http.StatusBadGateway {
			t.Errorf("%s: status %d, want 502", tt.method, r.code)
		}
		if n := dying.hits.Load() - before; n != tt.sends {
			t.Errorf("%s: upstream received it %d times, want %d", tt.method, n, tt.sends)
		}
	}
}

// TestRetryWindowOff: retry_window = "0s" keeps the old behaviour: a single
// refusing upstream answers 502 at once, tried once.
func TestRetryWindowOff(t *testing.T) {
	rc := routeConfig(deadAddr(t))
	f := newFront(t, rc, nil)
	r := receive(t, f.send(newRequest(t, http.MethodPost, f.srv.URL+"/api/x", strings.NewReader("{}"))), 5*time.Second)
	if r.code != http.StatusBadGateway || r.took > time.Second {
		t.Errorf("status %d after %s, want 502 at once", r.code, r.took)
	}
	if n := f.rt.Upstreams()[0].Requests; n != 1 {
		t.Errorf("tried %d times, want 1", n)
	}
}
