package proxy

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/reqid"
)

// Backoff between the attempts of a waiting request: short at first (a
// restarting uvicorn is usually back within a second), doubling up to
// maxWaitBackoff, like Caddy's lb_try_interval.
const (
	firstWaitBackoff = 20 * time.Millisecond
	maxWaitBackoff   = 250 * time.Millisecond
)

// errTooManyWaiting is returned when retry_max_waiting requests of the
// route are already waiting for an upstream; the client gets 503.
var errTooManyWaiting = errors.New("too many requests waiting for an upstream (retry_max_waiting)")

// WaitStats counts the requests of a route that waited within
// retry_window because no upstream accepted their connection.
type WaitStats struct {
	// Waiting is how many requests are waiting now.
	Waiting int64
	// Served counts the requests that waited and were then sent.
	Served uint64
	// Expired counts the requests that waited the whole window (502).
	Expired uint64
	// Rejected counts the requests refused because retry_max_waiting were
	// already waiting (503).
	Rejected uint64
	// Gone counts the waiting requests whose client went away.
	Gone uint64
}

// retryWindow is the route's retry_window state: its length, the cap on
// waiting requests and their counters. Requests that wait are still inside
// the handler, so an in-flight limit in front of the proxy (max_in_flight)
// counts them; the cap here bounds them even without one.
type retryWindow struct {
	window  time.Duration
	max     int64
	waiting atomic.Int64
	served  atomic.Uint64
	expired atomic.Uint64
	reject  atomic.Uint64
	gone    atomic.Uint64
	log     logLimiter
	notify  func(outcome string) // Options.Waited; nil for none
}

// configure sets the window and the cap from the route's configuration,
// and the hook told how each wait ended.
func (w *retryWindow) configure(rc config.Route, notify func(outcome string)) {
	w.window, w.max, w.notify = rc.RetryWindow.Duration, int64(rc.RetryMaxWaiting), notify
	if w.max < 1 {
		w.max = config.DefaultRetryMaxWaiting
	}
}

// ended counts a wait that ended with outcome and tells the hook.
func (w *retryWindow) ended(c *atomic.Uint64, outcome string) {
	c.Add(1)
	if w.notify != nil {
		w.notify(outcome)
	}
}

// WaitStats returns the route's retry_window counters.
func (rt *Route) WaitStats() WaitStats {
	w := &rt.retry
	return WaitStats{Waiting: w.waiting.Load(), Served: w.served.Load(), Expired: w.expired.Load(),
		Rejected: w.reject.Load(), Gone: w.gone.Load()}
}

// waiter is one request's wait: when it ends and the next backoff. It
// holds one of the route's waiting slots from its first wait to release.
type waiter struct {
	rw       *retryWindow
	deadline time.Time
	backoff  time.Duration
	started  time.Time
	attempts int
	holding  bool
	// resent marks a wait after a connection failed once the request was
	// sent (an idempotent request resent), not one that could not connect.
	resent bool
	// resends counts the times an idempotent request was sent again.
	resends int
}

// maxResendsInWindow caps how often an idempotent request that reached an
// upstream is sent again within retry_window, so that an upstream which
// drops every request does not receive each one many times over.
const maxResendsInWindow = 3

func maxResends(windowOn bool) int {
	if windowOn {
		return maxResendsInWindow
	}
	return 1
}

// wait sleeps before the next attempt after cause (a failed attempt). It
// returns cause, wrapped, once the window is over; errTooManyWaiting when
// the route's waiting requests are at their cap; the context's error when
// the client went away.
func (w *waiter) wait(ctx context.Context, cause error) error {
	rw := w.rw
	now := time.Now()
	if !w.holding {
		if rw.window <= 0 {
			return cause
		}
		if rw.waiting.Add(1) > rw.max {
			rw.waiting.Add(-1)
			rw.ended(&rw.reject, "rejected")
			return fmt.Errorf("%w: %w", errTooManyWaiting, cause)
		}
		w.holding, w.started, w.deadline, w.backoff = true, now, now.Add(rw.window), firstWaitBackoff
	}
	left := w.deadline.Sub(now)
	if left <= 0 {
		rw.ended(&rw.expired, "expired")
		return fmt.Errorf("no upstream accepted a connection within retry_window %s (%d attempts): %w",
			rw.window, w.attempts+1, cause)
	}
	t := time.NewTimer(min(w.backoff, left))
	defer t.Stop()
	select {
	case <-ctx.Done():
		rw.ended(&rw.gone, "gone")
		return fmt.Errorf("client went away while waiting for an upstream: %w", ctx.Err())
	case <-t.C:
	}
	w.backoff = min(2*w.backoff, maxWaitBackoff)
	w.attempts++
	return nil
}

