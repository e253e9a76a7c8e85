// Package admin guards and serves the admin pages under admin.path and the
// control socket used by "edge status" and "edge reload".
//
// Access to the pages is checked in order: the client address must be in
// admin.allow (else 403), then HTTP Basic credentials must match a bcrypt
// hash of admin.users (else 401 with WWW-Authenticate). Failed attempts are
// rate-limited per client address. Admin answers are never cached.
package admin

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Guard checks the client network and credentials in front of a handler.
type Guard struct {
	allow []netip.Prefix
	users map[string][]byte

	mu       sync.Mutex
	failures map[netip.Addr]*failure
}

type failure struct {
	count int
	until time.Time
}

// Failures within the lockout window before a client is refused outright.
const (
	maxFailures = 10
	lockout     = time.Minute
)

// NewGuard builds a guard from CIDR strings and user→bcrypt-hash pairs.
func NewGuard(allow []string, users map[string]string) (*Guard, error) {
	g := &Guard{users: map[string][]byte{}, failures: map[netip.Addr]*failure{}}
	for _, a := range allow {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			return nil, err
		}
		g.allow = append(g.allow, p.Masked())
	}
	for u, h := range users {
		g.users[u] = []byte(h)
	}
	return g, nil
}

// dummyHash keeps the time of a failed login the same for unknown users.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("edge-dummy"), bcrypt.MinCost)

// Wrap returns next behind the allow-list and Basic auth.
func (g *Guard) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		addr := clientAddr(r)
		if !g.allowed(addr) {
			http.Error(w, "403 forbidden", http.StatusForbidden)
			return
		}
		if g.lockedOut(addr) {
			w.Header().Set("Retry-After", "60")
			http.Error(w, "429 too many failed logins", http.StatusTooManyRequests)
			return
		}
		if !g.authenticate(r) {
			g.recordFailure(addr)
			w.Header().Set("WWW-Authenticate", `Basic realm="edge admin", charset="UTF-8"`)
			http.Error(w, "401 unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func clientAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

func (g *Guard) allowed(a netip.Addr) bool {
	for _, p := range g.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (g *Guard) authenticate(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	hash, known := g.users[user]
	if !known {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(pass))
		return false
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(pass)) == nil
}

func (g *Guard) lockedOut(a netip.Addr) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.failures[a]
	return f != nil && f.count >= maxFailures && time.Now().Before(f.until)
}

func (g *Guard) recordFailure(a netip.Addr) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.failures[a]
	if f == nil || time.Now().After(f.until) {
		if len(g.failures) > 10000 {
			clear(g.failures)
		}
		f = &failure{}
		g.failures[a] = f
	}
	f.count++
	f.until = time.Now().Add(lockout)
}
