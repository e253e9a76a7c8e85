package sysd

import (
	"context"
	"log/slog"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// WatchdogInterval returns how often to pet the watchdog (half of
// WATCHDOG_USEC), or 0 when systemd set no watchdog for this process.
func WatchdogInterval() time.Duration {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil || d <= 0 {
		return 0
	}
	return d / 2
}

// RunWatchdog pets the watchdog every interval, but only after alive
// reports the process healthy within the interval: a wedged serving loop
// or supervisor stops the pets and systemd restarts edge. It returns when
// ctx ends. With interval 0 it just waits for ctx.
func RunWatchdog(ctx context.Context, interval time.Duration, alive func(context.Context) error, n *Notifier, log *slog.Logger) error {
	if interval <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, interval*8/10)
		err := alive(cctx)
		cancel()
		switch {
		case err == nil:
			n.Watchdog()
			if failing {
				log.Info("watchdog: liveness recovered")
			}
			failing = false
		case ctx.Err() != nil:
			return nil
		case !failing:
			log.Error("watchdog: liveness check failed; not petting", "error", err)
			failing = true
		}
	}
}
