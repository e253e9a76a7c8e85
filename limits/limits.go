// Package limits protects the site from abusive clients: [[limit]] rules
// rate-limit requests per client (a token bucket from golang.org/x/time/rate),
// cap the requests a rule has in flight, and ban clients that keep being
// rejected. It is one middleware built from the config, placed after the
// access log and host check and before the router.
//
// The per-client tables are bounded (max_clients, least recently used
// evicted). A reload builds a new Set from the previous one: rules whose
// settings did not change keep their clients, counters and bans.
package limits

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gitcourse/edge/accesslog"
	"github.com/gitcourse/edge/config"
)

// RouteInfo names one route of the router, for the in-flight gauge and
// the shape of a rejection (JSON under a proxy route, a page elsewhere).
type RouteInfo struct {
	Name  string
	Proxy bool
}

// Options configure New.
type Options struct {
	// Rules are the [[limit]] rules, validated by config.
	Rules []config.Limit
	// ClientAddr is the client address of a request as edge determines it
	// (trusted_proxies respected). Required.
	ClientAddr func(*http.Request) netip.Addr
	// Routes are the router's routes; Route maps a path to an index in
	// Routes. Both nil: one route "site", not a proxy.
	Routes []RouteInfo
	Route  func(path string) int
	// Logger receives ban events; nil: slog.Default().
	Logger *slog.Logger
	// Prev is the Set of the configuration being replaced, or nil. Rules
	// with the same settings take over its clients, counters and bans.
	Prev *Set
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Set is the limits of one configuration: a middleware and its state.
type Set struct {
	rules      []*rule
	banning    []*rule // rules with ban_after > 0
	clientAddr func(*http.Request) netip.Addr
	routes     []RouteInfo
	routeOf    func(string) int
	inFlight   []*atomic.Int64 // by route index, kept across reloads by name
	log        *slog.Logger
	now        func() time.Time
}

// New builds the limits for opts.Rules.
func New(opts Options) (*Set, error) {
	if opts.ClientAddr == nil {
		return nil, fmt.Errorf("limits: no client address function")
	}
	s := &Set{clientAddr: opts.ClientAddr, routes: opts.Routes, routeOf: opts.Route, log: opts.Logger, now: opts.Now}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "limits")
	if s.now == nil {
		s.now = time.Now
	}
	if s.routeOf == nil || len(s.routes) == 0 {
		s.routes, s.routeOf = []RouteInfo{{Name: "site"}}, func(string) int { return 0 }
	}
	for _, rt := range s.routes {
		g := new(atomic.Int64)
		if opts.Prev != nil {
			if old := opts.Prev.inFlightOf(rt.Name); old != nil {
				g = old
			}
		}
		s.inFlight = append(s.inFlight, g)
	}
	for _, lc := range opts.Rules {
		r, err := newRule(lc, opts.Prev.ruleNamed(lc.Name))
		if err != nil {
			return nil, err
		}
		s.rules = append(s.rules, r)
		if lc.BanAfter > 0 {
			s.banning = append(s.banning, r)
		}
	}
	return s, nil
}

func (s *Set) inFlightOf(route string) *atomic.Int64 {
	for i, rt := range s.routes {
		if rt.Name == route {
			return s.inFlight[i]
		}
	}
	return nil
}

func (s *Set) ruleNamed(name string) *rule {
	if s == nil {
		return nil
	}
	for _, r := range s.rules {
		if r.cfg.Name == name {
			return r
		}
	}
	return nil
}

// Middleware applies the rules to every request that reaches next.
func (s *Set) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := s.routeOf(r.URL.Path)
		if ri < 0 || ri >= len(s.routes) {
			ri = 0
		}
		g := s.inFlight[ri]
		g.Add(1)
		defer g.Add(-1)
		if len(s.rules) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		s.serve(w, r, next, s.routes[ri].Proxy)
	})
}

