package proxy

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gitcourse/edge/config"
)

// idlePerUpstream is how many idle keep-alive connections are pooled per
// upstream: above the concurrency a small VPS app sees, so that a busy
// route does not open a connection per request.
const idlePerUpstream = 128

// newProber returns the client of the active health checks: one fresh
// connection per probe (a pooled one could hide a dead listener) and no
// redirects followed.
func newProber(t config.Timeouts) *http.Client {
	dialer := &net.Dialer{Timeout: t.Connect.Duration}
	return &http.Client{
		Transport: &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// retrier is the route's http.RoundTripper: it sends the request to the
// upstream chosen by rewrite, feeds the passive health state, and retries
// a request whose connection failed (see Route.exchange and retry_window).
type retrier struct{ rt *Route }

var _ http.RoundTripper = retrier{}

// RoundTrip implements http.RoundTripper.
func (t retrier) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.rt.exchange(req)
}

// send is one exchange with u; its outcome feeds u's passive health.
func (rt *Route) send(u *upstream, req *http.Request) (*http.Response, error) {
	if u == nil { // not one of ours: rewrite always picks from the route
		return nil, errors.New("upstream " + req.URL.Host + " is not in route " + rt.path)
	}
	u.requests.Add(1)
	res, err := rt.transport.RoundTrip(req)
	now := rt.now()
	switch {
	case err == nil:
		if u.served(now) {
			rt.log.Info("upstream up", "upstream", u.addr, "reason", "answered a request")
		}
	case isUnreachable(err) && req.Context().Err() == nil:
		if u.refused(err, now, rt.cooldown) {
			rt.log.Warn("upstream down", "upstream", u.addr, "reason", "passive", "error", err,
				"skipped_for", rt.cooldown.String())
		}
	}
	return res, err
}

func cloneURL(u *url.URL) *url.URL { c := *u; return &c }

// idempotent reports whether req may be sent twice: RFC 9110 idempotent
// methods, or an Idempotency-Key header (as net/http.Transport treats it).
func idempotent(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	_, a := req.Header["Idempotency-Key"]
	_, b := req.Header["X-Idempotency-Key"]
	return a || b
}

// isDialError reports whether err happened while connecting, so that
// nothing of the request was sent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// isConnFailure reports whether the connection failed before any response
// came: it could not be opened (nothing was sent), or it was reset or
// closed by the upstream (which, if it received the request, died
// handling it). A response header timeout is not one: the upstream is
// alive, only slow.
func isConnFailure(err error) bool {
	return isDialError(err) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// isUnreachable reports whether err says the upstream could not be
// reached or dropped the connection: refused, reset, timed out connecting.
func isUnreachable(err error) bool {
	return isDialError(err) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// onceBody lets a request body be handed to a second attempt: the
// transport closes the body of a failed attempt, so Close is deferred to
// the underlying body only once something was read (and no retry can
// follow). ReverseProxy closes its own wrapper when the handler ends.
type onceBody struct {
	rc   io.ReadCloser
	read atomic.Bool
}

// Read implements io.Reader.
func (b *onceBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.rc.Read(p)
}

// Close implements io.Closer.
func (b *onceBody) Close() error {
	if b.read.Load() {
		return b.rc.Close()
	}
	return nil
}

// wasRead reports whether the transport read from the body; false for nil.
func (b *onceBody) wasRead() bool { return b != nil && b.read.Load() }

// bufferPool recycles the 32 KiB copy buffers of response bodies.
type bufferPool struct{ pool sync.Pool }

var buffers = &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}

// Get implements httputil.BufferPool.
func (p *bufferPool) Get() []byte { return *p.pool.Get().(*[]byte) }

// Put implements httputil.BufferPool.
func (p *bufferPool) Put(b []byte) { p.pool.Put(&b) }
