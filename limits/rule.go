package limits

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gitcourse/edge/config"
	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// rule is one [[limit]] rule and its state. The state (clients, slots,
// bans) is shared with the rule of the next configuration when the
// settings are the same.
type rule struct {
	cfg         config.Limit
	fingerprint string
	allow       []netip.Prefix
	limit       rate.Limit
	clients     *lru.Cache[netip.Addr, *client]
	slots       chan struct{} // nil: no in-flight cap
	bans        *banTable
	limited     *atomic.Uint64 // rejections since start, kept while the name stays
	top         *topClients
}

// client is what a rule holds per client key.
type client struct {
	lim *rate.Limiter // nil when the rule has no rate

	mu          sync.Mutex
	windowStart time.Time
	rejections  int
}

// newRule builds a rule; prev is the rule of the same name in the
// previous configuration, or nil.
func newRule(lc config.Limit, prev *rule) (*rule, error) {
	r := &rule{cfg: lc, fingerprint: fmt.Sprintf("%#v", lc), limit: rate.Limit(lc.Rate.PerSecond())}
	for _, n := range lc.Allow {
		p, err := config.ParseNetwork(n)
		if err != nil {
			return nil, fmt.Errorf("limit %s: allow: %w", lc.Name, err)
		}
		r.allow = append(r.allow, p)
	}
	if prev != nil {
		r.limited = prev.limited
		if prev.fingerprint == r.fingerprint {
			r.clients, r.slots, r.bans, r.top = prev.clients, prev.slots, prev.bans, prev.top
			return r, nil
		}
	}
	if r.limited == nil {
		r.limited = new(atomic.Uint64)
	}
	clients, err := lru.New[netip.Addr, *client](lc.MaxClients)
	if err != nil {
		return nil, fmt.Errorf("limit %s: %w", lc.Name, err)
	}
	r.clients = clients
	if lc.MaxInFlight > 0 {
		r.slots = make(chan struct{}, lc.MaxInFlight)
	}
	r.bans = &banTable{m: map[netip.Addr]ban{}, max: lc.MaxClients}
	r.top = &topClients{m: map[netip.Addr]uint64{}}
	return r, nil
}

// matches reports whether the rule applies to a request.
func (r *rule) matches(path, method string) bool {
	if !matchPrefix(path, r.cfg.Path) {
		return false
	}
	return len(r.cfg.Methods) == 0 || slices.Contains(r.cfg.Methods, method)
}

// allowed reports whether key is in the rule's allow list.
func (r *rule) allowed(key netip.Addr) bool {
	for _, p := range r.allow {
		if p.Contains(key) {
			return true
		}
	}
	return false
}

// clientFor returns key's entry, adding it (and evicting the least
// recently used one when full).
func (r *rule) clientFor(key netip.Addr) *client {
	if c, ok := r.clients.Get(key); ok {
		return c
	}
	c := &client{}
	if r.limit > 0 {
		c.lim = rate.NewLimiter(r.limit, r.cfg.Burst)
	}
	if prev, found, _ := r.clients.PeekOrAdd(key, c); found {
		return prev
	}
	return c
}

// take spends one token of key's bucket; when none is left it returns how
// long until one is, and false.
func (r *rule) take(key netip.Addr, now time.Time) (time.Duration, bool) {
	if r.limit == 0 {
		return 0, true
	}
	c := r.clientFor(key)
	if c.lim.AllowN(now, 1) {
		return 0, true
	}
	missing := 1 - c.lim.TokensAt(now)
	return time.Duration(missing / float64(r.limit) * float64(time.Second)), false
}

// acquire takes an in-flight slot, waiting up to queue_timeout.
func (r *rule) acquire(ctx context.Context) bool {
	select {
	case r.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(r.cfg.QueueTimeout.Duration)
	defer t.Stop()
	select {
	case r.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (r *rule) release() { <-r.slots }

// countRejection counts one rejection of key in the current ban window and
// bans key when it reaches ban_after; it returns the ban's end and true
// then.
func (r *rule) countRejection(key netip.Addr, now time.Time) (time.Time, bool) {
	c := r.clientFor(key)
	c.mu.Lock()
	if c.windowStart.IsZero() || now.Sub(c.windowStart) > r.cfg.BanWindow.Duration {
		c.windowStart, c.rejections = now, 0
	}
	c.rejections++
	reached := c.rejections >= r.cfg.BanAfter
	if reached {
		c.rejections, c.windowStart = 0, time.Time{}
	}
	c.mu.Unlock()
	if !reached {
		return time.Time{}, false
	}
	until := now.Add(r.cfg.BanFor.Duration)
	return until, r.bans.add(key, now, until)
}

// banned reports whether key is banned at now, and until when.
func (r *rule) banned(key netip.Addr, now time.Time) (time.Time, bool) {
	return r.bans.get(key, now)
}

// unban lifts key's ban and forgets its rejections.
func (r *rule) unban(key netip.Addr) bool {
	if c, ok := r.clients.Peek(key); ok {
		c.mu.Lock()
		c.rejections, c.windowStart = 0, time.Time{}
		c.mu.Unlock()
	}
	return r.bans.remove(key)
}

func (r *rule) sweep(now time.Time) { r.bans.sweep(now) }

func (r *rule) noteLimited(key netip.Addr) { r.top.add(key) }

// ban is one client's ban.
type ban struct{ since, until time.Time }

// banTable holds a rule's bans, at most max of them.
type banTable struct {
	n   atomic.Int64 // len(m), read without the lock on every request
	mu  sync.Mutex
	m   map[netip.Addr]ban
	max int
}

// any reports whether the table holds a ban, without the lock.
func (t *banTable) any() bool { return t.n.Load() > 0 }

func (t *banTable) get(key netip.Addr, now time.Time) (time.Time, bool) {
	if t.n.Load() == 0 {
		return time.Time{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.m[key]
	if !ok {
		return time.Time{}, false
	}
	if !now.Before(b.until) {
		delete(t.m, key)
		t.n.Store(int64(len(t.m)))
		return time.Time{}, false
	}
	return b.until, true
}

// add bans key; a full table first drops expired bans and, still full,
// refuses (the rate limit keeps applying to that client).
func (t *banTable) add(key netip.Addr, now, until time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.m[key]; !ok && len(t.m) >= t.max {
		t.sweepLocked(now)
		if len(t.m) >= t.max {
			return false
		}
	}
	t.m[key] = ban{since: now, until: until}
	t.n.Store(int64(len(t.m)))
	return true
}

func (t *banTable) remove(key netip.Addr) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.m[key]
	delete(t.m, key)
	t.n.Store(int64(len(t.m)))
	return ok
}

func (t *banTable) sweep(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweepLocked(now)
}

func (t *banTable) sweepLocked(now time.Time) {
	for k, b := range t.m {
		if !now.Before(b.until) {
			delete(t.m, k)
		}
	}
	t.n.Store(int64(len(t.m)))
}

// topClients counts rejections per client for the status page, for at
// most maxTop clients (the first seen; enough to name the abusers).
type topClients struct {
	mu sync.Mutex
	m  map[netip.Addr]uint64
}

const maxTop = 1024

func (t *topClients) add(key netip.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.m[key]; ok || len(t.m) < maxTop {
		t.m[key]++
	}
}
