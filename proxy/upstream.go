package proxy

import (
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// UpstreamState is a read-only snapshot of one upstream, for the status
// page and metrics (edge_upstream_up).
type UpstreamState struct {
	// Addr is the upstream's "host:port".
	Addr string
	// Up reports whether the load balancer currently sends it requests.
	Up bool
	// LastError is the last failed probe or connection, "" when none.
	LastError string
	// Since is when Up last changed (or when the route was built).
	Since time.Time
	// Requests counts the requests sent to it, retries included.
	Requests uint64
	// Failures counts the requests that found it unreachable.
	Failures uint64
}

// upstream is one backend with its active and passive health.
//
// The hot path reads only the atomics: down (the active verdict) and
// coolUntil (the end of the passive cool-down, in Unix nanoseconds; 0 for
// none). The rest is guarded by mu.
type upstream struct {
	addr      string
	url       *url.URL
	down      atomic.Bool
	coolUntil atomic.Int64
	requests  atomic.Uint64
	failures  atomic.Uint64
	inflight  atomic.Int64 // requests sent and not yet answered in full

	mu          sync.Mutex
	check       healthCheck
	activeSince time.Time
	coolSince   time.Time
	lastErr     string
}

func newUpstream(u *url.URL, now time.Time) *upstream {
	return &upstream{addr: u.Host, url: u, activeSince: now, check: healthCheck{up: true}}
}

// available reports whether the load balancer may choose u at now (Unix
// nanoseconds).
func (u *upstream) available(now int64) bool {
	return !u.down.Load() && now >= u.coolUntil.Load()
}

// healthCheck is the active-check state machine: it flips to down after
// unhealthy consecutive failures and back up after healthy consecutive
// successes. It starts up, so that traffic flows before the first probe.
type healthCheck struct {
	up      bool
	okRun   int
	failRun int
}

// observe records one probe result and reports whether the state flipped.
func (h *healthCheck) observe(ok bool, healthy, unhealthy int) bool {
	if ok {
		h.okRun++
		h.failRun = 0
		if !h.up && h.okRun >= healthy {
			h.up = true
			return true
		}
		return false
	}
	h.failRun++
	h.okRun = 0
	if h.up && h.failRun >= unhealthy {
		h.up = false
		return true
	}
	return false
}

// probed records an active probe result; it reports whether u's active
// state flipped and what it is now. A success also ends a passive
// cool-down: the upstream demonstrably accepts connections again.
func (u *upstream) probed(err error, now time.Time, healthy, unhealthy int) (flipped, up bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	flipped = u.check.observe(err == nil, healthy, unhealthy)
	if err != nil {
		u.lastErr = err.Error()
	} else if until := u.coolUntil.Swap(0); until != 0 {
		u.cooledDown(until, now)
	}
	if flipped {
		u.activeSince = now
		u.down.Store(!u.check.up)
	}
	return flipped, u.check.up
}

// refused records a connection that could not be made or was reset. With
// a positive cooldown u is skipped until then; it reports whether u was
// available before (a transition worth logging).
func (u *upstream) refused(err error, now time.Time, cooldown time.Duration) bool {
	u.failures.Add(1)
	u.mu.Lock()
	defer u.mu.Unlock()
	u.lastErr = err.Error()
	if cooldown <= 0 {
		return false
	}
	wasAvailable := u.available(now.UnixNano())
	u.coolUntil.Store(now.Add(cooldown).UnixNano())
	if wasAvailable {
		u.coolSince = now
	}
	return wasAvailable
}

// served records a completed exchange: a cool-down in progress ends early.
// It reports whether one did.
func (u *upstream) served(now time.Time) bool {
	until := u.coolUntil.Load()
	if until == 0 || !u.coolUntil.CompareAndSwap(until, 0) {
		return false
	}
	u.mu.Lock()
	u.cooledDown(until, now)
	u.mu.Unlock()
	return until > now.UnixNano()
}

// cooledDown records, with mu held, when the cool-down that was to last
// until ended: now when cut short, else when it ran out.
func (u *upstream) cooledDown(until int64, now time.Time) {
	if until > now.UnixNano() {
		u.coolSince = now
	} else {
		u.coolSince = time.Unix(0, until)
	}
}

// state returns the snapshot of u at now.
func (u *upstream) state(now time.Time) UpstreamState {
	u.mu.Lock()
	defer u.mu.Unlock()
	st := UpstreamState{Addr: u.addr, LastError: u.lastErr, Requests: u.requests.Load(), Failures: u.failures.Load()}
	cool := u.coolUntil.Load()
	switch {
	case !u.check.up:
		st.Since = u.activeSince
	case cool > now.UnixNano():
		st.Since = u.coolSince
	default:
		st.Up = true
		st.Since = u.activeSince
		if u.coolSince.After(st.Since) {
			st.Since = u.coolSince // came back from a cool-down
		}
		if ran := time.Unix(0, cool); cool != 0 && ran.After(st.Since) {
			st.Since = ran // a cool-down ran out and nothing has cleared it yet
		}
	}
	return st
}

// Upstreams returns a snapshot of every upstream, in configuration order.
func (rt *Route) Upstreams() []UpstreamState {
	now := rt.now()
	out := make([]UpstreamState, len(rt.upstreams))
	for i, u := range rt.upstreams {
		out[i] = u.state(now)
	}
	return out
}

// pick returns the next available upstream in round-robin order. When none
// is available it returns one anyway (panic mode): a dead upstream fails
// fast, a revived one serves before the checks notice.
func (rt *Route) pick() *upstream {
	n := uint64(len(rt.upstreams))
	start := rt.next.Add(1) - 1
	if n == 1 {
		return rt.upstreams[0]
	}
	now := rt.now().UnixNano()
	for i := range n {
		if u := rt.upstreams[(start+i)%n]; u.available(now) && !rt.drained(u) {
			return u
		}
	}
	for i := range n { // none available: one that is not drained
		if u := rt.upstreams[(start+i)%n]; !rt.drained(u) {
			return u
		}
	}
	return rt.upstreams[start%n]
}

// pickOther returns an available upstream other than not, or nil.
func (rt *Route) pickOther(not *upstream) *upstream {
	n := uint64(len(rt.upstreams))
	start := rt.next.Add(1) - 1
	now := rt.now().UnixNano()
	for i := range n {
		if u := rt.upstreams[(start+i)%n]; u != not && u.available(now) && !rt.drained(u) {
			return u
		}
	}
	return nil
}
