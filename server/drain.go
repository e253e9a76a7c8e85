package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// connTracker counts connections that were accepted but have not sent a
// request yet. net/http drops a request it finishes reading after
// Shutdown has begun (the connection just closes), so edge first stops
// accepting, lets those connections deliver their request, and only then
// calls Shutdown: a restart loses no request.
type connTracker struct {
	mu    sync.Mutex
	fresh map[net.Conn]struct{}
	zero  chan struct{} // closed and replaced whenever fresh becomes empty
}

func newConnTracker() *connTracker {
	return &connTracker{fresh: map[net.Conn]struct{}{}, zero: make(chan struct{})}
}

// hook is the http.Server ConnState callback.
func (ct *connTracker) hook(c net.Conn, st http.ConnState) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if st == http.StateNew {
		ct.fresh[c] = struct{}{}
		return
	}
	if _, ok := ct.fresh[c]; !ok {
		return
	}
	delete(ct.fresh, c)
	if len(ct.fresh) == 0 {
		close(ct.zero)
		ct.zero = make(chan struct{})
	}
}

// waitFresh waits until no accepted connection is still waiting for its
// first request, or until max (a client that connects and says nothing
// must not hold up a restart).
func (ct *connTracker) waitFresh(ctx context.Context, max time.Duration) {
	t := time.NewTimer(max)
	defer t.Stop()
	for {
		ct.mu.Lock()
		n, zero := len(ct.fresh), ct.zero
		ct.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-zero:
		case <-t.C:
			return
		case <-ctx.Done():
			return
		}
	}
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
