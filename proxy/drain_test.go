package proxy

import (
	"net/http"
	"testing"
	"time"
)

// TestDrain: a drained upstream gets no new request (also from a reload,
// which shares the set), its in-flight count falls to 0 when the request
// it holds ends, and enabling it brings it back.
func TestDrain(t *testing.T) {
	release := make(chan struct{})
	slow := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/slow" {
			<-release
		}
		echoHandler("a")(w, r)
	})
	b := newBackend(t, "b", nil)
	drains := &Drains{}
	rc := routeConfig(slow.addr(), b.addr())
	rt, err := New(rc, Options{Drains: drains})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	f := &front{rt: rt, srv: newHTTPTestServer(t, rt)}

	// One slow request held at a (round robin starts there).
	held := f.send(newRequest(t, http.MethodGet, f.srv.URL+"/api/slow", nil))
	waitFor(t, 5*time.Second, "the slow request at a", func() bool { return slow.hits.Load() == 1 && rt.InFlight(slow.addr()) == 1 })
	drains.Set(slow.addr(), true)
	if rt.Serving() != 1 {
		t.Errorf("Serving() = %d, want 1", rt.Serving())
	}
	before := slow.hits.Load()
	for range 6 {
		r := receive(t, f.send(newRequest(t, http.MethodPost, f.srv.URL+"/api/x", nil)), 5*time.Second)
		if r.code != http.StatusOK || decodeEcho(t, r.body).Upstream != "b" {
			t.Fatalf("%d %s, want 200 from b while a drains", r.code, r.body)
		}
	}
	if n := slow.hits.Load() - before; n != 0 {
		t.Errorf("drained upstream got %d new requests, want 0", n)
	}
	if n := rt.InFlight(slow.addr()); n != 1 {
		t.Errorf("in flight at a = %d, want the held request", n)
	}
	close(release)
	if r := receive(t, held, 5*time.Second); r.code != http.StatusOK {
		t.Errorf("held request: %d, want 200 (a drain lets it finish)", r.code)
	}
	waitFor(t, 5*time.Second, "a's in-flight count to fall to 0", func() bool { return rt.InFlight(slow.addr()) == 0 })

	again, err := New(rc, Options{Drains: drains}) // a reload keeps the drain
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(again.Close)
	g := &front{rt: again, srv: newHTTPTestServer(t, again)}
	for range 4 {
		if _, body := g.get(t, "/api/x"); decodeEcho(t, body).Upstream != "b" {
			t.Fatalf("after a reload: %s, want b", body)
		}
	}
	drains.Set(slow.addr(), false)
	seen := map[string]int{}
	for range 4 {
		_, body := f.get(t, "/api/x")
		seen[decodeEcho(t, body).Upstream]++
	}
	if seen["a"] == 0 || seen["b"] == 0 {
		t.Errorf("after enable: %v, want both upstreams used", seen)
	}
}

// TestDrainMovesToDownUpstream: a request that was routed to an upstream
// just before its drain moves to another one even when the checks hold
// that one down (it may be back already); it stays only when every other
// upstream is drained too.
func TestDrainMovesToDownUpstream(t *testing.T) {
	drains := &Drains{}
	rt, err := New(routeConfig("127.0.0.1:8000", "127.0.0.1:8001"), Options{Drains: drains})
	if err != nil {
		t.Fatal(err)
	}
	a, b := rt.byAddr["127.0.0.1:8000"], rt.byAddr["127.0.0.1:8001"]
	a.down.Store(true)
	drains.Set(b.addr, true)
	if got := rt.enter(b); got != a || a.inflight.Load() != 1 || b.inflight.Load() != 0 {
		t.Errorf("enter(drained b) = %s (in flight a %d, b %d), want a counted", got.addr, a.inflight.Load(), b.inflight.Load())
	}
	drains.Set(a.addr, true)
	if got := rt.enter(b); got != b {
		t.Errorf("enter(b) with both drained = %s, want b", got.addr)
	}
}
