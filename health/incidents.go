package health

import (
	"context"
	"sync"

	"github.com/gitcourse/edge/health/alert"
)

// Incidents decides which instance notifies: with several instances
// watching the same checks (a cluster), OpenIncident returns true on exactly one
// of them when a check goes down, and ResolveIncident true on exactly one when it
// is up again everywhere. nil in Options: this instance alone notifies
// every transition.
type Incidents interface {
	OpenIncident(ctx context.Context, check string) (bool, error)
	ResolveIncident(ctx context.Context, check string) (bool, error)
}

// incidentEvent is one down/resolved/repeat message waiting for the
// incident table's verdict.
type incidentEvent struct {
	check string
	msg   alert.Message
}

// incidentQueue serialises the verdicts so that a check's "down" is
// decided before its "resolved" (the table is in PostgreSQL: no call is
// made under a check's lock).
type incidentQueue struct {
	ch     chan incidentEvent
	mu     sync.Mutex
	opened map[string]bool // checks whose incident this instance notified
}

func newIncidentQueue() *incidentQueue {
	return &incidentQueue{ch: make(chan incidentEvent, 256), opened: map[string]bool{}}
}

// notify sends m now without Incidents, or queues it for the verdict.
func (m *Monitor) notify(check string, msg alert.Message) {
	if m.opts.Incidents == nil {
		m.alerts.Enqueue(msg)
		return
	}
	select {
	case m.incidents.ch <- incidentEvent{check: check, msg: msg}:
	default:
		m.log.Error("incident queue full; alert sent without asking the cluster", "check", check)
		m.alerts.Enqueue(msg)
	}
}

// runIncidents asks the incident table about each queued event until ctx
// ends. A table that cannot answer means the alert is sent anyway: a
// duplicate beats silence.
func (m *Monitor) runIncidents(ctx context.Context) {
	if m.opts.Incidents == nil {
		return
	}
	q := m.incidents
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-q.ch:
			m.decide(ctx, ev)
		}
	}
}

func (m *Monitor) decide(ctx context.Context, ev incidentEvent) {
	q := m.incidents
	send, err := true, error(nil)
	switch ev.msg.Event {
	case eventDown:
		send, err = m.opts.Incidents.OpenIncident(ctx, ev.check)
		q.mu.Lock()
		q.opened[ev.check] = send || err != nil
		q.mu.Unlock()
	case eventResolved:
		send, err = m.opts.Incidents.ResolveIncident(ctx, ev.check)
		q.mu.Lock()
		delete(q.opened, ev.check)
		q.mu.Unlock()
	case eventRepeat:
		q.mu.Lock()
		send = q.opened[ev.check] // reminders come from the instance that notified
		q.mu.Unlock()
	}
	if err != nil {
		m.log.Warn("incident table unavailable; notifying from this instance", "check", ev.check, "error", err)
		send = true
	}
	if !send {
		m.log.Info("alert left to another instance of the cluster", "check", ev.check, "event", ev.msg.Event)
		return
	}
	m.alerts.Enqueue(ev.msg)
}
