// Package admin guards and serves the admin pages under admin.path (the
// status page, status.json and the Prometheus metrics) and the control
// socket used by "edge status" and "edge reload". Status is the document
// they all show (docs/status-json.md); Assess colours it green, amber or
// red.
//
// Access to the pages is checked in order: the TCP peer must be in
// admin.allow (else 403), then either HTTP Basic credentials must match a
// bcrypt hash of admin.users or an "Authorization: Bearer" token must
// equal admin.token (else 401 with WWW-Authenticate). Failed attempts are
// rate-limited per client address (429). Admin answers are never cached
// (Cache-Control: no-store) and carry a Content-Security-Policy that
// allows nothing but the status page's own style sheet.
package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gitcourse/edge/clientaddr"
	"golang.org/x/crypto/bcrypt"
)

// Guard checks the client network and credentials in front of a handler.
type Guard struct {
	allow []netip.Prefix
	users map[string][]byte
	token *[sha256.Size]byte // nil: no bearer token accepted
	now   func() time.Time   // the clock of the rate limit

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

// NewGuard builds a guard from CIDR strings, user→bcrypt-hash pairs and a
// bearer token ("" accepts none).
func NewGuard(allow []string, users map[string]string, token string) (*Guard, error) {
	g := &Guard{users: map[string][]byte{}, failures: map[netip.Addr]*failure{}, now: time.Now}
	for _, a := range allow {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			return nil, fmt.Errorf("parse admin.allow %q: %w", a, err)
		}
		g.allow = append(g.allow, p.Masked())
	}
	for u, h := range users {
		g.users[u] = []byte(h)
	}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		g.token = &sum
	}
	return g, nil
}

// dummyHashes keep the time of a failed login the same for unknown users:
// one hash per bcrypt cost in use, made once.
var dummyHashes sync.Map // cost → []byte

// dummyHash returns a hash of the same cost as the configured ones.
func (g *Guard) dummyHash() []byte {
	cost := bcrypt.DefaultCost
	for _, h := range g.users {
		if c, err := bcrypt.Cost(h); err == nil {
			cost = c
			break
		}
	}
	if h, ok := dummyHashes.Load(cost); ok {
		return h.([]byte)
	}
	h, err := bcrypt.GenerateFromPassword([]byte("edge-dummy"), cost)
	if err != nil {
		h, _ = bcrypt.GenerateFromPassword([]byte("edge-dummy"), bcrypt.MinCost)
	}
	dummyHashes.Store(cost, h)
	return h
}

// Wrap returns next behind the allow-list, the rate limit and the
// credentials check.
func (g *Guard) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", strictCSP) // the page sets its own
		h.Del("Content-Security-Policy-Report-Only")
		// The allow-list is a network gate: it checks the TCP peer, which
		// no header can forge. Judging it by the forwarded client address
		// would let anyone behind a trusted proxy (or behind a too wide
		// server.trusted_proxies) write their way in with X-Forwarded-For;
		// behind a proxy, allow the proxy's address instead.
		if !g.allowed(clientaddr.PeerOf(r)) {
			http.Error(w, "403 forbidden", http.StatusForbidden)
			return
		}
		// Failed logins are counted per client (package clientaddr): behind
		// a trusted proxy one guessing client does not lock out the others.
		addr := clientaddr.Client(r)
		if g.lockedOut(addr) {
			h.Set("Retry-After", "60")
			http.Error(w, "429 too many failed logins", http.StatusTooManyRequests)
			return
		}
		if !g.authenticate(r) {
			g.recordFailure(addr)
			h.Set("WWW-Authenticate", `Basic realm="edge admin", charset="UTF-8"`)
			if g.token != nil {
				h.Add("WWW-Authenticate", `Bearer realm="edge admin"`)
			}
			http.Error(w, "401 unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
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
	if tok, ok := bearer(r); ok {
		if g.token == nil {
			return false
		}
		// Hashing first makes the comparison constant-time in the
		// token's length too.
		sum := sha256.Sum256([]byte(tok))
		return subtle.ConstantTimeCompare(sum[:], g.token[:]) == 1
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	hash, known := g.users[user]
	if !known {
		_ = bcrypt.CompareHashAndPassword(g.dummyHash(), []byte(pass))
		return false
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(pass)) == nil
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	const prefix = "bearer "
	auth := r.Header.Get("Authorization")
	if len(auth) < len(prefix) || !strings.EqualFold(auth[:len(prefix)], prefix) {
		return "", false
	}
	return strings.TrimSpace(auth[len(prefix):]), true
}

func (g *Guard) lockedOut(a netip.Addr) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.failures[a]
	return f != nil && f.count >= maxFailures && g.now().Before(f.until)
}

func (g *Guard) recordFailure(a netip.Addr) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.failures[a]
	if f == nil || g.now().After(f.until) {
		if len(g.failures) > 10000 {
			clear(g.failures)
		}
		f = &failure{}
		g.failures[a] = f
	}
	f.count++
	f.until = g.now().Add(lockout)
}
