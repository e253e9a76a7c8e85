package server

import (
	"time"

	"github.com/gitcourse/edge/backupjob"
	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/health"
	"github.com/gitcourse/edge/proxy"
	"github.com/gitcourse/edge/status"
)

// newMonitor builds the health monitor for cfg; with prev (a reload),
// as its successor on the same uptime history. It starts nothing.
func (s *Server) newMonitor(cfg *config.Config, prev *health.Monitor) (*health.Monitor, error) {
	opts := s.healthOptions(cfg)
	if prev != nil {
		return prev.Successor(cfg, opts)
	}
	return health.New(cfg, opts)
}

// newWorkers builds the reloadable workers of cfg: the backup job now
// (a bad [backup] fails New), the health monitor when Run starts them.
func (s *Server) newWorkers(cfg *config.Config) (*reloadables, error) {
	w := &reloadables{log: s.log, registry: s.registry, monitor: s.newMonitor, boot: cfg,
		publish: func(m *health.Monitor) { s.health.Store(m) },
		jobOpts: backupjob.Options{Logger: s.opts.Logger, Status: s.registry, Claim: s.backupClaim(),
			OnSuccess: func() {
				if m := s.health.Load(); m != nil {
					m.BackupSucceeded()
				}
				s.backupSucceeded()
				s.backupSucceededInCluster()
			}}}
	job, err := w.newBackupJob(cfg)
	if err != nil {
		return nil, err
	}
	w.job, w.jobCfg = job, cfg.Backup
	return w, nil
}

// healthOptions are the sources the health monitor reads.
func (s *Server) healthOptions(cfg *config.Config) health.Options {
	opts := health.Options{
		Logger:       s.opts.Logger,
		Registry:     s.registry,
		Backup:       s.backupState,
		BackupRemote: func() *status.RemoteBackup { return s.registry.Snapshot().BackupRemote },
		Upstreams:    s.routeUpstreams,
		Traffic:      s.routeTraffic,
		Specs:        s.logSpecs(),
		Incidents:    s.incidents(),
	}
	// The internal CA issues 7-day leaves and renews them itself: the
	// expiry thresholds (warn at 21 days, fail at 7) fit ACME and files only.
	if s.httpsLn != nil && !cfg.TLS.Internal {
		opts.Certificates = func() map[string]time.Time {
			if m := s.tls.Load(); m != nil {
				return m.Expiry()
			}
			return nil
		}
	}
	return opts
}

// Health returns the health monitor (uptime history, stats, the backup
// hook), or nil before Run or when it could not start.
func (s *Server) Health() *health.Monitor { return s.health.Load() }

// route returns the current site's proxy for a route path, or nil.
func (s *Server) route(path string) *proxy.Route {
	for _, p := range s.site.Load().routes {
		if p.Path() == path {
			return p
		}
	}
	return nil
}

// routeUpstreams reports a route's upstreams as the proxy sees them.
func (s *Server) routeUpstreams(path string) []status.Upstream {
	p := s.route(path)
	if p == nil {
		return nil
	}
	var out []status.Upstream
	for _, u := range p.Upstreams() {
		out = append(out, status.Upstream{Route: path, Addr: u.Addr, Up: u.Up, Since: u.Since, LastError: u.LastError})
	}
	return out
}

// routeTraffic reads a configured route's request counters for the
// traffic checks from the metrics, the one place requests are counted.
func (s *Server) routeTraffic(path string) (health.Counters, bool) {
	if s.route(path) == nil {
		return health.Counters{}, false
	}
	t := s.obs.metrics.RouteTotals(path)
	return health.Counters{Requests: t.Requests, Errors: t.Errors, Bounds: t.Bounds, Buckets: t.Buckets}, true
}
