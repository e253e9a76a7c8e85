package logship

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"
)

// Timing of the sender.
const (
	minBackoff   = 500 * time.Millisecond
	maxBackoff   = 30 * time.Second
	dialTimeout  = 10 * time.Second
	writeTimeout = 10 * time.Second
	// settle is how long a new connection is watched before the first
	// write: a collector that rejects the client certificate does so just
	// after the TLS 1.3 handshake, and lines written meanwhile would be lost.
	settle = 200 * time.Millisecond
	// defaultFlush bounds the flush at shutdown without FlushTimeout.
	defaultFlush = 5 * time.Second
	// spillEvery is how often the queue moves to the spool while the
	// collector is away (between connection attempts).
	spillEvery = time.Second
	// logEvery spaces repeated warnings (drops, spool errors).
	logEvery = 10 * time.Second
	// linger and lingerBytes batch lines: after the first line of a quiet
	// spell the sender waits up to linger for lingerBytes of them, so that
	// under load one TLS record and one write carry many lines.
	linger      = 20 * time.Millisecond
	lingerBytes = 64 << 10
)

// errClosedByCollector reports a connection the collector closed.
var errClosedByCollector = errors.New("connection closed by the collector")

// conn is one connection to the collector; dead closes when a read
// fails (the collector closed it or reset it).
type conn struct {
	c    net.Conn
	dead chan struct{}
	err  error // why dead closed
}

func (cn *conn) close() { _ = cn.c.Close() }

// isDead reports whether the collector closed the connection.
func (cn *conn) isDead() bool {
	select {
	case <-cn.dead:
		return true
	default:
		return false
	}
}

// Run sends the spool and the queue to the collector until ctx ends,
// reconnecting with capped exponential backoff. After ctx ends it keeps
// sending for at most FlushTimeout, until the queue is empty and
// CloseInput was called; what is left stays for Close to spool.
func (s *Shipper) Run(ctx context.Context) error {
	r := &runner{s: s, stop: ctx.Done(), backoff: minBackoff}
	defer r.closeConn()
	for {
		s.logTrouble()
		if r.cn == nil {
			if done := r.connect(); done {
				return nil
			}
			continue
		}
		recs, seg, fromSpool, lines := s.take()
		if lines == 0 {
			if done := r.idle(); done {
				return nil
			}
			continue
		}
		sent, rest, restLines, err := s.send(r.cn, recs, fromSpool, r.writeBy())
		s.finish(recs, seg, fromSpool, rest, restLines)
		if sent > 0 {
			s.state.sent(s.opts.Now())
		}
		if err != nil {
			r.lost(err)
		}
	}
}

// runner is the state of one Run.
type runner struct {
	s        *Shipper
	cn       *conn
	stop     <-chan struct{} // ctx.Done() until the flush begins, then nil
	flushBy  time.Time       // zero until ctx ends
	deadline <-chan time.Time
	inDone   <-chan struct{} // the Shipper's, once flushing
	backoff  time.Duration
}

// beginFlush starts the bounded flush after ctx ended.
func (r *runner) beginFlush() {
	d := r.s.opts.FlushTimeout
	if d <= 0 {
		d = defaultFlush
	}
	r.stop, r.flushBy = nil, time.Now().Add(d)
	r.deadline = time.After(d)
	r.inDone = r.s.inDone
}

func (r *runner) flushing() bool { return !r.flushBy.IsZero() }

// writeBy is the deadline of one write.
func (r *runner) writeBy() time.Time {
	by := time.Now().Add(writeTimeout)
	if r.flushing() && r.flushBy.Before(by) {
		return r.flushBy
	}
	return by
}

func (r *runner) closeConn() {
	if r.cn != nil {
		r.cn.close()
		r.cn = nil
	}
}

