package health

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/gitcourse/edge/health/history"
	"github.com/gitcourse/edge/status"
)

// check is a Spec with its running state.
type check struct {
	Spec

	mu        sync.Mutex
	m         machine
	ran       bool
	lastRun   time.Time
	duration  time.Duration
	lastErr   string // the newest run's error (or warning); "" when it passed
	lastAlert time.Time
	warned    bool
	runs      uint64
	failures  uint64
}

// loop runs c every Interval (±5%), the first time after a random part of
// a tenth of it, until ctx ends.
func (m *Monitor) loop(ctx context.Context, c *check) {
	t := time.NewTimer(jitter(c.Interval/10, 0))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m.safeRun(ctx, c)
		t.Reset(jitter(c.Interval, c.Interval/20))
	}
}

// jitter returns a random duration in [0, d) when spread is 0, else in
// [d-spread, d+spread).
func jitter(d, spread time.Duration) time.Duration {
	if spread <= 0 {
		if d <= 0 {
			return 0
		}
		return rand.N(d)
	}
	return d - spread + rand.N(2*spread)
}

// safeRun is runOnce with a panic turned into a logged error, so that one
// broken check cannot stop the others or the process.
func (m *Monitor) safeRun(ctx context.Context, c *check) {
	defer func() {
		if r := recover(); r != nil {
			m.log.Error("health check panicked", "check", c.Name, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	m.runOnce(ctx, c)
}

// runOnce runs the checker once under its timeout and observes the result.
func (m *Monitor) runOnce(ctx context.Context, c *check) {
	timeout := c.runTimeout()
	rctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("no answer within %s", timeout))
	start := m.opts.Now()
	began := time.Now()
	err := callCheck(rctx, c.Checker)
	if err != nil && rctx.Err() != nil && ctx.Err() == nil && !errors.Is(err, context.Cause(rctx)) {
		err = fmt.Errorf("%w (%w)", err, context.Cause(rctx))
	}
	cancel()
	if ctx.Err() != nil {
		return // shutting down: the result says nothing about the target
	}
	m.observe(c, start, time.Since(began), err)
}

// callCheck calls the checker, turning a panic into an error.
func callCheck(ctx context.Context, ch Checker) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("check panicked: %v", r)
		}
	}()
	return ch.Check(ctx)
}

// observe feeds one result into c's state machine, then publishes,
// records and alerts what changed.
func (m *Monitor) observe(c *check, at time.Time, took time.Duration, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	warn := IsWarning(err)
	fail := err
	if warn {
		fail = nil
	}
	c.ran, c.lastRun, c.duration = true, at, took
	c.runs++
	c.lastErr = ""
	if err != nil {
		c.lastErr = err.Error()
	}
	if fail != nil {
		c.failures++
	}
	changed := c.m.observe(at, fail)
	m.publish(c)
	switch {
	case changed && !c.m.up:
		m.log.Warn("check down", "check", c.Name, "kind", c.Kind, "error", c.m.downErr, "failed_runs", c.m.failRun)
		m.transition(c, at, false, c.m.downErr)
		c.lastAlert = at
		m.notify(c.Name, m.message(c, eventDown, at))
	case changed:
		m.log.Info("check up", "check", c.Name, "kind", c.Kind, "down_since", c.m.recoveredFrom, "last_error", c.m.lastErr,
			"needed_runs", c.m.needed())
		m.transition(c, at, true, "")
		m.notify(c.Name, m.message(c, eventResolved, at))
	case !c.m.up && m.repeat > 0 && at.Sub(c.lastAlert) >= m.repeat:
		c.lastAlert = at
		m.notify(c.Name, m.message(c, eventRepeat, at))
	}
	switch {
	case warn && !c.warned && c.m.up:
		c.warned = true
		m.log.Warn("check warning", "check", c.Name, "kind", c.Kind, "warning", c.lastErr)
		m.alerts.Enqueue(m.message(c, eventWarn, at))
	case err == nil:
		c.warned = false
	}
}

func (m *Monitor) transition(c *check, at time.Time, up bool, errText string) {
	if err := m.history.Transition(c.Name, history.Transition{At: at, Up: up, Error: errText}); err != nil {
		m.log.Error("record transition in the uptime history", "check", c.Name, "error", err)
	}
}

// publish writes c's state to the registry; callers hold c.mu.
func (m *Monitor) publish(c *check) {
	m.opts.Registry.SetCheck(status.Check{Name: c.Name, Kind: c.Kind, Up: c.m.up, Since: c.m.since,
		LastRun: c.lastRun, Duration: c.duration, LastError: c.lastErr})
}

// sampleLoop writes a minute sample per check at the end of every minute.
func (m *Monitor) sampleLoop(ctx context.Context) {
	var lastLog time.Time
	for {
		now := m.opts.Now()
		next := now.Truncate(time.Minute).Add(time.Minute)
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		// The sample belongs to the minute that just ended.
		if err := m.sample(next.Add(-time.Second)); err != nil && time.Since(lastLog) > time.Hour {
			lastLog = time.Now()
			m.log.Error("write the uptime history (repeated errors are logged hourly)", "error", err)
		}
	}
}

// sample records, for every check that has run, whether it is up at at.
func (m *Monitor) sample(at time.Time) error {
	var first error
	for _, c := range m.checks {
		c.mu.Lock()
		ran, up := c.ran || !c.m.up, c.m.up
		c.mu.Unlock()
		if !ran {
			continue
		}
		if err := m.history.Record(c.Name, at, up); err != nil && first == nil {
			first = err
		}
	}
	return first
}
