// Package alert delivers alert messages over email (SMTP), the Telegram
// Bot API and a generic JSON webhook.
//
// Each channel sits behind a Dispatcher lane of its own: a bounded queue,
// a timeout per attempt and retries with capped exponential backoff, so a
// dead or hanging channel never blocks the checks or the other channels.
// The health monitor and "edge notify" both use it.
package alert

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Events a Message reports.
const (
	EventDown     = "down"     // a check went down
	EventRepeat   = "repeat"   // a check is still down after alerts.repeat
	EventResolved = "resolved" // a down check is up again
	EventWarn     = "warn"     // a check passes with a warning (a certificate expires soon)
	EventManual   = "manual"   // sent by "edge notify"
)

// Message is one alert. Channels render Title and Text; the webhook also
// sends the other fields as JSON.
type Message struct {
	// Event is one of the Event constants.
	Event string
	// OK reports whether the news is good (resolved, or "edge notify
	// -status ok").
	OK bool
	// Check is the check's name; "" for "edge notify".
	Check string
	// Title is a one-line summary (the email subject).
	Title string
	// Text is the body: what is down, since when, the last error, the host.
	Text string
	// Host is the machine that sends the alert.
	Host string
	// Since is when the check entered its current state; zero if unknown.
	Since time.Time
	// LastError is the check's last error; "" when none.
	LastError string
	// At is when the alert was raised.
	At time.Time
}

// Status is "ok" or "fail", as in "edge notify -status".
func (m Message) Status() string {
	if m.OK {
		return "ok"
	}
	return "fail"
}

// Channel delivers one message. Send must honour ctx (its deadline is the
// channel's timeout) and must not keep the message after returning.
type Channel interface {
	// Name identifies the channel in logs, metrics and the status page:
	// "email", "telegram" or "webhook".
	Name() string
	// Send delivers m once; the Dispatcher retries.
	Send(ctx context.Context, m Message) error
}

// permanentError marks a failure that retrying cannot fix (a rejected
// token, a 4xx answer).
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent wraps err so that the Dispatcher does not retry it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// oneLine makes s safe for a header or a single log line.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// Body returns the title and the text joined, for channels that have no
// separate subject.
func (m Message) Body() string {
	if m.Text == "" {
		return m.Title
	}
	return m.Title + "\n\n" + m.Text
}

// String names the message for logs.
func (m Message) String() string {
	return fmt.Sprintf("%s %s", m.Event, oneLine(m.Title))
}
