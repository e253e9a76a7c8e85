package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gitcourse/edge/reqid"
)

// StatusClientClosed is logged (never sent) when the client went away
// before the upstream answered, as nginx does.
const StatusClientClosed = 499

// errorMessages are the fixed client-facing texts; causes stay in the log.
var errorMessages = map[int]string{
	http.StatusBadRequest:            "bad request",
	http.StatusBadGateway:            "upstream unavailable",
	http.StatusGatewayTimeout:        "upstream timeout",
	http.StatusRequestEntityTooLarge: "request body too large",
	http.StatusServiceUnavailable:    "too many requests waiting for the upstream",
}

// errorHandler maps a failed exchange to 413, 499 (client gone), 504 or
// 502. r is the outgoing request; its context is the incoming one's.
func (rt *Route) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	code := classify(r.Context(), err)
	if code == StatusClientClosed {
		w.WriteHeader(code)
		return
	}
	if code != http.StatusRequestEntityTooLarge && code != http.StatusBadRequest && rt.errLog.allow(rt.now()) {
		rt.log.Warn(errorMessages[code], "upstream", r.URL.Host, "error", err,
			"request_id", reqid.From(r.Context()), "similar_suppressed", rt.errLog.takeSuppressed())
	}
	writeError(w, r, code)
}

// classify returns the status for a failed exchange.
func classify(ctx context.Context, err error) int {
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return StatusClientClosed
	case errors.As(err, new(*badRequestError)) || errors.As(err, new(*clientBodyError)):
		return http.StatusBadRequest
	case isDialError(err):
		return http.StatusBadGateway // including a connect timeout
	case isTimeout(err):
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// isTimeout reports whether err is a timeout waiting for the upstream.
func isTimeout(err error) bool {
	var ne net.Error
	return (errors.As(err, &ne) && ne.Timeout()) || errors.Is(err, context.DeadlineExceeded)
}

// writeError sends {"error": message, "request_id": id}; a 413 also closes
// the connection, since the unread body cannot be skipped cheaply.
func writeError(w http.ResponseWriter, r *http.Request, code int) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	if code == http.StatusRequestEntityTooLarge || code == http.StatusBadRequest {
		h.Set("Connection", "close")
	}
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(struct {
		Error     string `json:"error"`
		RequestID string `json:"request_id"`
	}{errorMessages[code], reqid.From(r.Context())})
}

// logLimiter lets one log line through per interval and counts the rest.
type logLimiter struct {
	next       atomic.Int64 // Unix nanoseconds
	suppressed atomic.Int64
}

// logEvery is the interval of logLimiter.
const logEvery = 5 * time.Second

// allow reports whether a line may be logged at now.
func (l *logLimiter) allow(now time.Time) bool {
	next := l.next.Load()
	if now.UnixNano() < next || !l.next.CompareAndSwap(next, now.Add(logEvery).UnixNano()) {
		l.suppressed.Add(1)
		return false
	}
	return true
}

// takeSuppressed returns and resets the count of lines not logged.
func (l *logLimiter) takeSuppressed() int64 { return l.suppressed.Swap(0) }
