package proxy

import (
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// Drains is the set of upstream addresses taken out of rotation by
// "edge upstream drain". One set is shared by every route and outlives
// reloads, so that a reload does not put a drained upstream back. It is
// safe for concurrent use; the zero value is an empty set.
type Drains struct {
	mu  sync.Mutex
	set atomic.Pointer[map[string]bool] // copy on write: read on every pick
}

// Set drains addr (on) or puts it back (off).
func (d *Drains) Set(addr string, on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	next := map[string]bool{}
	if cur := d.set.Load(); cur != nil {
		for a := range *cur {
			next[a] = true
		}
	}
	if on {
		next[addr] = true
	} else {
		delete(next, addr)
	}
	d.set.Store(&next)
}

// Has reports whether addr is drained.
func (d *Drains) Has(addr string) bool {
	if d == nil {
		return false
	}
	cur := d.set.Load()
	return cur != nil && (*cur)[addr]
}

// drained reports whether u is out of rotation.
func (rt *Route) drained(u *upstream) bool { return rt.drains.Has(u.addr) }

// HasUpstream reports whether addr ("host:port") is one of the route's
// upstreams.
func (rt *Route) HasUpstream(addr string) bool { return rt.byAddr[addr] != nil }

// Serving counts the route's upstreams that are not drained.
func (rt *Route) Serving() int {
	n := 0
	for _, u := range rt.upstreams {
		if !rt.drained(u) {
			n++
		}
	}
	return n
}

// InFlight is how many requests of the route are at addr now: sent and
// not yet answered in full (an upgraded connection counts until its
// response header only).
func (rt *Route) InFlight(addr string) int64 {
	if u := rt.byAddr[addr]; u != nil {
		return u.inflight.Load()
	}
	return 0
}

// enter counts a request at u, unless u is drained and another upstream
// is available: then it returns that one, counted instead. Counting before
// looking at the drain mark means a drain that sees no request in flight
// has also been seen by every later request.
func (rt *Route) enter(u *upstream) *upstream {
	u.inflight.Add(1)
	if !rt.drained(u) {
		return u
	}
	alt := rt.pickOther(u)
	if alt == nil {
		alt = rt.pickUndrained(u)
	}
	if alt == nil {
		return u // every other one is drained too: better than failing
	}
	u.inflight.Add(-1)
	alt.inflight.Add(1)
	return alt
}

// pickUndrained returns an upstream other than not that is not drained,
// available or not (a drain must not send requests to the drained one
// while the others are only marked down by their checks), or nil.
func (rt *Route) pickUndrained(not *upstream) *upstream {
	for _, u := range rt.upstreams {
		if u != not && !rt.drained(u) {
			return u
		}
	}
	return nil
}

// leave ends the count of a request at u when its response is over: at
// once on error or for an upgrade, else when the body is closed.
func leave(u *upstream, res *http.Response, err error) {
	if err != nil || res.StatusCode == http.StatusSwitchingProtocols || res.Body == nil {
		u.inflight.Add(-1)
		return
	}
	res.Body = &countedBody{ReadCloser: res.Body, u: u}
}

// countedBody ends its upstream's in-flight count when closed.
type countedBody struct {
	io.ReadCloser
	u    *upstream
	once sync.Once
}

// Close implements io.Closer.
func (b *countedBody) Close() error {
	b.once.Do(func() { b.u.inflight.Add(-1) })
	return b.ReadCloser.Close()
}
