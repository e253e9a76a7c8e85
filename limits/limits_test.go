package limits

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gitcourse/edge/accesslog"
	"github.com/gitcourse/edge/config"
)

// clock is a settable clock for the tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func rateOf(t testing.TB, s string) config.Rate {
	r, err := config.ParseRate(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fromHeader takes the client address from X-Test-Client.
func fromHeader(r *http.Request) netip.Addr {
	a, _ := netip.ParseAddr(r.Header.Get("X-Test-Client"))
	return a
}

func newSet(t testing.TB, c *clock, prev *Set, rules ...config.Limit) *Set {
	t.Helper()
	for i := range rules {
		if rules[i].MaxClients == 0 {
			rules[i].MaxClients = 100
		}
	}
	s, err := New(Options{Rules: rules, ClientAddr: fromHeader, Now: c.now, Prev: prev,
		Routes: []RouteInfo{{Name: "/api/", Proxy: true}, {Name: "static"}},
		Route: func(p string) int {
			if matchPrefix(p, "/api/") {
				return 0
			}
			return 1
		}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// serve sends one request through the middleware over next and returns
// the recorder.
func serve(h http.Handler, method, path, client string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	req.Header.Set("X-Test-Client", client)
	w := httptest.NewRecorder()
	h.ServeHTTP(&accesslog.Recorder{ResponseWriter: w}, req)
	return w
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

func login(t testing.TB) config.Limit {
	return config.Limit{Name: "login", Path: "/api/auth/", Methods: []string{"POST"}, Rate: rateOf(t, "10/m"), Burst: 10}
}

func TestRateLimitPerClient(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	h := newSet(t, c, nil, login(t)).Middleware(ok)
	for i := range 10 {
		if w := serve(h, "POST", "/api/auth/login", "192.0.2.1"); w.Code != 200 {
			t.Fatalf("request %d: %d, want 200", i+1, w.Code)
		}
	}
	w := serve(h, "POST", "/api/auth/login", "192.0.2.1")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "6" {
		t.Fatalf("11th: %d Retry-After %q, want 429 and 6 (10/m)", w.Code, w.Header().Get("Retry-After"))
	}
	var body map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["error"] != "rate limited" {
		t.Errorf("429 body %q under a proxy route, want JSON error", w.Body)
	}
	for _, tc := range []struct{ method, path, client string }{
		{"GET", "/api/auth/login", "192.0.2.1"},  // other method
		{"POST", "/api/courses", "192.0.2.1"},    // other path
		{"POST", "/api/auth/login", "192.0.2.2"}, // other client
	} {
		if w := serve(h, tc.method, tc.path, tc.client); w.Code != 200 {
			t.Errorf("%+v: %d, want 200", tc, w.Code)
		}
	}
	c.add(6 * time.Second)
	if w := serve(h, "POST", "/api/auth/login", "192.0.2.1"); w.Code != 200 {
		t.Errorf("after 6s: %d, want 200 (one token back)", w.Code)
	}
}

func TestIPv6GroupedBy64(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	l := login(t)
	l.Burst = 1
	h := newSet(t, c, nil, l).Middleware(ok)
	if w := serve(h, "POST", "/api/auth/x", "2001:db8:1:2::1"); w.Code != 200 {
		t.Fatal(w.Code)
	}
	if w := serve(h, "POST", "/api/auth/x", "2001:db8:1:2:ffff::9"); w.Code != 429 {
		t.Errorf("same /64: %d, want 429", w.Code)
	}
	if w := serve(h, "POST", "/api/auth/x", "2001:db8:1:3::1"); w.Code != 200 {
		t.Errorf("other /64: %d, want 200", w.Code)
	}
	if got := KeyString(Key(netip.MustParseAddr("2001:db8:1:2:ffff::9"))); got != "2001:db8:1:2::/64" {
		t.Errorf("KeyString = %q", got)
	}
	if got := Key(netip.MustParseAddr("::ffff:192.0.2.1")); got != netip.MustParseAddr("192.0.2.1") {
		t.Errorf("mapped IPv4 key = %s", got)
	}
}

func TestFirstMatchingRuleAndPage(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	strict := config.Limit{Name: "strict", Path: "/login", Rate: rateOf(t, "1/h"), Burst: 1}
	loose := config.Limit{Name: "loose", Path: "/", Rate: rateOf(t, "100/s"), Burst: 100}
	h := newSet(t, c, nil, strict, loose).Middleware(ok)
	serve(h, "GET", "/login", "192.0.2.1")
	w := serve(h, "GET", "/login", "192.0.2.1")
	if w.Code != 429 || w.Header().Get("Retry-After") != "3600" {
		t.Fatalf("second /login: %d Retry-After %q, want 429 and 3600", w.Code, w.Header().Get("Retry-After"))
	}
	if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("outside a proxy route Content-Type %q, want the page", ct)
	}
	if w := serve(h, "GET", "/login2", "192.0.2.1"); w.Code != 200 {
		t.Errorf("/login2 matched the /login prefix: %d", w.Code)
	}
}

func TestAllowListNeverLimitedOrBanned(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	l := login(t)
	l.Burst, l.BanAfter, l.Allow = 1, 1, []string{"10.0.0.0/8"}
	l.BanWindow.Duration, l.BanFor.Duration = time.Minute, time.Minute
	h := newSet(t, c, nil, l).Middleware(ok)
	for range 5 {
		if w := serve(h, "POST", "/api/auth/x", "10.1.2.3"); w.Code != 200 {
			t.Fatalf("allowed client: %d", w.Code)
		}
	}
}

func TestBanAfterRejectionsUnbanAndExpiry(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	l := login(t)
	l.Burst, l.BanAfter = 1, 3
	l.BanWindow.Duration, l.BanFor.Duration = time.Minute, 10*time.Minute
	s := newSet(t, c, nil, l)
	h := s.Middleware(ok)
	serve(h, "POST", "/api/auth/x", "192.0.2.1")
	for i := range 3 {
		if w := serve(h, "POST", "/api/auth/x", "192.0.2.1"); w.Code != 429 {
			t.Fatalf("rejection %d: %d", i+1, w.Code)
		}
	}
	w := serve(h, "GET", "/anything", "192.0.2.1")
	if w.Code != http.StatusForbidden || w.Header().Get("Retry-After") != "600" {
		t.Fatalf("banned: %d Retry-After %q, want 403 and 600", w.Code, w.Header().Get("Retry-After"))
	}
	if w := serve(h, "GET", "/anything", "192.0.2.2"); w.Code != 200 {
		t.Errorf("other client: %d", w.Code)
	}
	snap := s.Snapshot()
	if snap.Banned != 1 || len(snap.Bans) != 1 || snap.Bans[0].Client != "192.0.2.1" || snap.Rules[0].Limited != 3 {
		t.Errorf("snapshot %+v", snap)
	}
	if len(snap.TopLimited) != 1 || snap.TopLimited[0].Rejected != 3 {
		t.Errorf("top limited %+v", snap.TopLimited)
	}
	if n := s.Unban(netip.MustParseAddr("192.0.2.1")); n != 1 {
		t.Fatalf("Unban = %d", n)
	}
	if w := serve(h, "GET", "/anything", "192.0.2.1"); w.Code != 200 {
		t.Errorf("after unban: %d", w.Code)
	}
	// Rejections spread wider than ban_window do not ban.
	for range 5 {
		c.add(61 * time.Second)
		serve(h, "POST", "/api/auth/x", "192.0.2.3")
		serve(h, "POST", "/api/auth/x", "192.0.2.3") // rejected, once per window... then refilled
	}
	if w := serve(h, "GET", "/", "192.0.2.3"); w.Code != 200 {
		t.Errorf("rejections outside the window banned the client: %d", w.Code)
	}
	// A ban ends by itself.
	for range 4 {
		serve(h, "POST", "/api/auth/x", "192.0.2.4")
	}
	if w := serve(h, "GET", "/", "192.0.2.4"); w.Code != 403 {
		t.Fatalf("not banned: %d", w.Code)
	}
	c.add(10 * time.Minute)
	if w := serve(h, "GET", "/", "192.0.2.4"); w.Code != 200 {
		t.Errorf("after ban_for: %d, want 200", w.Code)
	}
}

func TestUpstream401CountsTowardsBan(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	l := login(t)
	l.Rate, l.Burst, l.MaxInFlight, l.BanAfter = config.Rate{}, 0, 10, 2
	l.QueueTimeout.Duration, l.BanWindow.Duration, l.BanFor.Duration = time.Second, time.Minute, time.Minute
	h := newSet(t, c, nil, l).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	for range 2 {
		if w := serve(h, "POST", "/api/auth/login", "192.0.2.1"); w.Code != 401 {
			t.Fatalf("%d, want the upstream's 401", w.Code)
		}
	}
	if w := serve(h, "GET", "/", "192.0.2.1"); w.Code != 403 {
		t.Errorf("after two 401s: %d, want 403", w.Code)
	}
}

func TestInFlightQueueTimeout(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	l := config.Limit{Name: "slow", Path: "/api/slow", MaxInFlight: 2}
	l.QueueTimeout.Duration = 50 * time.Millisecond
	s := newSet(t, c, nil, l)
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	h := s.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
	}))
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { serve(h, "GET", "/api/slow", "192.0.2.1") })
	}
	<-started
	<-started
	if got := s.Snapshot().InFlight["/api/"]; got != 2 {
		t.Errorf("in flight on /api/ = %d, want 2", got)
	}
	start := time.Now()
	w := serve(h, "GET", "/api/slow", "192.0.2.9")
	if w.Code != 503 || w.Header().Get("Retry-After") != "1" || time.Since(start) < 50*time.Millisecond {
		t.Errorf("third: %d Retry-After %q after %s, want 503 after the queue timeout", w.Code, w.Header().Get("Retry-After"), time.Since(start))
	}
	// A waiting request gets the slot a finished one frees.
	l2 := make(chan int)
	go func() { l2 <- serve(h, "GET", "/api/slow", "192.0.2.9").Code }()
	time.Sleep(10 * time.Millisecond) // let it queue; it has 50ms
	release <- struct{}{}
	<-started
	close(release)
	if code := <-l2; code != 200 {
		t.Errorf("queued request: %d, want 200", code)
	}
	wg.Wait()
	if got := s.Snapshot().InFlight["/api/"]; got != 0 {
		t.Errorf("in flight after all = %d", got)
	}
}

