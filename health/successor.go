package health

import (
	"context"
	"sync"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/health/history"
)

// historyRef shares one open uptime history between a monitor and the
// successors a reload builds; the files close with the last holder.
type historyRef struct {
	mu sync.Mutex
	n  int
	h  *history.Store
}

// openHistory opens the history in dir, or shares prev's when prev is set.
func openHistory(prev *Monitor, dir string, ho history.Options) (*history.Store, *historyRef, error) {
	if prev != nil {
		prev.ref.mu.Lock()
		defer prev.ref.mu.Unlock()
		prev.ref.n++
		return prev.ref.h, prev.ref, nil
	}
	h, err := history.Open(dir, ho)
	if err != nil {
		return nil, nil, err
	}
	return h, &historyRef{n: 1, h: h}, nil
}

// release drops one holder and closes the files after the last one.
func (r *historyRef) release() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n--
	if r.n > 0 {
		return nil
	}
	return r.h.Close()
}

// lifecycle lets a reload stop a monitor's checks while its queued
// alerts are still delivered.
type lifecycle struct {
	retireOnce sync.Once
	retire     chan struct{} // closed by Retire
	checksDone chan struct{} // closed by Run once no check runs any more
}

func newLifecycle() lifecycle {
	return lifecycle{retire: make(chan struct{}), checksDone: make(chan struct{})}
}

// Successor builds the monitor that replaces m after a reload: the checks,
// alert channels and heartbeats of cfg, on m's uptime history (shared, not
// reopened). It starts nothing and changes nothing in m. Call Adopt(m)
// once m's checks have stopped (see Retire), then Run; or Close it
// unused when the reload is abandoned.
func (m *Monitor) Successor(cfg *config.Config, opts Options) (*Monitor, error) {
	opts.prev = m
	return New(cfg, opts)
}

// Retire stops m for a successor: its checks stop at once (a run in
// progress ends without a result), and the alerts already queued are
// still delivered, with their retries, before Run returns; the context
// given to Run still bounds that. ChecksStopped is closed when no check
// of m runs any more.
func (m *Monitor) Retire() { m.life.retireOnce.Do(func() { close(m.life.retire) }) }

// ChecksStopped is closed once Run's checks have all returned.
func (m *Monitor) ChecksStopped() <-chan struct{} { return m.life.checksDone }

// checksContext is ctx, also cancelled by Retire.
func (m *Monitor) checksContext(ctx context.Context) (context.Context, context.CancelFunc) {
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-m.life.retire:
			cancel()
		case <-cctx.Done():
		}
	}()
	return cctx, cancel
}

// Adopt carries the state of every check of old that m has too (by
// name) into m: up or down and since when, the failed or passed runs in a
// row, the last alert (so a check still down is not alerted again, and
// alerts.repeat keeps its rhythm), the warning and the counters. m's own
// thresholds apply from the next run. Checks of old that m does not have
// are dropped from the registry: they stop without resolving anything.
// Call it after old's checks stopped and before m runs.
func (m *Monitor) Adopt(old *Monitor) {
	byName := make(map[string]*check, len(old.checks))
	for _, c := range old.checks {
		byName[c.Name] = c
	}
	for _, c := range m.checks {
		o, ok := byName[c.Name]
		if !ok {
			continue
		}
		delete(byName, c.Name)
		o.mu.Lock()
		c.mu.Lock()
		failures, successes := c.m.failures, c.m.successes
		c.m = o.m
		c.m.failures, c.m.successes = failures, successes
		c.ran, c.lastRun, c.duration, c.lastErr = o.ran, o.lastRun, o.duration, o.lastErr
		c.lastAlert, c.warned, c.runs, c.failures = o.lastAlert, o.warned, o.runs, o.failures
		m.publish(c)
		c.mu.Unlock()
		o.mu.Unlock()
	}
	for name := range byName {
		m.opts.Registry.RemoveCheck(name)
	}
	// The cluster's open incidents and the events still waiting for a
	// verdict carry over too (old's runIncidents has returned).
	m.incidents = old.incidents
}
