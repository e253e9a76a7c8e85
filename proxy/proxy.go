// Package proxy forwards a path prefix to one or more HTTP upstreams (such
// as uvicorn on 127.0.0.1:8000) with net/http/httputil.ReverseProxy.
//
// Forwarding headers are set by edge and never trusted from the client;
// hop-by-hop headers are dropped; WebSocket upgrades pass through. Errors
// are JSON with the request id: 502 when the upstream cannot be reached
// (within the connect timeout), 504 when it sends no response header in
// time, 413 when the body is larger than the route allows.
package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/reqid"
)

// Route proxies one path prefix. It is safe for concurrent use.
type Route struct {
	path      string
	upstreams []*url.URL
	next      atomic.Uint64
	maxBody   int64
	proxy     *httputil.ReverseProxy
	transport *http.Transport
	log       *slog.Logger
}

var _ http.Handler = (*Route)(nil)

// New builds the proxy for one [[route]]. It starts no goroutines.
func New(rc config.Route, log *slog.Logger) (*Route, error) {
	if log == nil {
		log = slog.Default()
	}
	rt := &Route{path: rc.Path, maxBody: rc.MaxBody.Bytes, log: log.With("component", "proxy", "route", rc.Path)}
	for _, u := range rc.Upstreams {
		target, err := url.Parse("http://" + u)
		if err != nil || target.Host == "" {
			return nil, fmt.Errorf("parse upstream %q of route %s: %w", u, rc.Path, err)
		}
		rt.upstreams = append(rt.upstreams, target)
	}
	if len(rt.upstreams) == 0 {
		return nil, fmt.Errorf("route %s: no upstreams", rc.Path)
	}
	rt.transport = newTransport(rc.Timeouts)
	rt.proxy = &httputil.ReverseProxy{
		Rewrite:       rt.rewrite,
		Transport:     rt.transport,
		FlushInterval: -1, // stream: SSE and chunked answers are not held back
		ErrorHandler:  rt.errorHandler,
		ErrorLog:      slog.NewLogLogger(rt.log.Handler(), slog.LevelWarn),
	}
	return rt, nil
}

func newTransport(t config.Timeouts) *http.Transport {
	dialer := &net.Dialer{Timeout: t.Connect.Duration, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:           dialer.DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       t.Idle.Duration,
		ResponseHeaderTimeout: t.ResponseHeader.Duration,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     false, // uvicorn speaks HTTP/1.1
	}
}

// Close drops the idle upstream connections.
func (rt *Route) Close() { rt.transport.CloseIdleConnections() }

// ServeHTTP refuses oversized bodies, then forwards the request.
func (rt *Route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rt.maxBody > 0 {
		if r.ContentLength > rt.maxBody {
			writeError(w, r, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, rt.maxBody)
		}
	}
	rt.proxy.ServeHTTP(w, r)
}

// pick chooses the next upstream, round robin.
func (rt *Route) pick() *url.URL {
	n := rt.next.Add(1) - 1
	return rt.upstreams[n%uint64(len(rt.upstreams))]
}

// rewrite points the outgoing request at an upstream and sets the
// forwarding headers from what edge saw, not what the client claimed.
func (rt *Route) rewrite(pr *httputil.ProxyRequest) {
	target := rt.pick()
	pr.SetURL(target)
	pr.Out.Host = pr.In.Host // the upstream sees the name the client asked for
	pr.SetXForwarded()       // replaces any client-sent X-Forwarded-*
	pr.Out.Header.Del("Forwarded")
	pr.Out.Header.Del("X-Real-Ip")
	if ip, _, err := net.SplitHostPort(pr.In.RemoteAddr); err == nil {
		pr.Out.Header.Set("X-Real-IP", ip)
	}
	if id := reqid.From(pr.In.Context()); id != "" {
		pr.Out.Header.Set(reqid.Header, id)
	}
}

// errorHandler maps transport errors to 502, 504 and 413.
func (rt *Route) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		writeError(w, r, http.StatusRequestEntityTooLarge, "request body too large")
	case errors.Is(err, context.Canceled):
		w.WriteHeader(499) // client went away; nothing to send
	case isTimeout(err):
		rt.log.Warn("upstream timeout", "error", err, "request_id", reqid.From(r.Context()))
		writeError(w, r, http.StatusGatewayTimeout, "upstream timeout")
	default:
		rt.log.Warn("upstream unavailable", "error", err, "request_id", reqid.From(r.Context()))
		writeError(w, r, http.StatusBadGateway, "upstream unavailable")
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		var op *net.OpError
		return !(errors.As(err, &op) && op.Op == "dial")
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// writeError sends {"error": msg, "request_id": id}; the cause stays in
// the log, never in the body.
func writeError(w http.ResponseWriter, r *http.Request, code int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg, "request_id": reqid.From(r.Context())})
}
