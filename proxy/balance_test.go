package proxy

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestProxyRoundRobin(t *testing.T) {
	a, b, c := newBackend(t, "a", nil), newBackend(t, "b", nil), newBackend(t, "c", nil)
	f := newFront(t, routeConfig(a.addr(), b.addr(), c.addr()), nil)
	got := map[string]int{}
	for range 30 {
		res, body := f.get(t, "/api/x")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status %d, want 200: %s", res.StatusCode, body)
		}
		got[decodeEcho(t, body).Upstream]++
	}
	for _, name := range []string{"a", "b", "c"} {
		if got[name] != 10 {
			t.Errorf("upstream %s got %d requests, want 10 (all: %v)", name, got[name], got)
		}
	}
}

func TestProxyHealthThresholds(t *testing.T) {
	tests := []struct {
		name    string
		results string // o = probe ok, x = probe failed
		want    string // state after each probe: U up, D down
	}{
		{"starts up and stays up", "ooo", "UUU"},
		{"down after 3 failures", "xxxx", "UUDD"},
		{"a success resets the failure run", "xxoxxx", "UUUUUD"},
		{"up after 2 successes", "xxxoo", "UUDDU"},
		{"a failure resets the success run", "xxxoxoo", "UUDDDDU"},
		{"flaps only at thresholds", "xxxooxxx", "UUDDUUUD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := healthCheck{up: true}
			var got strings.Builder
			for _, r := range tt.results {
				h.observe(r == 'o', 2, 3)
				if h.up {
					got.WriteByte('U')
				} else {
					got.WriteByte('D')
				}
			}
			if got.String() != tt.want {
				t.Errorf("states %q, want %q", got.String(), tt.want)
			}
		})
	}
}

// TestProxyActiveHealthSkipsUnhealthy drives the probes by hand: b fails
// its health check, is taken out after 3 probes and comes back after 2.
func TestProxyActiveHealthSkipsUnhealthy(t *testing.T) {
	var bSick atomic.Bool
	a := newBackend(t, "a", nil)
	b := newBackend(t, "b", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" && bSick.Load() {
			http.Error(w, "db down", http.StatusServiceUnavailable)
			return
		}
		echoHandler("b")(w, r)
	})
	rc := routeConfig(a.addr(), b.addr())
	rc.Health.Path = "/health"
	f := newFront(t, rc, nil)
	ctx := t.Context()

	bSick.Store(true)
	for i := range 3 {
		if st := f.rt.Upstreams()[1]; !st.Up {
			t.Fatalf("b down after %d failed probes, want 3", i)
		}
		f.rt.probeAll(ctx)
	}
	st := f.rt.Upstreams()[1]
	if st.Up || !strings.Contains(st.LastError, "status 503") {
		t.Fatalf("b after 3 failed probes: %+v, want down with status 503", st)
	}
	for range 6 {
		if _, body := f.get(t, "/api/x"); decodeEcho(t, body).Upstream != "a" {
			t.Fatalf("request went to a down upstream: %s", body)
		}
	}
	bSick.Store(false)
	f.rt.probeAll(ctx)
	if f.rt.Upstreams()[1].Up {
		t.Fatal("b up after 1 good probe, want 2")
	}
	f.rt.probeAll(ctx)
	if !f.rt.Upstreams()[1].Up {
		t.Fatal("b still down after 2 good probes")
	}
	seen := map[string]bool{}
	for range 4 {
		_, body := f.get(t, "/api/x")
		seen[decodeEcho(t, body).Upstream] = true
	}
	if !seen["b"] {
		t.Errorf("b gets no traffic after recovering: %v", seen)
	}
}

