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
	work            *reloadables // backup job and health monitor (server/reload_workers.go)
	warnings        []string     // start-up self-check findings
	beat            atomic.Int64 // supervisor heartbeat, unix nanoseconds
	frozen          atomic.Bool  // test hook: wedge the serving loop
	registry        *status.Registry
	obs             *observer                      // metrics and the registry feeder (server/observe.go)
	health          atomic.Pointer[health.Monitor] // set by Run (server/health.go)
	ship            *logship.Shipper               // nil without [logs] (server/logship.go)
	h3              *h3Listener                    // nil when HTTP/3 is off (server/http3.go)
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
	if s.work, err = s.newWorkers(cfg); err != nil {
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

// apply builds a site (and TLS manager) for cfg and swaps them in.
func (s *Server) apply(cfg *config.Config) error {
	var mgr *tlsmgr.Manager
	if cfg.Server.HTTPS != "" {
		m, err := tlsmgr.New(cfg, tlsmgr.Options{Logger: s.opts.Logger, LogWriter: s.opts.Stdout})
		if err != nil {
			return err
		}
		mgr = m
	}
	st, err := buildSite(cfg, s.opts.Logger, s.opts.Stdout, s.obs, s.Status, portOf(cfg.Server.HTTPS), mgr, s.limitsNow())
	if err != nil {
		if mgr != nil {
			mgr.Stop()
		}
		return err
	}
	if mgr != nil {
		if s.runCtx != nil {
			mgr.Start(s.runCtx)
		}
		if old := s.tls.Swap(mgr); old != nil {
			old.Stop()
		}
	}
	if s.runCtx != nil {
		st.start(s.runCtx, s.opts.Logger)
	}
	if old := s.site.Swap(st); old != nil {
		old.close()
	}
	return nil
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
	g, gctx := errgroup.WithContext(ctx)
	d := &drainer{tracker: newConnTracker()}
	conns := newConnLimiter(s.site.Load, s.log) // server.max_conns_per_ip (connlimit.go)
	byProto := newProtoCounter(s.obs.metrics.Registry())
	serve := func(srv *http.Server, ln net.Listener, useTLS bool) {
		d.add(srv, ln)
		ln = conns.wrap(ln)
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
		mgr := s.tls.Load()
		tlsCfg := mgr.TLSConfig()
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
	g.Go(s.control.Serve)
	s.reload.Lock()
	s.runCtx = gctx
	s.site.Load().start(gctx, s.opts.Logger)
	if m := s.tls.Load(); m != nil {
		m.Start(gctx)
	}
	s.reload.Unlock()
	s.work.start(gctx, g, s.site.Load().cfg)
	// Registered before READY=1: a SIGHUP that arrives early must reload,
	// not kill the process (its default action).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	g.Go(func() error { return s.watchSignals(gctx, hup) })
	g.Go(func() error { return s.heartbeat(gctx) })
	g.Go(func() error { return s.feedRegistry(gctx) })
	s.runLogShipping(gctx, g.Go)
	g.Go(func() error {
		return sysd.RunWatchdog(gctx, sysd.WatchdogInterval(), s.alive, s.notify, s.log)
	})
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
	return err
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

// graceful is a server the drainer stops: *http.Server, or the HTTP/3
// listener.
type graceful interface {
	Shutdown(ctx context.Context) error
	Close() error
}

// drainer holds what a graceful stop needs.
type drainer struct {
	tracker   *connTracker
	servers   []graceful
	listeners []net.Listener
	accepting sync.WaitGroup // one per Serve loop
	draining  atomic.Bool
}

func (d *drainer) add(srv *http.Server, ln net.Listener) {
	d.servers = append(d.servers, srv)
	d.listeners = append(d.listeners, ln)
	d.accepting.Add(1)
}

// shutdown stops accepting, lets accepted connections deliver their first
// request, then drains in-flight requests within server.shutdown_timeout.
// With socket activation the listening socket stays open in systemd, so
// connections arriving meanwhile wait for the next edge.
func (s *Server) shutdown(d *drainer) error {
	timeout := s.site.Load().cfg.Server.ShutdownTimeout.Duration
	s.log.Info("draining", "timeout", timeout.String())
	ctx, cancel := context.WithTimeoutCause(context.Background(), timeout, errors.New("drain timeout"))
	defer cancel()
	d.draining.Store(true)
	for _, ln := range d.listeners {
		_ = ln.Close()
	}
	d.accepting.Wait()
	d.tracker.waitFresh(ctx, 2*time.Second)
	var wg sync.WaitGroup
	for _, srv := range d.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Shutdown(ctx); err != nil {
				s.log.Warn("drain incomplete; closing connections", "error", err)
				_ = srv.Close()
			}
		}()
	}
	wg.Wait()
	_ = s.control.Shutdown(ctx)
	s.log.Info("stopped")
	s.logInputDone()
	return nil
}

func (s *Server) watchSignals(ctx context.Context, hup <-chan os.Signal) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			if err := s.Reload(ctx); err != nil {
				s.log.Error("reload rejected; the previous configuration keeps serving", "error", err)
			}
		}
	}
}

// Reload re-reads the configuration and swaps it in. On any error the
// running configuration keeps serving and the error is returned.
func (s *Server) Reload(ctx context.Context) error {
	if s.opts.Load == nil {
		return errors.New("reload: this instance runs built-in defaults; nothing to re-read")
	}
	s.reload.Lock()
	defer s.reload.Unlock()
	s.notify.Reloading()
	defer func() { s.notify.Ready(s.statusLine()) }()
	cfg, err := s.opts.Load()
	if err == nil {
		err = s.checkListeners(cfg)
	}
	var next *nextReloadables
	if err == nil {
		next, err = s.work.prepare(cfg)
	}
	if err == nil {
		err = s.apply(cfg)
	}
	if err != nil {
		next.discard()
		s.lastErr.Store(err.Error())
		return fmt.Errorf("reload: %w", err)
	}
	s.work.commit(next)
	s.lastErr.Store("")
	s.reloads.Add(1)
	s.obs.reloaded()
	s.log.Info("reloaded", "config", cfg.File, "domains", cfg.Site.Domains)
	s.logPendingRestart()
	return nil
}

// checkListeners refuses a reload that turns HTTPS on or off: listeners
// are bound at start (or passed by systemd) and need a restart to change.
func (s *Server) checkListeners(cfg *config.Config) error {
	if (cfg.Server.HTTPS != "") != (s.httpsLn != nil) {
		return errors.New("server.https was turned on or off: restart edge to apply")
	}
	old := s.site.Load().cfg.Server
	s.warnH3Change(old, cfg.Server)
	return nil
}