// release gives the waiting slot back; after a success it records that
// the request was served after waiting.
func (w *waiter) release(rt *Route, req *http.Request, u *upstream, ok bool) {
	if !w.holding {
		return
	}
	w.holding = false
	w.rw.waiting.Add(-1)
	if !ok {
		return
	}
	w.rw.ended(&w.rw.served, "served")
	if w.resent {
		// Not a retry_window wait: an idempotent request resent after its
		// connection failed (a restarting upstream closing it).
		rt.log.Debug("served after resending a request whose connection failed", "upstream", u.addr,
			"waited", time.Since(w.started).Round(time.Millisecond).String(), "request_id", reqid.From(req.Context()))
		return
	}
	if w.rw.log.allow(rt.now()) {
		rt.log.Info("served after waiting for an upstream", "upstream", u.addr,
			"waited", time.Since(w.started).Round(time.Millisecond).String(), "retries", w.attempts,
			"request_id", reqid.From(req.Context()), "similar_suppressed", w.rw.log.takeSuppressed())
	}
}

// exchange sends req to the upstream rewrite chose and retries it:
//   - a connection that could not be opened (nothing was sent) is tried at
//     once on another available upstream, then, with retry_window set,
//     again on whichever is available after a short backoff until one
//     accepts or the window ends; any method, since nothing was sent;
//   - a connection that failed after sending (reset, closed) is retried
//     only for an idempotent request whose body was not read: at once on
//     another available upstream, else after a wait; once without
//     retry_window, up to maxResendsInWindow times within it.
//
// The body is wrapped so that a failed attempt does not close it; it is
// never read before a connection exists.
func (rt *Route) exchange(req *http.Request) (*http.Response, error) {
	u := rt.byAddr[req.URL.Host]
	var body *onceBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &onceBody{rc: req.Body}
		first := *req
		first.Body = body
		req = &first
	}
	w := waiter{rw: &rt.retry}
	for attempt := 0; ; attempt++ {
		if u == nil { // not one of ours: rewrite always picks from the route
			return nil, errors.New("upstream " + req.URL.Host + " is not in route " + rt.path)
		}
		if at := rt.enter(u); at != u {
			req, u = rt.retarget(req, at, body), at
		}
		res, err := rt.send(u, req)
		leave(u, res, err)
		if err == nil {
			w.release(rt, req, u, true)
			return res, nil
		}
		next, err := rt.nextAttempt(req, body, u, err, attempt, &w)
		if next == nil {
			w.release(rt, req, u, false)
			return nil, err
		}
		req, u = rt.retarget(req, next, body), next
	}
}

// nextAttempt decides after a failed attempt: the upstream to try next, or
// nil and the error to answer with. It may wait (see waiter.wait).
func (rt *Route) nextAttempt(req *http.Request, body *onceBody, u *upstream, err error,
	attempt int, w *waiter) (*upstream, error) {
	if req.Context().Err() != nil || body.wasRead() {
		return nil, err
	}
	windowOn := rt.retry.window > 0
	switch {
	case isDialError(err) && (windowOn || idempotent(req)):
	case isConnFailure(err) && idempotent(req) && w.resends < maxResends(windowOn):
		// An idempotent request may be sent again: once, or with
		// retry_window on up to maxResendsInWindow times, since a
		// stopping upstream can reset several connections in a row.
		w.resends++
		w.resent = w.resent || !w.holding
	default:
		return nil, err
	}
	if attempt == 0 && len(rt.upstreams) > 1 {
		if alt := rt.pickOther(u); alt != nil {
			rt.log.Debug("retrying on another upstream", "upstream", u.addr, "retry", alt.addr, "error", err)
			return alt, nil
		}
	}
	if werr := w.wait(req.Context(), err); werr != nil {
		return nil, werr
	}
	return rt.pick(), nil
}

// retarget returns req addressed to u, with the original body.
func (rt *Route) retarget(req *http.Request, u *upstream, body *onceBody) *http.Request {
	next := *req
	next.URL = cloneURL(req.URL)
	next.URL.Host = u.addr
	if !rt.passHost {
		next.Host = ""
	}
	if body != nil {
		next.Body = body
	}
	return &next
}

// handleError answers a request refused by the waiting cap with 503 and
// Retry-After; every other failure goes to errorHandler.
func (rt *Route) handleError(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, errTooManyWaiting) || r.Context().Err() != nil {
		rt.errorHandler(w, r, err)
		return
	}
	if rt.retry.log.allow(rt.now()) {
		rt.log.Warn("too many requests waiting for an upstream", "max", rt.retry.max, "error", err,
			"request_id", reqid.From(r.Context()), "similar_suppressed", rt.retry.log.takeSuppressed())
	}
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(rt.retry.window.Seconds())))))
	writeError(w, r, http.StatusServiceUnavailable)
}
