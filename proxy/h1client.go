package proxy

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/gitcourse/edge/config"
)

// upstreamClient is what a route needs from its HTTP/1.1 client: the
// retrier calls RoundTrip, Close calls CloseIdleConnections.
type upstreamClient interface {
	RoundTrip(*http.Request) (*http.Response, error)
	CloseIdleConnections()
}

// h1Client is edge's HTTP/1.1 client for upstreams. The request is written
// and the response head read on the caller's goroutine (no read/write loop
// goroutines); the body is read by the caller through res.Body, and the
// connection goes back to a LIFO keep-alive pool when the body has been
// read to its end. The response parser is strict: a head or body framing
// that net/http would refuse, or that RFC 9112 says to reject (whitespace
// before a colon, obs-fold, bare CR or LF, NUL, conflicting lengths,
// Transfer-Encoding other than chunked, a bad chunk size), is an error,
// never a guess.
//
// Errors keep the contract of net/http.Transport that classify and
// isConnFailure read: dial errors are *net.OpError with Op "dial", timeouts
// are net.Error with Timeout(), a connection closed or reset before a
// response is io.EOF, io.ErrUnexpectedEOF or ECONNRESET, and a refused
// request is a *badRequestError.
type h1Client struct {
	dialer        net.Dialer
	headerTimeout time.Duration
	idleTimeout   time.Duration
	staleAfter    time.Duration

	mu    sync.Mutex
	pools map[string]*connPool
}

var _ upstreamClient = (*h1Client)(nil)

// headBufSize is the read buffer of an upstream connection; a response
// head (status line and fields) must fit in it, or the answer is 502, as
// nginx does with proxy_buffer_size.
const headBufSize = 16 << 10

// staleAfter is the default of h1Client.staleAfter: how long a pooled connection may have been idle before it
// is checked for a close by the upstream (a FIN already received) before
// use; busier connections are used without the extra system call, except
// by a request that could not be sent again (see resendable).
const staleAfter = 250 * time.Millisecond

// newH1Client returns the client of a route with the configured connect,
// response-header and idle timeouts.
func newH1Client(t config.Timeouts) *h1Client {
	return &h1Client{
		dialer:        net.Dialer{Timeout: t.Connect.Duration, KeepAlive: 30 * time.Second},
		headerTimeout: t.ResponseHeader.Duration,
		idleTimeout:   t.Idle.Duration,
		staleAfter:    staleAfter,
		pools:         map[string]*connPool{},
	}
}

// pool returns the idle pool of addr.
func (c *h1Client) pool(addr string) *connPool {
	c.mu.Lock()
	p := c.pools[addr]
	if p == nil {
		p = &connPool{}
		c.pools[addr] = p
	}
	c.mu.Unlock()
	return p
}

// CloseIdleConnections closes every pooled connection.
func (c *h1Client) CloseIdleConnections() {
	c.mu.Lock()
	pools := make([]*connPool, 0, len(c.pools))
	for _, p := range c.pools {
		pools = append(pools, p)
	}
	c.mu.Unlock()
	for _, p := range pools {
		p.closeAll()
	}
}

// RoundTrip sends req to req.URL.Host and returns the response with its
// head read. A pooled connection that turns out to have been closed by the
// upstream before any response byte came is replaced by a new one once,
// when the request can be sent again (idempotent, body not read).
func (c *h1Client) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkOutgoing(req); err != nil {
		return nil, err
	}
	target, err := requestTarget(req)
	if err != nil {
		return nil, err
	}
	ctx := req.Context()
	p := c.pool(req.URL.Host)
	check := c.staleAfter
	if !resendable(req) {
		// Not sent twice: no chance taken on a connection that the
		// upstream closed just after its last response (an app that
		// failed, uvicorn after a 500), however short its idle time.
		check = 0
	}
	for attempt := 0; ; attempt++ {
		pc := p.get(c.idleTimeout, check)
		if pc == nil {
			var err error
			if pc, err = c.dial(ctx, req.URL.Host, p); err != nil {
				return nil, err
			}
		}
		res, x, err := pc.roundTrip(req, target)
		if err == nil {
			return res, nil
		}
		pc.close()
		if attempt > 0 || !pc.reused || x.gotBytes || x.bodyRead || !idempotent(req) ||
			ctx.Err() != nil || !isConnFailure(err) {
			return nil, err
		}
	}
}

// resendable reports whether RoundTrip may send req again on a new
// connection when a pooled one fails before the response: idempotent, and
// no body (a body is read as it is sent).
func resendable(req *http.Request) bool {
	return idempotent(req) && (req.Body == nil || req.Body == http.NoBody)
}

// dial opens a new connection to addr for pool p.
func (c *h1Client) dial(ctx context.Context, addr string, p *connPool) (*h1Conn, error) {
	nc, err := c.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &h1Conn{
		nc: nc, pool: p, client: c,
		br: bufio.NewReaderSize(nc, headBufSize),
		bw: bufio.NewWriterSize(nc, 4<<10),
	}, nil
}

// connPool is the LIFO stack of idle connections to one upstream: the most
// recently used connection is reused first, so that under light load the
// others age out (timeouts.idle) instead of all staying half-used.
type connPool struct {
	mu   sync.Mutex
	idle []*h1Conn
}

// get pops the most recent idle connection that is still usable, or nil.
func (p *connPool) get(idleTimeout, staleAfter time.Duration) *h1Conn {
	now := time.Now()
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			return nil
		}
		pc := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		idle := now.Sub(pc.idleSince)
		if (idleTimeout > 0 && idle > idleTimeout) || (idle >= staleAfter && !pc.alive()) {
			pc.nc.Close()
			continue
		}
		pc.reused = true
		return pc
	}
}

// put returns pc to the pool, or closes it when the pool is full; it also
// closes the oldest idle connection when it outlived idleTimeout.
func (p *connPool) put(pc *h1Conn, idleTimeout time.Duration) {
	pc.idleSince = time.Now()
	var drop *h1Conn
	p.mu.Lock()
	if len(p.idle) >= idlePerUpstream {
		drop = pc
	} else {
		p.idle = append(p.idle, pc)
		if old := p.idle[0]; idleTimeout > 0 && pc.idleSince.Sub(old.idleSince) > idleTimeout {
			drop = old
			p.idle = append(p.idle[:0], p.idle[1:]...)
		}
	}
	p.mu.Unlock()
	if drop != nil {
		drop.nc.Close()
	}
}

// closeAll closes the idle connections.
func (p *connPool) closeAll() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, pc := range idle {
		pc.nc.Close()
	}
}

// alive reports whether an idle connection has neither been closed by the
// upstream nor received bytes nobody asked for, with one non-blocking peek.
func (pc *h1Conn) alive() bool {
	if pc.br.Buffered() > 0 {
		return false
	}
	sc, ok := pc.nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var buf [1]byte
	var n int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true
	})
	return err == nil && n < 0 && errors.Is(rerr, syscall.EAGAIN)
}
