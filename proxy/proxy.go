// Package proxy forwards a path prefix ([[route]]) to one or more HTTP/1.1
// upstreams, such as uvicorn on 127.0.0.1:8000, over edge's own HTTP/1.1
// client (h1Client). Requests that are not upgrades go through a direct
// handler (direct.go: one shallow request copy, the outgoing header map
// built once, response fields copied once, a pooled copy buffer);
// upgrades (WebSocket) go through net/http/httputil.ReverseProxy (Rewrite
// and SetXForwarded, never Director), which hands the connection over.
//
// # Load balancing and health
//
// Requests go round robin to the upstreams that are available. An upstream
// is unavailable while the active health check holds it down (health.path
// probed every health.interval; health.unhealthy failures in a row take it
// down, health.healthy successes bring it back) or while it is in its
// passive cool-down (it refused or reset a connection less than
// passive_cooldown ago). When no upstream is available the request is still
// sent to one of them, like nginx with a single server: a dead upstream
// answers 502 at once, and a restarted one serves before the checks have
// seen it.
//
// # Retries and retry_window
//
// A request whose connection could not be opened (nothing was sent) is
// tried at once on another available upstream, then, within retry_window,
// again after a short backoff until an upstream accepts: any method, since
// nothing was sent, so a restarting uvicorn is waited for rather than
// answered 502. At most retry_max_waiting requests of a route wait at once
// (503 with Retry-After beyond). A request that was reset or closed before
// any response came (the upstream died) is retried once, only when its
// method is idempotent (GET, HEAD, OPTIONS, TRACE, PUT, DELETE, or any
// request with an Idempotency-Key header) and its body, if any, has not
// been read yet. This layer (retrywindow.go) sits on top of the transport
// and relies only on its error contract: a failed dial is a *net.OpError
// with Op "dial", and the body is not read before a connection exists.
//
// # Headers
//
// X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host and X-Real-IP are
// set from what edge saw; values a client sent are replaced, unless the peer
// is a trusted proxy (server.trusted_proxies): then X-Forwarded-For is
// appended to, X-Forwarded-Proto and X-Forwarded-Host are kept, and X-Real-IP
// is the client address of package clientaddr (the right-most address of
// the chain that is not a trusted proxy), read from the request context.
// X-Request-ID carries the request id (see package reqid). Hop-by-hop
// headers are dropped both ways; Expect is answered by edge itself. The Host
// header is the client's (pass_host = true) or the upstream's "host:port".
// In responses the upstream's Server and X-Request-ID headers are dropped
// (edge sends its own), so is its Strict-Transport-Security over plain
// HTTP, and a security header that both edge and the upstream set is sent
// once, with edge's configured value.
//
// # Streaming and errors
//
// WebSocket and other upgrades pass through and are not cut by the response
// header timeout. Server-Sent Events and responses without a length are
// flushed as they arrive. Errors are JSON with the request id: 502
// {"error":"upstream unavailable"} when no connection could be made (within
// timeouts.connect), 504 when no response header came within
// timeouts.response_header, 413 when the body is larger than max_body
// (before the upstream is contacted when the length is declared).
package proxy

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/gitcourse/edge/config"
)

// Options are what New needs besides the route's configuration.
type Options struct {
	// Logger receives upstream state changes and errors; nil means
	// slog.Default().
	Logger *slog.Logger
	// Waited, when set, is called once for each request that waited
	// within retry_window, with how the wait ended: "served", "expired"
	// (502), "rejected" (503, retry_max_waiting reached) or "gone" (the
	// client went away).
	Waited func(outcome string)
	// Drains are the upstreams taken out of rotation (edge upstream
	// drain), shared by every route; nil drains none.
	Drains *Drains
}