// connect dials once; on failure it spools the queue and waits out the
// backoff. It reports whether Run should return.
func (r *runner) connect() bool {
	s := r.s
	cn, err := s.dial(r.writeBy())
	if err == nil {
		r.cn, r.backoff = cn, minBackoff
		if s.state.up(s.opts.Now()) {
			s.mu.Lock()
			pending := s.sp.lines() + s.memLines
			s.mu.Unlock()
			s.log.Info("log collector connected", "remote", s.cfg.Remote, "pending_lines", pending)
		}
		return false
	}
	s.markDown(err)
	s.spill() // while the collector is away, lines wait on disk
	if r.flushing() {
		return true
	}
	t := time.NewTimer(r.backoff)
	defer t.Stop()
	tick := time.NewTicker(spillEvery)
	defer tick.Stop()
	r.backoff = min(r.backoff*2, maxBackoff)
	for {
		select {
		case <-t.C:
			return false
		case <-tick.C:
			s.spill()
			s.logTrouble()
		case <-r.stop:
			r.beginFlush()
			return false
		}
	}
}

// idle waits for lines, a closed connection or the end. It reports
// whether Run should return.
func (r *runner) idle() bool {
	if r.flushing() && isClosed(r.s.inDone) {
		return true
	}
	select {
	case <-r.s.wake:
		return r.linger()
	case <-r.cn.dead:
		r.lost(r.cn.err)
	case <-r.stop:
		r.beginFlush()
	case <-r.inDone:
	case <-r.deadline:
		return true
	}
	return false
}

// linger waits up to linger for lingerBytes of lines (not while
// flushing). It reports whether Run should return.
func (r *runner) linger() bool {
	if r.flushing() {
		return false
	}
	t := time.NewTimer(linger)
	defer t.Stop()
	for r.s.queuedBytes() < lingerBytes {
		select {
		case <-r.s.wake:
		case <-t.C:
			return false
		case <-r.cn.dead:
			return false // the next round notices
		case <-r.stop:
			r.beginFlush()
			return false
		}
	}
	return false
}

// lost drops the connection after err.
func (r *runner) lost(err error) {
	r.closeConn()
	r.s.markDown(err)
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// markDown records a failure and logs it when the state changes or the
// reason does.
func (s *Shipper) markDown(err error) {
	s.state.mu.Lock()
	same := s.state.lastErr == err.Error()
	s.state.mu.Unlock()
	if s.state.down(s.opts.Now(), err) || !same {
		s.log.Warn("log collector unreachable; lines wait in the spool", "remote", s.cfg.Remote, "error", err)
	}
}

// dial connects and watches the connection for settle before handing it
// out, so that a collector refusing the client certificate is noticed
// before lines are written.
func (s *Shipper) dial(by time.Time) (*conn, error) {
	if limit := time.Now().Add(dialTimeout); limit.Before(by) {
		by = limit
	}
	ctx, cancel := context.WithDeadline(context.Background(), by)
	defer cancel()
	var c net.Conn
	var err error
	if s.tls != nil {
		c, err = (&tls.Dialer{Config: s.tls}).DialContext(ctx, "tcp", s.addr)
	} else {
		c, err = (&net.Dialer{}).DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		return nil, explainDial(s.addr, err)
	}
	cn := &conn{c: c, dead: make(chan struct{})}
	go func() {
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				cn.err = fmt.Errorf("%w: %v", errClosedByCollector, err)
				close(cn.dead)
				return
			}
		}
	}()
	t := time.NewTimer(settle)
	defer t.Stop()
	select {
	case <-cn.dead:
		cn.close()
		return nil, cn.err
	case <-t.C:
	}
	return cn, nil
}

// explainDial adds the fix to the usual TLS failures.
func explainDial(addr string, err error) error {
	var unknown x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var verr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &unknown) || (errors.As(err, &verr) && errors.As(verr.Err, &unknown)):
		return fmt.Errorf("connect to log collector %s: %w (fix: set logs.ca_file to the CA that signed the collector's certificate)", addr, err)
	case errors.As(err, &hostErr):
		return fmt.Errorf("connect to log collector %s: %w (fix: the host in logs.remote must be a name in the collector's certificate)", addr, err)
	}
	return fmt.Errorf("connect to log collector %s: %w", addr, err)
}
