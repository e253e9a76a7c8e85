package health

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestMachine(t *testing.T) {
	bad := errors.New("status 502")
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		runs    string // f: failed run, o: passed run
		changes string // what each run did: "." nothing, "D" went down, "U" came up
	}{
		{"down after 3 failures", "ffff", "..D."},
		{"a pass resets the count", "ffoffoff", "........"},
		{"up after 2 passes", "fffoo", "..D.U"},
		{"a failure resets the passes", "fffofoo", "..D...U"},
		// Failing again within FlapWindow of recovering doubles the passes
		// needed: 2, then 4, then 8.
		{"flapping is damped", "fffoo" + "fffoooo" + "fffoooooooo", "..D.U" + "..D...U" + "..D.......U"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMachine(3, 2)
			var got strings.Builder
			for i, r := range tt.runs {
				var err error
				if r == 'f' {
					err = bad
				}
				at := t0.Add(time.Duration(i) * time.Minute)
				switch changed := m.observe(at, err); {
				case !changed:
					got.WriteByte('.')
				case m.up:
					got.WriteByte('U')
				default:
					got.WriteByte('D')
				}
			}
			if got.String() != tt.changes {
				t.Errorf("runs %s: got %s, want %s", tt.runs, got.String(), tt.changes)
			}
		})
	}
}

func TestMachineCalmsDownAfterFlapWindow(t *testing.T) {
	bad := errors.New("x")
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	m := newMachine(1, 2)
	m.observe(t0, bad)
	m.observe(t0.Add(time.Minute), nil)
	m.observe(t0.Add(2*time.Minute), nil) // up
	m.observe(t0.Add(3*time.Minute), bad) // a flap: 4 needed
	if m.needed() != 4 {
		t.Fatalf("needed %d after a flap, want 4", m.needed())
	}
	for i := range 4 {
		m.observe(t0.Add(time.Duration(4+i)*time.Minute), nil)
	}
	if !m.up {
		t.Fatal("not up after 4 passes")
	}
	m.observe(t0.Add(FlapWindow+time.Hour), bad) // long after: calm
	if m.needed() != 2 {
		t.Errorf("needed %d after a calm hour, want 2", m.needed())
	}
	if m.downErr != "x" || !m.since.Equal(t0.Add(FlapWindow+time.Hour)) {
		t.Errorf("down state: %q since %v", m.downErr, m.since)
	}
}