// Route proxies one path prefix to its upstreams. It is safe for
// concurrent use. Run performs its active health checks.
type Route struct {
	path      string
	passHost  bool
	maxBody   int64
	cooldown  time.Duration
	health    config.HealthProbe
	upstreams []*upstream
	byAddr    map[string]*upstream
	next      atomic.Uint64

	proxy     *httputil.ReverseProxy
	transport upstreamClient
	prober    *http.Client
	retry     retryWindow
	drains    *Drains
	errLog    logLimiter
	log       *slog.Logger
	now       func() time.Time
}

var _ http.Handler = (*Route)(nil)

// New builds the proxy for one [[route]] of a validated configuration. It
// starts no goroutines: Run starts the health checks.
func New(rc config.Route, opts Options) (*Route, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	rt := &Route{
		path:     rc.Path,
		passHost: rc.PassHostEnabled(),
		maxBody:  rc.MaxBody.Bytes,
		cooldown: rc.PassiveCooldown.Duration,
		health:   rc.Health,
		byAddr:   map[string]*upstream{},
		drains:   opts.Drains,
		log:      log.With("component", "proxy", "route", rc.Path),
		now:      time.Now,
	}
	if err := rt.addUpstreams(rc.Upstreams); err != nil {
		return nil, err
	}
	rt.transport = newH1Client(rc.Timeouts)
	rt.prober = newProber(rc.Timeouts)
	rt.retry.configure(rc, opts.Waited)
	rt.proxy = &httputil.ReverseProxy{
		Rewrite:        rt.rewrite,
		Transport:      retrier{rt},
		ModifyResponse: rt.modifyResponse,
		ErrorHandler:   rt.handleError,
		BufferPool:     buffers,
		ErrorLog:       slog.NewLogLogger(rt.log.Handler(), slog.LevelWarn),
		// FlushInterval 0: ReverseProxy flushes text/event-stream and
		// responses of unknown length after every write, and lets
		// responses of known length fill the buffer.
	}
	return rt, nil
}

func (rt *Route) addUpstreams(addrs []string) error {
	for _, a := range addrs {
		target, err := url.Parse("http://" + a)
		if err != nil || target.Host == "" || target.Path != "" {
			return fmt.Errorf("parse upstream %q of route %s: not host:port", a, rt.path)
		}
		if rt.byAddr[target.Host] != nil {
			return fmt.Errorf("route %s: upstream %s listed twice", rt.path, a)
		}
		u := newUpstream(target, rt.now())
		rt.upstreams = append(rt.upstreams, u)
		rt.byAddr[target.Host] = u
	}
	if len(rt.upstreams) == 0 {
		return fmt.Errorf("route %s: no upstreams", rt.path)
	}
	return nil
}

// Path is the route's path prefix.
func (rt *Route) Path() string { return rt.path }

// Close drops the idle upstream connections. Requests in flight finish;
// the caller stops Run by cancelling its context.
func (rt *Route) Close() {
	rt.transport.CloseIdleConnections()
	rt.prober.CloseIdleConnections()
}

// ServeHTTP refuses a body declared larger than max_body with 413, then
// forwards the request. Its status and latency are counted by package
// metrics, through the access log's recorder, like every other request.
func (rt *Route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rw := &responseWriter{ResponseWriter: w}
	if reason := checkIncoming(r); reason != "" {
		rt.refuse(rw, r, reason)
		return
	}
	if r.ProtoMajor == 1 && len(r.TransferEncoding) > 0 {
		// The request may also have carried a Content-Length that the
		// server dropped (RFC 9112 6.1): a peer in front could have framed
		// it differently, so the connection ends with this response.
		w.Header().Set("Connection", "close")
	}
	if rt.maxBody > 0 {
		if r.ContentLength > rt.maxBody {
			writeError(rw, r, http.StatusRequestEntityTooLarge)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, rt.maxBody)
		}
	}
	if isUpgradeRequest(r) {
		rt.proxy.ServeHTTP(rw, r)
		return
	}
	rt.serveDirect(rw, r)
}
