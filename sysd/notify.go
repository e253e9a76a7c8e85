package sysd

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier sends sd_notify messages. Its zero value is not usable; use
// NewNotifier. All methods are no-ops outside systemd.
type Notifier struct {
	log *slog.Logger
}

// NewNotifier returns a notifier that logs send failures to log.
func NewNotifier(log *slog.Logger) *Notifier {
	if log == nil {
		log = slog.Default()
	}
	return &Notifier{log: log.With("component", "sysd")}
}

func (n *Notifier) send(lines ...string) {
	if _, err := daemon.SdNotify(false, strings.Join(lines, "\n")); err != nil {
		n.log.Warn("sd_notify", "error", err)
	}
}

// Ready says the service is up (READY=1) with a status line.
func (n *Notifier) Ready(status string) { n.send(daemon.SdNotifyReady, "STATUS="+oneLine(status)) }

// Reloading says a reload started (RELOADING=1 with MONOTONIC_USEC).
func (n *Notifier) Reloading() {
	n.send(daemon.SdNotifyReloading, daemon.SdNotifyMonotonicUsec(), "STATUS=reloading configuration")
}

// Stopping says shutdown started (STOPPING=1).
func (n *Notifier) Stopping() { n.send(daemon.SdNotifyStopping, "STATUS=draining connections") }

// Status updates the one-line status systemctl shows.
func (n *Notifier) Status(status string) { n.send("STATUS=" + oneLine(status)) }

// ExtendTimeout asks systemd for more start-up (or stop) time.
func (n *Notifier) ExtendTimeout(d time.Duration) {
	n.send(fmt.Sprintf("EXTEND_TIMEOUT_USEC=%d", d.Microseconds()))
}

// Watchdog pets the watchdog (WATCHDOG=1).
func (n *Notifier) Watchdog() { n.send(daemon.SdNotifyWatchdog) }

func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }
