package health

import (
	"fmt"
	"strings"
	"time"

	"github.com/gitcourse/edge/health/alert"
)

// Events of the alerts a check raises.
const (
	eventDown     = alert.EventDown
	eventRepeat   = alert.EventRepeat
	eventResolved = alert.EventResolved
	eventWarn     = alert.EventWarn
)

// message writes the alert for event on c at time at; callers hold c.mu.
func (m *Monitor) message(c *check, event string, at time.Time) alert.Message {
	host := m.opts.Host
	since := c.m.since
	msg := alert.Message{Event: event, Check: c.Name, Host: host, Since: since, LastError: c.m.lastErr, At: at}
	var b strings.Builder
	switch event {
	case eventDown:
		msg.Title = fmt.Sprintf("[edge] DOWN: %s on %s", c.Name, host)
		fmt.Fprintf(&b, "%s (%s) is DOWN on %s since %s.\n", c.Name, c.Kind, host, stamp(since))
		fmt.Fprintf(&b, "Last error: %s\n", c.m.lastErr)
		fmt.Fprintf(&b, "It failed %d runs in a row (every %s).", c.m.failRun, c.Interval)
	case eventRepeat:
		msg.Title = fmt.Sprintf("[edge] STILL DOWN: %s on %s", c.Name, host)
		fmt.Fprintf(&b, "%s (%s) is still DOWN on %s, since %s (%s).\n", c.Name, c.Kind, host, stamp(since), ago(at, since))
		fmt.Fprintf(&b, "Last error: %s", c.m.lastErr)
	case eventResolved:
		down := c.m.recoveredFrom
		msg.Title = fmt.Sprintf("[edge] RESOLVED: %s on %s", c.Name, host)
		msg.OK = true
		fmt.Fprintf(&b, "%s (%s) is up again on %s: resolved at %s", c.Name, c.Kind, host, stamp(at))
		if !down.IsZero() {
			fmt.Fprintf(&b, ", down since %s (%s)", stamp(down), ago(at, down))
		}
		fmt.Fprintf(&b, ".\nLast error was: %s", c.m.lastErr)
		msg.Since = down
	case eventWarn:
		msg.Title = fmt.Sprintf("[edge] WARNING: %s on %s", c.Name, host)
		msg.OK = true
		msg.LastError = c.lastErr
		fmt.Fprintf(&b, "%s (%s) passes with a warning on %s:\n%s", c.Name, c.Kind, host, c.lastErr)
	}
	msg.Text = b.String()
	return msg
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "start-up"
	}
	return t.UTC().Format("2006-01-02 15:04:05 MST")
}

func ago(now, then time.Time) string {
	if then.IsZero() {
		return "since start-up"
	}
	return "for " + now.Sub(then).Round(time.Second).String()
}
