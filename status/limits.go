package status

import "time"

// Limits is the state of the [[limit]] rules: what the status page,
// status.json and the metrics show about rate limits, in-flight caps and
// temporary bans.
type Limits struct {
	// Rules in config order.
	Rules []LimitRule `json:"rules"`
	// Bans in force, soonest to end first (at most MaxBansShown).
	Bans []Ban `json:"bans"`
	// Banned is the number of banned clients (may exceed len(Bans)).
	Banned int `json:"banned"`
	// TopLimited are the clients rejected most often, most first.
	TopLimited []LimitedClient `json:"top_limited"`
	// InFlight is the requests being served per route name.
	InFlight map[string]int64 `json:"in_flight"`
}

// MaxBansShown bounds Limits.Bans.
const MaxBansShown = 100

// LimitRule is one [[limit]] rule's counters.
type LimitRule struct {
	Name        string `json:"name"`
	Path        string `json:"path"`
	Rate        string `json:"rate,omitempty"`
	Limited     uint64 `json:"limited"`       // requests rejected (429 or 503) since start
	InFlight    int64  `json:"in_flight"`     // requests of this rule being served
	MaxInFlight int    `json:"max_in_flight"` // 0: no cap
	Clients     int    `json:"clients"`       // per-client entries held
	Banned      int    `json:"banned"`        // clients banned by this rule
}

// Ban is one client banned by a rule until Until.
type Ban struct {
	Client string    `json:"client"` // an address, or an IPv6 /64
	Rule   string    `json:"rule"`
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until"`
}

// LimitedClient is a client and how often a rule rejected it.
type LimitedClient struct {
	Client   string `json:"client"`
	Rule     string `json:"rule"`
	Rejected uint64 `json:"rejected"`
}

// SetLimits records the state of the limit rules.
func (r *Registry) SetLimits(l Limits) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.limits = l
}
