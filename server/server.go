// Package server is the one place that wires edge together: it builds the
// request path from a validated config, owns the listeners, runs every
// worker under one errgroup, reloads the configuration atomically and
// drains on shutdown.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gitcourse/edge/admin"
	"github.com/gitcourse/edge/backupjob"
	"github.com/gitcourse/edge/cluster"
	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/health"
	"github.com/gitcourse/edge/logship"
	"github.com/gitcourse/edge/status"
	"github.com/gitcourse/edge/sysd"
	"github.com/gitcourse/edge/tlsmgr"
	"golang.org/x/sync/errgroup"
)

// HTTP server limits against slow or abusive clients.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
)

// Options are what the caller provides besides the config.
type Options struct {
	// Version is reported by the status page.
	Version string
	// Stdout receives logs when access_log is "stdout".
	Stdout io.Writer
	// Logger receives lifecycle events and errors.
	Logger *slog.Logger
	// Load re-reads the configuration on reload; nil disables reload.
	Load func() (*config.Config, error)
	// OnReady is called once all listeners serve.
	OnReady func(s *Server)
	// PlainHTTP serves the site on the HTTP listener even when HTTPS is on,
	// instead of redirecting (edge demo only).
	PlainHTTP bool
}

// Server runs edge for one configuration at a time.
type Server struct {
	opts    Options
	log     *slog.Logger
	started time.Time

	site   atomic.Pointer[site]
	tls    atomic.Pointer[tlsmgr.Manager]
	reload sync.Mutex
	runCtx context.Context // set by Run (under reload): sites start their workers under it

	httpLn, httpsLn net.Listener
	activated       map[string]bool // listeners passed by systemd
	control         *admin.Control
	reloads         atomic.Int64
	lastErr         atomic.Value // string
	notify          *sysd.Notifier
	work            *reloadables // backup job and health monitor (reload_workers.go)
	warnings        []string     // start-up self-check findings
	beat            atomic.Int64 // supervisor heartbeat, unix nanoseconds
	frozen          atomic.Bool  // test hook: wedge the serving loop
	registry        *status.Registry
	obs             *observer                      // metrics and the registry feeder (server/observe.go)
	health          atomic.Pointer[health.Monitor] // set by Run (server/health.go)
	offsite         offsite                        // [backup.remote] (server/remote.go)
	ship            *logship.Shipper               // nil without [logs] (server/logship.go)
	h3              *h3Listener                    // nil when HTTP/3 is off (server/http3.go)
	cluster         *cluster.Cluster               // nil without [cluster] (server/cluster.go)
}

// New builds the server for cfg and binds its listeners. It starts no
// goroutines; Run serves.
func New(cfg *config.Config, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	opts, ship, err := withLogShipping(cfg, opts)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, log: opts.Logger.With("component", "server"), started: time.Now(), registry: status.New(), ship: ship}
	s.obs = newObserver(s)
	s.notify = sysd.NewNotifier(opts.Logger)
	if err := s.openCluster(cfg); err != nil {
		return nil, err
	}
	if s.work, err = s.newWorkers(cfg); err != nil { // backup job and health monitor (reload_workers.go)
		return nil, err
	}
	if err := s.newOffsite(cfg); err != nil {
		return nil, err
	}
	s.warnings = selfCheck(cfg)
	for _, w := range s.warnings {
		s.log.Warn("self-check: " + w)
	}
	if err := s.apply(cfg); err != nil {
		return nil, err
	}
	if err := s.listen(cfg); err != nil {
		s.site.Load().close()
		return nil, err
	}
	s.control = &admin.Control{Path: cfg.Server.AdminSocket, Reload: s.Reload, Status: s.Status, Invalidate: s.InvalidateStatic,
		Unban: s.Unban, Upstream: s.Upstream, Pending: s.pendingRestart}
	if err := s.control.Listen(); err != nil {
		s.closeListeners()
		s.site.Load().close()
		return nil, err
	}
	return s, nil
}

