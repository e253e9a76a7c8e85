package health

import (
	"context"
	"errors"
	"time"
)

// Checker is one probe. Check returns nil when the target is healthy, an
// error saying what is wrong otherwise, or Warn(err) to pass with a
// warning. It must honour ctx, whose deadline is the check's timeout.
type Checker interface {
	Check(ctx context.Context) error
}

// CheckFunc adapts a function to Checker.
type CheckFunc func(ctx context.Context) error

// Check calls f.
func (f CheckFunc) Check(ctx context.Context) error { return f(ctx) }

// Spec describes one check the Monitor runs.
type Spec struct {
	// Name identifies the check (alerts, metrics, history).
	Name string
	// Kind is "http", "tcp", "postgres", "disk", "traffic", "cert",
	// "backup" or "upstream".
	Kind string
	// Checker probes the target.
	Checker Checker
	// Interval is the time between runs.
	Interval time.Duration
	// Timeout bounds one run; it is capped at 80% of Interval.
	Timeout time.Duration
	// Failures is how many failed runs in a row take the check down.
	Failures int
	// Successes is how many passed runs in a row bring it back up.
	Successes int
}

// runTimeout is the time limit of one run: Timeout, at most 80% of
// Interval, so that a slow run ends before the next one is due.
func (s Spec) runTimeout() time.Duration {
	limit := s.Interval * 8 / 10
	if s.Timeout <= 0 || s.Timeout > limit {
		return limit
	}
	return s.Timeout
}

// warning marks an error that does not fail the check.
type warning struct{ err error }

func (w warning) Error() string { return w.err.Error() }
func (w warning) Unwrap() error { return w.err }

// Warn marks err as a warning: the check passes, and one "warn" alert is
// sent when the warning starts.
func Warn(err error) error {
	if err == nil {
		return nil
	}
	return warning{err}
}

// IsWarning reports whether err was marked with Warn.
func IsWarning(err error) bool {
	var w warning
	return errors.As(err, &w)
}
