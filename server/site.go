package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/gitcourse/edge/accesslog"
	"github.com/gitcourse/edge/admin"
	"github.com/gitcourse/edge/clientaddr"
	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/limits"
	"github.com/gitcourse/edge/proxy"
	"github.com/gitcourse/edge/reqid"
	"github.com/gitcourse/edge/secheaders"
	"github.com/gitcourse/edge/static"
	"github.com/gitcourse/edge/tlsmgr"
)

// site is everything built from one configuration. A reload builds a new
// site and swaps it in atomically; requests in flight finish on the old one.
type site struct {
	cfg     *config.Config
	main    http.Handler // the HTTPS listener (or HTTP when HTTPS is off)
	port80  http.Handler // the HTTP listener when HTTPS is on
	static  *static.Handler
	routes  []*proxy.Route
	limits  *limits.Set
	trusted *clientaddr.Trusted
	logSink io.Closer
	workers workers
}

// route is one longest-prefix entry of the router.
type route struct {
	prefix  string
	name    string
	handler http.Handler
}

// buildSite wires the request path, written once here:
//
//	request id → client address → recover → security headers → /healthz
//	(answered here, not logged) → access log → host check → limits (bans,
//	[[limit]]) → slow-body guard → router (admin.path, longest [[route]]
//	prefix, static)
//
// /healthz comes after the headers so that it, too, carries them.
func buildSite(cfg *config.Config, log *slog.Logger, stdout io.Writer, obs *observer, snap admin.Snapshot, httpsPort string, mgr *tlsmgr.Manager, prevLimits *limits.Set) (*site, error) {
	s := &site{cfg: cfg}
	st, err := static.New(static.Options{
		Root: cfg.Site.Root, SPA: cfg.Site.SPAEnabled(), Immutable: cfg.Site.Immutable,
		Compress: cfg.Site.Compress, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	s.static = st
	trusted := clientaddr.NewTrusted(cfg.Server.TrustedNetworks())
	s.trusted = trusted
	routes, err := s.buildRoutes(cfg, log, obs, snap)
	if err != nil {
		s.close()
		return nil, err
	}
	if s.limits, err = buildLimits(cfg, log, routes, prevLimits); err != nil {
		s.close()
		return nil, err
	}
	headers, err := secheaders.Middleware(cfg.Headers)
	if err != nil {
		s.close()
		return nil, err
	}
	w, closer, err := accesslog.Open(cfg.Server.AccessLog, stdout)
	if err != nil {
		s.close()
		return nil, err
	}
	s.logSink = closer
	reqLog := accessLogger(w, obs.ship)
	hs := newHosts(cfg.Site.Domains, cfg.Site.Canonical)
	common := []Middleware{reqid.Trusting(trusted.Peer), clientaddr.Middleware(trusted), recoverer(log), headers, healthz, accesslog.Middleware(reqLog, obs.observe), tooEarly(cfg.Server.HTTP30RTT)}
	s.main = Chain(router(routes, st), append(common, hs.check, s.limits.Middleware, minBodyRate)...)
	port80 := hs.httpsRedirect(httpsPort)
	if mgr != nil {
		port80 = mgr.HTTPHandler(port80) // ACME HTTP-01 before the redirect
	}
	s.port80 = Chain(port80, common...)
	return s, nil
}

func (s *site) buildRoutes(cfg *config.Config, log *slog.Logger, obs *observer, snap admin.Snapshot) ([]route, error) {
	users := map[string]string{}
	for u, h := range cfg.Admin.Users {
		users[u] = h.Reveal()
	}
	guard, err := admin.NewGuard(cfg.Admin.Allow, users, cfg.Admin.Token.Reveal())
	if err != nil {
		return nil, fmt.Errorf("build admin guard: %w", err)
	}
	routes := []route{{prefix: cfg.Admin.Path, name: "admin", handler: guard.Wrap(admin.Handler(cfg.Admin.Path, snap, obs.metrics.Handler()))}}
	for _, rc := range cfg.Routes {
		p, err := proxy.New(rc, proxy.Options{Logger: log, Waited: obs.waited(rc.Path), Drains: obs.drains})
		if err != nil {
			return nil, err
		}
		s.routes = append(s.routes, p)
		routes = append(routes, route{prefix: rc.Path, name: rc.Path, handler: p})
	}
	sort.SliceStable(routes, func(i, j int) bool { return len(routes[i].prefix) > len(routes[j].prefix) })
	return routes, nil
}

// router sends a request to the longest matching prefix, else to static.
// The admin prefix matches itself and everything under "prefix/".
func router(routes []route, static http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		for _, rt := range routes {
			if matchPrefix(p, rt.prefix) {
				accesslog.SetRoute(w, rt.name)
				rt.handler.ServeHTTP(w, r)
				return
			}
		}
		accesslog.SetRoute(w, "static")
		static.ServeHTTP(w, r)
	})
}

func matchPrefix(path, prefix string) bool {
	if strings.HasSuffix(prefix, "/") {
		return strings.HasPrefix(path, prefix) || path == strings.TrimSuffix(prefix, "/")
	}
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// start runs the site's workers (the proxy health checks) until close.
func (s *site) start(ctx context.Context, log *slog.Logger) {
	for _, p := range s.routes {
		s.workers.run(ctx, log, "health checks of route "+p.Path(), p.Run)
	}
	s.workers.run(ctx, log, "expired bans sweeper", s.limits.Run)
}

// close releases what the site holds; requests still in flight keep working.
func (s *site) close() {
	s.workers.stop()
	for _, p := range s.routes {
		p.Close()
	}
	if s.logSink != nil {
		_ = s.logSink.Close()
	}
}

// portOf returns the port of a listen address or listener.
func portOf(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return port
}

// workers runs a site's background loops; stop cancels and waits for them.
type workers struct {
	mu      sync.Mutex
	ctx     context.Context
	cancel  context.CancelFunc
	stopped bool
	wg      sync.WaitGroup
}

// run starts fn under a context derived from parent that stop cancels; an
// error is logged. After stop it does nothing.
func (w *workers) run(parent context.Context, log *slog.Logger, name string, fn func(context.Context) error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	if w.cancel == nil {
		w.ctx, w.cancel = context.WithCancel(parent)
	}
	ctx := w.ctx
	w.wg.Go(func() {
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			log.Error("worker stopped", "worker", name, "error", err)
		}
	})
}

// stop cancels the workers and waits until they have returned.
func (w *workers) stop() {
	w.mu.Lock()
	w.stopped = true
	if w.cancel != nil {
		w.cancel()
	}
	w.mu.Unlock()
	w.wg.Wait()
}
