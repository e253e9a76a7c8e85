package limits

import (
	"net/netip"
	"sort"
	"time"

	"github.com/gitcourse/edge/status"
)

// topShown is how many of the most rejected clients the status shows.
const topShown = 10

// Snapshot copies the state of the rules for the status registry.
func (s *Set) Snapshot() status.Limits {
	now := s.now()
	out := status.Limits{Rules: []status.LimitRule{}, Bans: []status.Ban{}, TopLimited: []status.LimitedClient{},
		InFlight: map[string]int64{}}
	for i, rt := range s.routes {
		out.InFlight[rt.Name] = s.inFlight[i].Load()
	}
	for _, rl := range s.rules {
		lr := status.LimitRule{Name: rl.cfg.Name, Path: rl.cfg.Path, Rate: rl.cfg.Rate.String(),
			Limited: rl.limited.Load(), MaxInFlight: rl.cfg.MaxInFlight, Clients: rl.clients.Len()}
		if rl.slots != nil {
			lr.InFlight = int64(len(rl.slots))
		}
		bans := rl.bans.list(rl.cfg.Name, now)
		lr.Banned = len(bans)
		out.Banned += len(bans)
		out.Bans = append(out.Bans, bans...)
		out.TopLimited = append(out.TopLimited, rl.top.list(rl.cfg.Name)...)
		out.Rules = append(out.Rules, lr)
	}
	sort.Slice(out.Bans, func(i, j int) bool { return out.Bans[i].Until.Before(out.Bans[j].Until) })
	if len(out.Bans) > status.MaxBansShown {
		out.Bans = out.Bans[:status.MaxBansShown]
	}
	sort.SliceStable(out.TopLimited, func(i, j int) bool { return out.TopLimited[i].Rejected > out.TopLimited[j].Rejected })
	if len(out.TopLimited) > topShown {
		out.TopLimited = out.TopLimited[:topShown]
	}
	return out
}

func (t *banTable) list(rule string, now time.Time) []status.Ban {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]status.Ban, 0, len(t.m))
	for k, b := range t.m {
		if now.Before(b.until) {
			out = append(out, status.Ban{Client: KeyString(k), Rule: rule, Since: b.since.UTC(), Until: b.until.UTC()})
		}
	}
	return out
}

func (t *topClients) list(rule string) []status.LimitedClient {
	t.mu.Lock()
	defer t.mu.Unlock()
	type kv struct {
		k netip.Addr
		n uint64
	}
	all := make([]kv, 0, len(t.m))
	for k, n := range t.m {
		all = append(all, kv{k, n})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n || all[i].n == all[j].n && all[i].k.Less(all[j].k) })
	out := []status.LimitedClient{}
	for i := 0; i < len(all) && i < topShown; i++ {
		out = append(out, status.LimitedClient{Client: KeyString(all[i].k), Rule: rule, Rejected: all[i].n})
	}
	return out
}
