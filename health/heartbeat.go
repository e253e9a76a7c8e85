package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gitcourse/edge/config"
)

// heartbeatTimeout bounds one ping.
const heartbeatTimeout = 10 * time.Second

// heartbeat pings a dead man's switch while nothing is down, and another
// URL after each successful backup.
type heartbeat struct {
	url, backupURL string
	interval       time.Duration
	client         *http.Client
	log            *slog.Logger
	backup         chan struct{}
}

func newHeartbeat(a config.Alerts, client *http.Client, log *slog.Logger) heartbeat {
	return heartbeat{url: a.HeartbeatURL.Reveal(), backupURL: a.BackupHeartbeatURL.Reveal(),
		interval: a.HeartbeatInterval.Duration, client: client, log: log, backup: make(chan struct{}, 1)}
}

// backupDone asks run to ping the backup URL; it never blocks.
func (h *heartbeat) backupDone() {
	select {
	case h.backup <- struct{}{}:
	default:
	}
}

// run pings until ctx ends: url every interval while healthy reports
// true, backupURL on each backupDone.
func (h *heartbeat) run(ctx context.Context, healthy func() bool) {
	if h.url == "" && h.backupURL == "" {
		return
	}
	var tick <-chan time.Time
	if h.url != "" && h.interval > 0 {
		t := time.NewTicker(h.interval)
		defer t.Stop()
		tick = t.C
	}
	failing := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			if healthy() {
				h.report(failing, "heartbeat", Ping(ctx, h.client, h.url))
			}
		case <-h.backup:
			if h.backupURL != "" {
				h.report(failing, "backup heartbeat", Ping(ctx, h.client, h.backupURL))
			}
		}
	}
}

// report logs the first failure of a streak and the recovery.
func (h *heartbeat) report(failing map[string]bool, what string, err error) {
	switch {
	case err != nil && !failing[what]:
		failing[what] = true
		h.log.Warn(what+" ping failed (logged once until it works again)", "error", err)
	case err == nil && failing[what]:
		failing[what] = false
		h.log.Info(what + " ping works again")
	}
}

// Ping sends a GET to rawURL (a dead man's switch) and expects a 2xx
// answer within heartbeatTimeout. Errors never contain the URL.
func Ping(ctx context.Context, client *http.Client, rawURL string) error {
	ctx, cancel := context.WithTimeout(ctx, heartbeatTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return errors.New("ping: invalid URL")
	}
	req.Header.Set("User-Agent", "edge-heartbeat")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("ping: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("ping: answer %s", resp.Status)
	}
	return nil
}
