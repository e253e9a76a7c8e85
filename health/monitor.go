package health

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/health/alert"
	"github.com/gitcourse/edge/health/history"
	"github.com/gitcourse/edge/status"
)

// Options are what the caller provides besides the config. The sources of
// the built-in checks are functions, so that health imports none of the
// packages it watches; a nil source turns its checks off.
type Options struct {
	// Logger receives transitions and errors; nil means slog.Default().
	Logger *slog.Logger
	// Registry receives every check's state and every alert; nil: a new one.
	Registry *status.Registry
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Host names this machine in alerts; "" means os.Hostname().
	Host string
	// Certificates returns when each domain's certificate expires.
	Certificates func() map[string]time.Time
	// Backup returns the backup worker's state.
	Backup func() status.Backup
	// BackupRemote returns the off-site copy's state (nil: not reported).
	BackupRemote func() *status.RemoteBackup
	// Upstreams returns a route's upstreams as the proxy sees them.
	Upstreams func(route string) []status.Upstream
	// Traffic reads a route's request counters.
	Traffic TrafficFunc
	// HTTPClient sends HTTP checks; nil means NewHTTPClient().
	HTTPClient *http.Client
	// Targets replaces the channels of cfg.Alerts (tests).
	Targets []alert.Target
	// Alert tunes the dispatcher; its Logger, Registry and Now are set
	// from these Options.
	Alert alert.Options
	// HistoryDir holds the uptime history; "" means {state_dir}/history.
	HistoryDir string
	// History tunes the history store; its Now and Logger are set from
	// these Options.
	History history.Options
	// Specs are run besides the configured checks.
	Specs []Spec
	// Incidents, when set, decides which instance of a cluster notifies
	// each incident; nil: this instance notifies every transition.
	Incidents Incidents

	prev *Monitor // set by Successor: share its history
}

// Monitor runs the checks, keeps their history and sends the alerts.
type Monitor struct {
	opts    Options
	log     *slog.Logger
	repeat  time.Duration
	checks  []*check
	alerts  *alert.Dispatcher
	history *history.Store
	ref     *historyRef // the history's holders (successor.go)
	beat    heartbeat
	life    lifecycle
	// incidents queues alerts for the cluster's verdict (Options.Incidents).
	incidents *incidentQueue
}

