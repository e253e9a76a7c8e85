package server

import (
	"github.com/gitcourse/edge/clientaddr"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gitcourse/edge/limits"
)

// connLimiter enforces server.max_conns_per_ip at accept, over all of
// edge's listeners: a connection over the cap is closed before any byte is
// read, as nginx's limit_conn would refuse it, without costing a TLS
// handshake. The cap and the trusted proxies (never counted: every client
// arrives through them) are read from the running site, so a reload
// changes them.
type connLimiter struct {
	site   func() *site
	log    *slog.Logger
	mu     sync.Mutex
	counts map[netip.Addr]int
	logged atomic.Int64 // unix nanoseconds of the last refusal logged
}

func newConnLimiter(site func() *site, log *slog.Logger) *connLimiter {
	return &connLimiter{site: site, log: log, counts: map[netip.Addr]int{}}
}

// wrap returns ln with the cap applied to what it accepts.
func (l *connLimiter) wrap(ln net.Listener) net.Listener { return &perIPListener{Listener: ln, l: l} }

// perIPListener is one listener under a connLimiter.
type perIPListener struct {
	net.Listener
	l *connLimiter
}

// Accept returns the next connection within its address's cap.
func (pl *perIPListener) Accept() (net.Conn, error) {
	l := pl.l
	for {
		c, err := pl.Listener.Accept()
		if err != nil {
			return nil, err
		}
		st := l.site()
		peer := clientaddr.ParsePeer(c.RemoteAddr().String())
		if !peer.IsValid() || st.trusted.Contains(peer) {
			return c, nil
		}
		key := limits.Key(peer)
		l.mu.Lock()
		n := l.counts[key]
		if max := st.cfg.Server.MaxConnsPerIP; max > 0 && n >= max {
			l.mu.Unlock()
			_ = c.Close()
			l.refused(key, max)
			continue
		}
		l.counts[key] = n + 1
		l.mu.Unlock()
		return &countedConn{Conn: c, release: func() { l.release(key) }}, nil
	}
}

func (l *connLimiter) release(key netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts[key] <= 1 {
		delete(l.counts, key)
		return
	}
	l.counts[key]--
}

// refused logs at most one line every 10 seconds.
func (l *connLimiter) refused(key netip.Addr, max int) {
	now := time.Now().UnixNano()
	last := l.logged.Load()
	if now-last < int64(10*time.Second) || !l.logged.CompareAndSwap(last, now) {
		return
	}
	l.log.Warn("connection refused: too many open connections from one client",
		"client", limits.KeyString(key), "max_conns_per_ip", max,
		"fix", "raise server.max_conns_per_ip, or add the address to server.trusted_proxies if it is a proxy")
}

// countedConn releases its slot once when closed.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

// Close closes the connection and frees its slot.
func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite keeps net/http's graceful close for TCP connections (FIN,
// a short pause, then the full close): without it a connection closed
// while the client's next request is unread is reset, and the response
// still in flight to the client can be lost with it.
func (c *countedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}

// ReadFrom keeps sendfile for static files over plain HTTP.
func (c *countedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(c.Conn, r)
}
