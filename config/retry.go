package config

import "time"

// Bounds of the [[route]] retry_window keys.
const (
	// DefaultRetryWindow is retry_window when the file leaves it out.
	DefaultRetryWindow = 5 * time.Second
	// DefaultRetryMaxWaiting is retry_max_waiting when the file leaves it out.
	DefaultRetryMaxWaiting = 1024
	// maxRetryWindow bounds retry_window: longer, a client has long given up.
	maxRetryWindow = 5 * time.Minute
	// maxRetryMaxWaiting bounds retry_max_waiting (each waiting request holds
	// a goroutine and its client connection).
	maxRetryMaxWaiting = 1_000_000
)

// applyRetryDefaults fills retry_window and retry_max_waiting unless
// written (a written "0s" turns waiting off and stays).
func (r *Route) applyRetryDefaults(pos positions, key string) {
	if !pos.has(key + ".retry_window") {
		setDuration(&r.RetryWindow, DefaultRetryWindow)
	}
	if !pos.has(key + ".retry_max_waiting") {
		setDefault(&r.RetryMaxWaiting, DefaultRetryMaxWaiting)
	}
}

// retryWindow checks the route's retry_window and retry_max_waiting.
func (v *validator) retryWindow(key string, r Route) {
	if err := r.RetryWindow.check(); err != nil {
		v.fail(key+".retry_window", err)
	} else if d := r.RetryWindow.Duration; d < 0 || d > maxRetryWindow {
		v.failf(key+".retry_window", ErrInvalidValue,
			"%s (fix: a duration from \"0s\" (no waiting) to \"5m\", such as \"5s\")", d)
	}
	if n := r.RetryMaxWaiting; n < 1 || n > maxRetryMaxWaiting {
		v.failf(key+".retry_max_waiting", ErrInvalidValue,
			"%d (fix: a count from 1 to %d; to not wait at all set retry_window = \"0s\")", n, maxRetryMaxWaiting)
	}
}