// serve checks bans, then the first matching rule, then serves. The
// client address is worked out only when a ban or a rule needs it.
func (s *Set) serve(w http.ResponseWriter, r *http.Request, next http.Handler, proxy bool) {
	var key netip.Addr
	var now time.Time
	for _, br := range s.banning {
		if !br.bans.any() {
			continue
		}
		if !key.IsValid() {
			key, now = Key(s.clientAddr(r)), s.now()
		}
		if until, ok := br.banned(key, now); ok {
			accesslog.SetLimited(w, br.cfg.Name)
			reject(w, r, http.StatusForbidden, until.Sub(now), proxy)
			return
		}
	}
	rl := s.match(r)
	if rl == nil {
		next.ServeHTTP(w, r)
		return
	}
	if !key.IsValid() {
		key, now = Key(s.clientAddr(r)), s.now()
	}
	if rl.allowed(key) {
		next.ServeHTTP(w, r)
		return
	}
	if wait, ok := rl.take(key, now); !ok {
		rl.limited.Add(1)
		s.rejected(rl, key, now)
		accesslog.SetLimited(w, rl.cfg.Name)
		reject(w, r, http.StatusTooManyRequests, wait, proxy)
		return
	}
	if rl.slots != nil {
		if !rl.acquire(r.Context()) {
			rl.limited.Add(1)
			accesslog.SetLimited(w, rl.cfg.Name)
			reject(w, r, http.StatusServiceUnavailable, rl.cfg.QueueTimeout.Duration, proxy)
			return
		}
		defer rl.release()
	}
	if proxy && rl.cfg.BanAfter > 0 {
		w = &statusWatch{ResponseWriter: w, s: s, rl: rl, key: key}
	}
	next.ServeHTTP(w, r)
}

// match returns the first rule for r's path and method, or nil.
func (s *Set) match(r *http.Request) *rule {
	for _, rl := range s.rules {
		if rl.matches(r.URL.Path, r.Method) {
			return rl
		}
	}
	return nil
}

// rejected counts a rejection of key by rl and bans key when it reaches
// ban_after within ban_window; the ban is logged once.
func (s *Set) rejected(rl *rule, key netip.Addr, now time.Time) {
	rl.noteLimited(key)
	if rl.cfg.BanAfter == 0 {
		return
	}
	if until, banned := rl.countRejection(key, now); banned {
		s.log.Warn("client banned", "client", KeyString(key), "limit", rl.cfg.Name,
			"for", rl.cfg.BanFor.Duration.String(), "until", until.UTC().Format(time.RFC3339),
			"fix", "edge unban "+KeyString(key)+" lifts it")
	}
}

// Unban lifts the bans of addr's client (its /64 for IPv6) in every rule
// and forgets its rejections; it reports how many bans were lifted.
func (s *Set) Unban(addr netip.Addr) int {
	key := Key(addr)
	n := 0
	for _, rl := range s.rules {
		if rl.unban(key) {
			n++
		}
	}
	if n > 0 {
		s.log.Info("client unbanned", "client", KeyString(key))
	}
	return n
}

// Run removes expired bans every interval until ctx ends. The site's
// workers start it, so a reload stops the old one.
func (s *Set) Run(ctx context.Context) error {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			now := s.now()
			for _, rl := range s.banning {
				rl.sweep(now)
			}
		}
	}
}

// sweepEvery is how often expired bans are dropped (they are also dropped
// when their client comes back).
const sweepEvery = 30 * time.Second

// Key is the client key of addr: the address itself, or its /64 for IPv6
// (one customer's network), so that a client cannot escape a limit by
// rotating through its own addresses.
func Key(addr netip.Addr) netip.Addr {
	addr = addr.Unmap()
	if addr.Is6() {
		p, err := addr.Prefix(64)
		if err == nil {
			return p.Addr()
		}
	}
	return addr
}

// KeyString writes a key: "192.0.2.7" or "2001:db8:1:2::/64".
func KeyString(key netip.Addr) string {
	if key.Is6() {
		return key.String() + "/64"
	}
	return key.String()
}

// matchPrefix is the router's prefix rule: "/api/" matches "/api" and
// everything under "/api/"; "/login" matches "/login" and "/login/...".
func matchPrefix(path, prefix string) bool {
	if strings.HasSuffix(prefix, "/") {
		return strings.HasPrefix(path, prefix) || path == prefix[:len(prefix)-1]
	}
	return path == prefix || strings.HasPrefix(path, prefix) && len(path) > len(prefix) && path[len(prefix)] == '/'
}
