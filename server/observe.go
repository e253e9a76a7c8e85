package server

import (
	"context"
	"runtime/debug"
	"time"

	"github.com/gitcourse/edge/logship"
	"github.com/gitcourse/edge/metrics"
	"github.com/gitcourse/edge/proxy"
	"github.com/gitcourse/edge/status"
)

// feedEvery is how often the registry's certificates and upstreams are
// refreshed without anyone asking (alerts and STATUS= read them too).
const feedEvery = 10 * time.Second

// observer is what observation keeps across reloads: the metrics (their
// counters must not reset when the config is reloaded) and the wake-up of
// the registry feeder.
type observer struct {
	metrics *metrics.Metrics
	kick    chan struct{}
	// drains are the upstreams out of rotation (edge upstream drain),
	// kept across reloads like the counters.
	drains *proxy.Drains
	ship   *logship.Shipper // the access log's second output; nil without [logs]
}

// newObserver builds the metrics; their gauges read s's registry, made
// current first, at every scrape.
func newObserver(s *Server) *observer {
	o := &observer{
		metrics: metrics.New(metrics.Options{Version: s.opts.Version, State: s.observedSnapshot}),
		kick:    make(chan struct{}, 1),
		drains:  &proxy.Drains{},
		ship:    s.ship,
	}
	if s.ship != nil {
		registerLogMetrics(o.metrics.Registry(), s.ship)
	}
	return o
}

// observe is the access log's Observer: every finished request.
func (o *observer) observe(route string, code int, d time.Duration) {
	o.metrics.Observe(route, code, d)
}

// waited returns the proxy's retry_window hook of a route: it counts
// edge_upstream_waits_total{route,outcome}.
func (o *observer) waited(route string) func(outcome string) {
	return func(outcome string) { o.metrics.Waited(route, outcome) }
}

// reloaded wakes the feeder so that the registry follows a new config at
// once (domains and routes may have changed).
func (o *observer) reloaded() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// feedRegistry keeps the registry's certificates (from tlsmgr) and
// upstreams (from the proxy routes) current until ctx ends: every
// feedEvery and after each reload. Backups and checks are written by
// their own workers.
func (s *Server) feedRegistry(ctx context.Context) error {
	t := time.NewTicker(feedEvery)
	defer t.Stop()
	for {
		s.safeRefresh()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.obs.kick:
		}
	}
}

// safeRefresh is refreshRegistry with a panic logged, not fatal.
func (s *Server) safeRefresh() {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("status feeder panic", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	s.refreshRegistry()
}

// refreshRegistry copies the current upstreams and certificates into the
// registry, replacing those of a previous config.
func (s *Server) refreshRegistry() {
	var ups []status.Upstream
	for _, p := range s.site.Load().routes {
		for _, u := range p.Upstreams() {
			ups = append(ups, status.Upstream{Route: p.Path(), Addr: u.Addr, Up: u.Up, Since: u.Since, LastError: u.LastError})
		}
	}
	s.registry.ReplaceUpstreams(ups)
	var certs []status.Certificate
	if m := s.tls.Load(); m != nil {
		for _, c := range m.Certificates() {
			certs = append(certs, status.Certificate{Domain: c.Domain, Source: c.Source, Issuer: c.Issuer,
				NotAfter: c.NotAfter, NextRenewal: c.NextRenewal, Error: c.Error})
		}
	}
	s.registry.ReplaceCertificates(certs)
	s.registry.SetLimits(s.site.Load().limits.Snapshot())
}

// observedSnapshot refreshes the registry and copies it: what the status
// page and the metrics show is never older than the request.
func (s *Server) observedSnapshot() status.Snapshot {
	s.refreshRegistry()
	return s.registry.Snapshot()
}

// Metrics returns edge's metrics (the Prometheus registry and the request
// ring).
func (s *Server) Metrics() *metrics.Metrics { return s.obs.metrics }
