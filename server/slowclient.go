package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"time"

	"github.com/gitcourse/edge/limits"
)

// Defences against slow clients, besides readHeaderTimeout and
// idleTimeout (server.go): a request body must arrive at bodyMinRate on
// average after a bodyGrace start, or the read fails (the proxy answers
// 499/400 and the connection closes). nginx's client_body_timeout is the
// closest knob; this one also stops a client that sends one byte every
// few seconds.
const bodyMinRate = 1024 // bytes per second

// bodyGrace is a variable for the tests.
var bodyGrace = 10 * time.Second

// minBodyRate sets a read deadline that moves with the bytes received
// while a handler reads the request body.
func minBodyRate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		b := &rateBody{ReadCloser: r.Body, rc: rc, start: time.Now()}
		r.Body = b
		defer b.clear()
		next.ServeHTTP(w, r)
	})
}

// rateBody is a request body whose reads must keep up with bodyMinRate.
type rateBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	n     int64
	done  bool
}

// Read extends the deadline by what the bytes so far earned, then reads.
func (b *rateBody) Read(p []byte) (int, error) {
	if !b.done {
		earned := time.Duration(float64(b.n) / bodyMinRate * float64(time.Second))
		_ = b.rc.SetReadDeadline(b.start.Add(bodyGrace + earned))
	}
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if err != nil {
		b.clear() // the body is done: the connection's next read has no deadline of ours
	}
	return n, err
}

func (b *rateBody) clear() {
	if !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
}

// limitsNow is the running site's limits, or nil before the first site.
func (s *Server) limitsNow() *limits.Set {
	if st := s.site.Load(); st != nil {
		return st.limits
	}
	return nil
}

// Unban lifts the ban of the client at ip ("edge unban IP", over the
// admin socket).
func (s *Server) Unban(_ context.Context, ip string) (string, error) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return "", fmt.Errorf("%q is not an IP address (fix: edge unban 192.0.2.7 or edge unban 2001:db8::1)", ip)
	}
	key := limits.KeyString(limits.Key(addr))
	if n := s.limitsNow().Unban(addr); n == 0 {
		return "", fmt.Errorf("%s is not banned", key)
	}
	return "unbanned " + key + "\n", nil
}