// New builds the monitor for cfg and loads the history. It starts no
// goroutines; Run does.
func New(cfg *config.Config, opts Options) (*Monitor, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Registry == nil {
		opts.Registry = status.New()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Host == "" {
		opts.Host, _ = os.Hostname()
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = NewHTTPClient()
	}
	log := opts.Logger.With("component", "health")
	m := &Monitor{opts: opts, log: log, repeat: cfg.Alerts.Repeat.Duration, life: newLifecycle(),
		incidents: newIncidentQueue()}
	targets := opts.Targets
	if targets == nil {
		targets = alert.FromConfig(cfg.Alerts, nil)
	}
	ao := opts.Alert
	ao.Logger, ao.Registry, ao.Now = opts.Logger, opts.Registry, opts.Now
	m.alerts = alert.NewDispatcher(targets, ao)
	dir := opts.HistoryDir
	if dir == "" {
		dir = filepath.Join(cfg.Server.StateDir, "history")
	}
	ho := opts.History
	ho.Now, ho.Logger = opts.Now, opts.Logger
	h, ref, err := openHistory(opts.prev, dir, ho)
	if err != nil {
		return nil, fmt.Errorf("open uptime history: %w", err)
	}
	m.history, m.ref = h, ref
	m.beat = newHeartbeat(cfg.Alerts, opts.HTTPClient, log)
	seen := map[string]bool{}
	for _, s := range append(Specs(cfg, opts), opts.Specs...) {
		if seen[s.Name] {
			_ = ref.release()
			return nil, fmt.Errorf("health check %q defined twice", s.Name)
		}
		seen[s.Name] = true
		m.checks = append(m.checks, m.newCheck(s))
	}
	return m, nil
}

// newCheck prepares a check and restores a down state from the history,
// so that a restart neither forgets an outage nor alerts it twice.
func (m *Monitor) newCheck(s Spec) *check {
	c := &check{Spec: s, m: newMachine(s.Failures, s.Successes)}
	if t, ok := m.history.Last(s.Name); ok && !t.Up {
		c.m.restore(t.At, t.Error)
		c.lastAlert = m.opts.Now()
		c.lastErr = t.Error
		m.publish(c)
	}
	return c
}

// Run runs every check, the history sampler, the heartbeat and the alert
// channels until ctx ends or Retire is called. It returns nil.
func (m *Monitor) Run(ctx context.Context) error {
	cctx, stop := m.checksContext(ctx)
	defer stop()
	var alerts, wg sync.WaitGroup
	alerts.Go(func() { _ = m.alerts.Serve(ctx, m.life.checksDone) })
	for _, c := range m.checks {
		wg.Go(func() { m.loop(cctx, c) })
	}
	wg.Go(func() { m.sampleLoop(cctx) })
	wg.Go(func() { m.beat.run(cctx, m.healthy) })
	wg.Go(func() { m.runIncidents(cctx) })
	m.log.Info("health checks running", "checks", len(m.checks), "channels", m.alerts.Channels())
	wg.Wait()
	close(m.life.checksDone)
	alerts.Wait()
	return nil
}

// Close releases the history files (shared with a successor, they close
// with the last monitor); call it after Run has returned, or instead.
func (m *Monitor) Close() error { return m.ref.release() }

// History is the uptime history: Uptime(check, window), Strip24h(check),
// Transitions(check, since).
func (m *Monitor) History() *history.Store { return m.history }

// Uptime returns the percentage of the last window during which check was
// up, or -1 without data.
func (m *Monitor) Uptime(check string, window time.Duration) float64 {
	return m.history.Uptime(check, window)
}

// Strip24h returns the last 24 hours of check as bars, oldest first.
func (m *Monitor) Strip24h(check string) []history.Sample { return m.history.Strip24h(check) }

// Alerts is the dispatcher, for "edge notify"-like direct sends.
func (m *Monitor) Alerts() *alert.Dispatcher { return m.alerts }

// BackupSucceeded pings alerts.backup_heartbeat_url, when set, without
// waiting; the backup worker calls it after each successful backup.
func (m *Monitor) BackupSucceeded() { m.beat.backupDone() }

// CheckStats is one check's counters, for metrics.
type CheckStats struct {
	// Name is the check's name.
	Name string `json:"name"`
	// Kind is the check's kind.
	Kind string `json:"kind"`
	// Up is the current state (true before the first run).
	Up bool `json:"up"`
	// Runs counts the runs, Failures the failed ones.
	Runs uint64 `json:"runs"`
	// Failures counts the failed runs.
	Failures uint64 `json:"failures"`
	// LastDuration is how long the last run took.
	LastDuration time.Duration `json:"last_duration_ns"`
}

// Stats is what the metrics exporter reads: per check and per channel.
type Stats struct {
	// Checks are in configuration order.
	Checks []CheckStats `json:"checks"`
	// Channels count alerts sent, failed and dropped per channel.
	Channels []alert.ChannelStats `json:"channels"`
}

// Stats returns the current counters.
func (m *Monitor) Stats() Stats {
	s := Stats{Channels: m.alerts.Stats()}
	for _, c := range m.checks {
		c.mu.Lock()
		s.Checks = append(s.Checks, CheckStats{Name: c.Name, Kind: c.Kind, Up: c.m.up, Runs: c.runs,
			Failures: c.failures, LastDuration: c.duration})
		c.mu.Unlock()
	}
	return s
}

// healthy reports whether no check is down.
func (m *Monitor) healthy() bool {
	for _, c := range m.checks {
		c.mu.Lock()
		up := c.m.up
		c.mu.Unlock()
		if !up {
			return false
		}
	}
	return true
}
