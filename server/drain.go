package server

import (
	"context"
	"net"
	"net/http"
	"sync"
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