// listen takes the sockets systemd passed ("http", "https") and binds
// the configured addresses for the ones it did not pass.
func (s *Server) listen(cfg *config.Config) error {
	sockets, err := sysd.Listeners()
	if err != nil {
		return err
	}
	s.activated = map[string]bool{}
	for name, ln := range sockets.Streams {
		switch {
		case name == "http":
			s.httpLn = ln
		case name == "https" && cfg.Server.HTTPS != "":
			s.httpsLn = ln
		default:
			s.log.Warn("ignoring a socket passed by systemd", "name", name, "addr", ln.Addr().String(),
				"fix", "name sockets http or https (FileDescriptorName=), and enable that listener in the config")
			_ = ln.Close()
			continue
		}
		s.activated[name] = true
		s.log.Info("using socket from systemd", "name", name, "addr", ln.Addr().String())
	}
	if s.httpLn == nil && cfg.Server.HTTP != "" {
		if s.httpLn, err = net.Listen("tcp", cfg.Server.HTTP); err != nil {
			s.closeListeners()
			return fmt.Errorf("listen on server.http %s: %w", cfg.Server.HTTP, err)
		}
	}
	if s.httpsLn == nil && cfg.Server.HTTPS != "" {
		if s.httpsLn, err = net.Listen("tcp", cfg.Server.HTTPS); err != nil {
			s.closeListeners()
			return fmt.Errorf("listen on server.https %s: %w", cfg.Server.HTTPS, err)
		}
	}
	if err := s.listenH3(cfg, sockets.Datagrams); err != nil {
		s.closeListeners()
		return err
	}
	return nil
}

func (s *Server) closeListeners() {
	for _, ln := range []net.Listener{s.httpLn, s.httpsLn} {
		if ln != nil {
			_ = ln.Close()
		}
	}
	s.closeH3()
}

// HTTPAddr is the bound plain-HTTP address, or "".
func (s *Server) HTTPAddr() string { return addrOf(s.httpLn) }

// HTTPSAddr is the bound HTTPS address, or "".
func (s *Server) HTTPSAddr() string { return addrOf(s.httpsLn) }

func addrOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// Registry is the shared status every subsystem reports to.
func (s *Server) Registry() *status.Registry { return s.registry }

// Backup returns the backup job (its State feeds metrics and health), or
// nil when the config has no [backup]. A reload that changes [backup]
// replaces it.
func (s *Server) Backup() *backupjob.Job { return s.work.currentJob() }

// TLS returns the current certificate manager, or nil when HTTPS is off.
func (s *Server) TLS() *tlsmgr.Manager { return s.tls.Load() }

func (s *Server) newHTTPServer(h http.Handler, tlsCfg *tls.Config, ct *connTracker) *http.Server {
	return &http.Server{
		Handler:           h,
		ConnState:         ct.hook,
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// Run serves until ctx ends or SIGTERM/SIGINT arrives, reloading on
// SIGHUP, then drains in-flight requests within server.shutdown_timeout.
func (s *Server) Run(ctx context.Context) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// Registered before READY=1: a SIGHUP that arrives early must reload,
	// not kill the process (its default action).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	g, gctx := errgroup.WithContext(ctx)
	d := s.startServing(g)
	s.startWorkers(g, gctx, hup)
	s.log.Info("serving", "http", s.HTTPAddr(), "https", s.HTTPSAddr(), "config", s.site.Load().cfg.File,
		"domains", s.site.Load().cfg.Site.Domains)
	s.waitCertificates(gctx)
	s.notify.Ready(s.statusLine())
	if s.opts.OnReady != nil {
		s.opts.OnReady(s)
	}
	g.Go(func() error {
		<-gctx.Done()
		s.notify.Stopping()
		return s.shutdown(d)
	})
	err := g.Wait()
	s.closeLogShipping()
	s.site.Load().close()
	if m := s.tls.Load(); m != nil {
		m.Stop()
	}
	s.closeCluster()
	return err
}

// startServing starts one Serve loop per listener in g and returns the
// drainer that stops them.
func (s *Server) startServing(g *errgroup.Group) *drainer {
	d := &drainer{tracker: newConnTracker()}
	conns := newConnLimiter(s.site.Load, s.log) // server.max_conns_per_ip (connlimit.go)
	byProto := newProtoCounter(s.obs.metrics.Registry())
	serve := func(srv *http.Server, ln net.Listener, useTLS bool) {
		ln = conns.wrap(ln)
		d.add(srv, ln)
		g.Go(func() error {
			defer d.accepting.Done()
			var err error
			if useTLS {
				err = srv.ServeTLS(ln, "", "")
			} else {
				err = srv.Serve(ln)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) && !(d.draining.Load() && errors.Is(err, net.ErrClosed)) {
				return fmt.Errorf("serve %s: %w", ln.Addr(), err)
			}
			return nil
		})
	}
	httpsOn := s.httpsLn != nil
	if httpsOn {
		tlsCfg := s.tls.Load().TLSConfig()
		tlsCfg.GetCertificate = func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
			return s.tls.Load().GetCertificate(h)
		}
		// HTTP/3 gets its own copy: ServeTLS adds to the TLS config's NextProtos.
		s.serveH3(g, d, tlsCfg.Clone(), s.frontDoor(s.dispatch(false), byProto))
		serve(s.newHTTPServer(s.frontDoor(s.dispatch(false), byProto), tlsCfg, d.tracker), s.httpsLn, true)
	}
	if s.httpLn != nil {
		serve(s.newHTTPServer(s.frontDoor(s.dispatch(httpsOn && !s.opts.PlainHTTP), byProto), nil, d.tracker), s.httpLn, false)
	}
	return d
}

