package server

import (
	"context"
	"time"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/health"
	"github.com/gitcourse/edge/proxy"
	"github.com/gitcourse/edge/status"
	"golang.org/x/sync/errgroup"
)

// startHealth builds the health monitor from the running configuration and
// runs it in g until ctx ends; the history files are closed when it
// returns. A monitor that cannot start (an unwritable state_dir) is logged
// and the site keeps serving without it. Health settings apply at start:
// a reload does not change them.
func (s *Server) startHealth(g *errgroup.Group, ctx context.Context) {
	st := s.site.Load()
	opts := s.healthOptions(st.cfg)
	mon, err := health.New(st.cfg, opts)
	if err != nil {
		s.log.Error("health checks and alerts are off", "error", err)
		return
	}
	s.health.Store(mon)
	g.Go(func() error {
		defer mon.Close()
		return mon.Run(ctx)
	})
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