// TestProxyRunProbes runs the worker for real and checks it stops with its
// context.
func TestProxyRunProbes(t *testing.T) {
	a := newBackend(t, "a", nil)
	dead := deadAddr(t)
	rc := routeConfig(a.addr(), dead)
	rc.Health.Path = "/health"
	rc.Health.Interval = dur(20 * time.Millisecond)
	rc.Health.Timeout = dur(20 * time.Millisecond)
	rc.PassiveCooldown = dur(0)
	f := newFront(t, rc, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.rt.Run(ctx) }()
	waitFor(t, 5*time.Second, "the dead upstream to be marked down", func() bool { return !f.rt.Upstreams()[1].Up })
	if st := f.rt.Upstreams()[0]; !st.Up {
		t.Errorf("live upstream %+v, want up", st)
	}
	if st := f.rt.Upstreams()[1]; !strings.Contains(st.LastError, "refused") {
		t.Errorf("dead upstream last error %q, want connection refused", st.LastError)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestProxyRunWithoutHealthPath(t *testing.T) {
	rt, err := New(routeConfig("127.0.0.1:1"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Run(t.Context()); err != nil {
		t.Errorf("Run without health.path: %v, want nil at once", err)
	}
}

// TestProxyPassiveCooldown: a refused connection takes the upstream out
// for passive_cooldown, then it is tried again.
func TestProxyPassiveCooldown(t *testing.T) {
	a := newBackend(t, "a", nil)
	dead := deadAddr(t)
	clock := newFakeClock()
	f := newFront(t, routeConfig(dead, a.addr()), nil)
	f.rt.now = clock.now
	for range 10 {
		res, body := f.get(t, "/api/x")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET: %d %s, want 200 (retried on a)", res.StatusCode, body)
		}
	}
	st := f.rt.Upstreams()[0]
	if st.Up || st.Requests != 1 || !strings.Contains(st.LastError, "refused") || !st.Since.Equal(clock.now()) {
		t.Fatalf("dead upstream %+v, want down since now after exactly 1 attempt, error refused", st)
	}
	clock.advance(9 * time.Second)
	if f.rt.Upstreams()[0].Up {
		t.Fatal("up again before the cool-down ended")
	}
	clock.advance(2 * time.Second)
	st = f.rt.Upstreams()[0]
	if !st.Up || !st.Since.Equal(clock.now().Add(-time.Second)) {
		t.Fatalf("after the cool-down: %+v, want up since the cool-down ran out", st)
	}
	for range 2 {
		f.get(t, "/api/x")
	}
	if n := f.rt.Upstreams()[0].Requests; n != 2 {
		t.Errorf("dead upstream tried %d times in all, want 2 (once more after the cool-down)", n)
	}
}

func TestProxyPassiveCooldownEndsOnSuccess(t *testing.T) {
	a := newBackend(t, "a", nil)
	clock := newFakeClock()
	f := newFront(t, routeConfig(a.addr()), nil)
	f.rt.now = clock.now
	u := f.rt.upstreams[0]
	if !u.refused(errors.New("connection reset"), clock.now(), 10*time.Second) {
		t.Fatal("refused on an available upstream should report a transition")
	}
	if f.rt.Upstreams()[0].Up {
		t.Fatal("up during its cool-down")
	}
	clock.advance(time.Second)
	// A single upstream is used even in its cool-down (panic mode); when it
	// answers, the cool-down ends.
	if res, body := f.get(t, "/api/x"); res.StatusCode != http.StatusOK {
		t.Fatalf("GET: %d %s", res.StatusCode, body)
	}
	if st := f.rt.Upstreams()[0]; !st.Up || !st.Since.Equal(clock.now()) {
		t.Errorf("after a served request: %+v, want up since now", st)
	}
}

func TestProxyPanicModeTriesDownUpstreams(t *testing.T) {
	a, b := newBackend(t, "a", nil), newBackend(t, "b", nil)
	f := newFront(t, routeConfig(a.addr(), b.addr()), nil)
	for _, u := range f.rt.upstreams {
		u.down.Store(true)
		u.check.up = false
	}
	if res, body := f.get(t, "/api/x"); res.StatusCode != http.StatusOK {
		t.Fatalf("all upstreams marked down: %d %s, want them tried anyway", res.StatusCode, body)
	}
}