// startWorkers starts every background worker under ctx in g: the control
// socket, the site's and the TLS manager's loops (restarted by each
// reload), health checks, the signal watcher, the supervisor heartbeat,
// the status feeder, the backup schedule, the systemd watchdog and the
// release of start-up and idle memory. A new
// worker is added here, in one place.
func (s *Server) startWorkers(g *errgroup.Group, ctx context.Context, hup <-chan os.Signal) {
	g.Go(s.control.Serve)
	s.reload.Lock()
	s.runCtx = ctx
	s.site.Load().start(ctx, s.opts.Logger)
	if m := s.tls.Load(); m != nil {
		m.Start(ctx)
	}
	s.reload.Unlock()
	s.work.start(ctx, g, s.site.Load().cfg) // backup job and health monitor (reload_workers.go)
	s.startCluster(g, ctx)
	g.Go(func() error { return s.watchSignals(ctx, hup) })
	g.Go(func() error { return s.heartbeat(ctx) })
	g.Go(func() error { return s.feedRegistry(ctx) })
	s.runLogShipping(ctx, g.Go)
	s.startOffsite(g, ctx)
	g.Go(func() error {
		return sysd.RunWatchdog(ctx, sysd.WatchdogInterval(), s.alive, s.notify, s.log)
	})
	g.Go(func() error { s.releaseMemory(ctx); return nil }) // server/memory.go
}

// waitCertificates holds READY=1 back (bounded by tls.ready_timeout, with
// EXTEND_TIMEOUT_USEC for systemd) while first certificates are obtained;
// port 80 already serves challenges and redirects meanwhile.
func (s *Server) waitCertificates(ctx context.Context) {
	m := s.tls.Load()
	if m == nil {
		return
	}
	select {
	case <-m.Ready():
		return
	default:
	}
	timeout := s.site.Load().cfg.TLS.ReadyTimeout.Duration
	s.notify.ExtendTimeout(timeout + 30*time.Second)
	s.notify.Status("obtaining certificates")
	s.log.Info("waiting for certificates before reporting ready", "timeout", timeout.String(), "pending", m.Pending())
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-m.Ready():
	case <-t.C:
		s.log.Warn("certificates still pending; reporting ready anyway (HTTPS fails for these names until obtained)",
			"pending", m.Pending())
	case <-ctx.Done():
	}
}

// dispatch sends each request to the current site's handler.
func (s *Server) dispatch(port80 bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.frozen.Load() {
			<-r.Context().Done() // test hook: behave like a wedged process
			return
		}
		st := s.site.Load()
		if port80 {
			st.port80.ServeHTTP(w, r)
			return
		}
		st.main.ServeHTTP(w, r)
	})
}