func TestReloadKeepsStateOfUnchangedRules(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	l := login(t)
	l.Burst, l.BanAfter = 1, 1
	l.BanWindow.Duration, l.BanFor.Duration = time.Minute, time.Minute
	other := config.Limit{Name: "other", Path: "/x", Rate: rateOf(t, "1/h"), Burst: 1}
	s1 := newSet(t, c, nil, l, other)
	h1 := s1.Middleware(ok)
	serve(h1, "POST", "/api/auth/x", "192.0.2.1")
	serve(h1, "POST", "/api/auth/x", "192.0.2.1") // 429 and banned
	serve(h1, "GET", "/x", "192.0.2.7")
	changed := other
	changed.Burst = 2
	s2 := newSet(t, c, s1, l, changed)
	h2 := s2.Middleware(ok)
	if w := serve(h2, "GET", "/", "192.0.2.1"); w.Code != 403 {
		t.Errorf("ban lost across reload: %d", w.Code)
	}
	if w := serve(h2, "GET", "/x", "192.0.2.7"); w.Code != 200 {
		t.Errorf("changed rule kept its old bucket: %d", w.Code)
	}
	if got := s2.Snapshot().Rules[0].Limited; got != 1 {
		t.Errorf("limited counter after reload = %d, want 1", got)
	}
}

func TestClientTableBounded(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	l := login(t)
	l.MaxClients = 50
	s := newSet(t, c, nil, l)
	h := s.Middleware(ok)
	for i := range 1000 {
		serve(h, "POST", "/api/auth/x", netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}).String())
	}
	if n := s.Snapshot().Rules[0].Clients; n != 50 {
		t.Errorf("clients held = %d, want max_clients 50", n)
	}
}

func TestSweeperStopsWithContext(t *testing.T) {
	s := newSet(t, &clock{t: time.Unix(1e9, 0)}, nil, login(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestRetryAfterRoundsUp(t *testing.T) {
	for d, want := range map[time.Duration]int{0: 1, 100 * time.Millisecond: 1, 1001 * time.Millisecond: 2, time.Hour: 3600} {
		if got := retryAfter(d); got != want {
			t.Errorf("retryAfter(%s) = %d, want %d", d, got, want)
		}
	}
}
