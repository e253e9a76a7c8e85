package logship

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"
)

// connState is the collector's reachability as the sender sees it.
type connState struct {
	mu        sync.Mutex
	connected bool
	since     time.Time // of the current state (down: since the first failure)
	lastErr   string
	lastSent  time.Time
}

func (c *connState) init(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.since = now
}

// up records a connection; it reports whether that is a change.
func (c *connState) up(now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	changed := !c.connected
	if changed {
		c.connected, c.since = true, now
	}
	return changed
}

// down records a failure; it reports whether that is a change (the
// first failure after being connected).
func (c *connState) down(now time.Time, err error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	changed := c.connected
	if changed {
		c.connected, c.since = false, now
	}
	c.lastErr = err.Error()
	return changed
}

func (c *connState) sent(now time.Time) {
	c.mu.Lock()
	c.lastSent = now
	c.mu.Unlock()
}

// State is the sink's state for the status page and the alert.
type State struct {
	// Remote is the collector URL.
	Remote string `json:"remote"`
	// Connected reports whether a connection to the collector is open.
	Connected bool `json:"connected"`
	// Since is when the current state began; for a collector that was
	// never reached, when edge started.
	Since time.Time `json:"since"`
	// LastError is the last connection or send error.
	LastError string `json:"last_error,omitempty"`
	// LastSent is when lines were last written to the collector.
	LastSent time.Time `json:"last_sent,omitzero"`
	// Shipped, Dropped and SpooledBytes are the counters of Stats.
	Shipped      uint64 `json:"shipped"`
	Dropped      uint64 `json:"dropped"`
	SpooledBytes int64  `json:"spooled_bytes"`
	// AlertAfter is how long the collector may be away before the alert.
	AlertAfter time.Duration `json:"alert_after_ns"`
}

// State copies the sink's state.
func (s *Shipper) State() State {
	st := s.Stats()
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	return State{Remote: s.cfg.Remote, Connected: s.state.connected, Since: s.state.since,
		LastError: s.state.lastErr, LastSent: s.state.lastSent, Shipped: st.Shipped, Dropped: st.Dropped,
		SpooledBytes: st.SpooledBytes, AlertAfter: s.cfg.AlertAfter.Duration}
}

// Check is the "logs" health check: it fails once the collector has been
// unreachable for longer than alert_after.
func (s *Shipper) Check() error {
	st := s.State()
	if st.Connected {
		return nil
	}
	away := s.opts.Now().Sub(st.Since)
	if away < st.AlertAfter {
		return nil
	}
	return fmt.Errorf("log collector %s unreachable for %s (%d bytes spooled, %d lines dropped): %s",
		st.Remote, away.Round(time.Second), st.SpooledBytes, st.Dropped, st.LastError)
}

func splitHost(addr string) (host string, port int, err error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	return h, n, err
}
