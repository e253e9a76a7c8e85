package health

import "time"

// FlapWindow is how soon after recovering a check must fail again to count
// as flapping. Each flap doubles the passed runs needed to come back up
// (up to 8 times Successes); a check up for longer than FlapWindow is
// calm again.
const FlapWindow = time.Hour

// maxFlapShift caps the doubling: at most 8 × Successes.
const maxFlapShift = 3

// machine turns run results into up/down states. The zero value is not
// ready; use newMachine.
type machine struct {
	failures, successes int // thresholds

	up        bool
	since     time.Time // when the current state began (zero: since start)
	failRun   int       // failed runs in a row
	okRun     int       // passed runs in a row
	lastErr   string    // the newest error
	downErr   string    // the error that took the check down
	flaps     int       // recent flaps, for damping
	recovered time.Time // the last down→up transition
	// recoveredFrom is when the outage that the last recovery ended began.
	recoveredFrom time.Time
}

func newMachine(failures, successes int) machine {
	return machine{failures: max(failures, 1), successes: max(successes, 1), up: true}
}

// needed is how many passed runs in a row bring the check back up now.
func (m *machine) needed() int { return m.successes << min(m.flaps, maxFlapShift) }

// observe records one run at time at and reports whether the state changed.
func (m *machine) observe(at time.Time, err error) bool {
	if err != nil {
		m.lastErr = err.Error()
		m.failRun++
		m.okRun = 0
		if m.up && m.failRun >= m.failures {
			if !m.recovered.IsZero() && at.Sub(m.recovered) < FlapWindow {
				m.flaps++
			} else {
				m.flaps = 0
			}
			m.up, m.since, m.downErr = false, at, m.lastErr
			return true
		}
		return false
	}
	m.okRun++
	m.failRun = 0
	if !m.up && m.okRun >= m.needed() {
		m.recoveredFrom = m.since
		m.up, m.since, m.recovered = true, at, at
		return true
	}
	return false
}

// restore starts the machine down since at (from the history).
func (m *machine) restore(at time.Time, errText string) {
	m.up, m.since, m.lastErr, m.downErr = false, at, errText, errText
}
