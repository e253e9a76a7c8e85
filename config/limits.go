package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Limit is one [[limit]] rule: a request rate per client, a cap on
// requests in flight and temporary bans, for a path prefix. The first rule
// whose path and method match a request applies.
type Limit struct {
	// Name labels the rule in metrics, the access log and the status page.
	Name string `toml:"name"`
	// Path is the URL path prefix the rule applies to, starting with "/".
	Path string `toml:"path"`
	// Methods the rule applies to, such as ["POST"]. Default: [] (every method).
	Methods []string `toml:"methods"`
	// Rate is requests per client: "N/s", "N/m" or "N/h". Default: "" (no
	// rate limit; the rule then only caps requests in flight).
	Rate Rate `toml:"rate"`
	// Burst is how many requests a client may send at once before the rate
	// applies. Default: N of the rate.
	Burst int `toml:"burst"`
	// MaxInFlight caps the rule's requests being served at once, over all
	// clients; beyond it a request waits up to QueueTimeout, then gets 503.
	// Default: 0 (no cap).
	MaxInFlight int `toml:"max_in_flight"`
	// QueueTimeout is how long a request waits for a free slot. Default: "2s".
	QueueTimeout Duration `toml:"queue_timeout"`
	// BanAfter is how many rejections (429, or 401/403 from the upstream)
	// within BanWindow ban the client for BanFor. Default: 0 (no bans).
	BanAfter int `toml:"ban_after"`
	// BanWindow is the window rejections are counted in. Default: "10m".
	BanWindow Duration `toml:"ban_window"`
	// BanFor is how long a ban lasts. Default: "15m".
	BanFor Duration `toml:"ban_for"`
	// Allow are client networks (CIDR or address) never limited or banned.
	// Default: [].
	Allow []string `toml:"allow"`
	// MaxClients bounds the per-client entries kept; the least recently
	// used are evicted. Default: 100000.
	MaxClients int `toml:"max_clients"`
}

// DefaultMaxConnsPerIP is server.max_conns_per_ip when the file leaves it out.
const DefaultMaxConnsPerIP = 256

// Rate is a number of events per second, minute or hour ("10/m"). Like
// Duration, a bad value is kept for Validate to report with its line.
type Rate struct {
	// N is the number of events per Per; 0 means no rate.
	N int
	// Per is time.Second, time.Minute or time.Hour.
	Per     time.Duration
	invalid string
}

// ErrRate reports a value that is not a rate.
var ErrRate = errors.New(`not a rate: use a count per second, minute or hour, such as "5/s", "10/m" or "1000/h"`)

var rateRE = regexp.MustCompile(`^([0-9]{1,9})/(s|m|h)$`)

// ParseRate parses "N/s", "N/m" or "N/h" with N from 1 to 999999999.
func ParseRate(s string) (Rate, error) {
	m := rateRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Rate{}, fmt.Errorf("%q: %w", s, ErrRate)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n < 1 {
		return Rate{}, fmt.Errorf("%q: %w", s, ErrRate)
	}
	per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[m[2]]
	return Rate{N: n, Per: per}, nil
}

// PerSecond is the rate in events per second; 0 when unset.
func (r Rate) PerSecond() float64 {
	if r.N == 0 || r.Per == 0 {
		return 0
	}
	return float64(r.N) / r.Per.Seconds()
}

// String writes the rate as it is written in the file ("10/m"), "" when unset.
func (r Rate) String() string {
	if r.N == 0 {
		return ""
	}
	unit := map[time.Duration]string{time.Second: "s", time.Minute: "m", time.Hour: "h"}[r.Per]
	return strconv.Itoa(r.N) + "/" + unit
}

// UnmarshalText parses a rate; "" leaves it unset.
func (r *Rate) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*r = Rate{}
		return nil
	}
	v, err := ParseRate(string(b))
	if err != nil {
		*r = Rate{invalid: string(b)}
		return nil
	}
	*r = v
	return nil
}

// MarshalText writes the rate as "N/unit".
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

func (r Rate) check() error {
	if r.invalid != "" {
		return fmt.Errorf("%q: %w", r.invalid, ErrRate)
	}
	return nil
}

// applyLimitDefaults fills the unset keys of server.max_conns_per_ip and
// every [[limit]]; written values, even 0, are kept for Validate.
func (c *Config) applyLimitDefaults() {
	if !c.pos.has("server.max_conns_per_ip") {
		c.Server.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	for i := range c.Limits {
		l, key := &c.Limits[i], fmt.Sprintf("limit[%d]", i)
		if !c.pos.has(key+".burst") && l.Rate.N > 0 {
			l.Burst = l.Rate.N
		}
		for _, d := range []struct {
			name string
			v    *Duration
			def  time.Duration
		}{{"queue_timeout", &l.QueueTimeout, 2 * time.Second}, {"ban_window", &l.BanWindow, 10 * time.Minute}, {"ban_for", &l.BanFor, 15 * time.Minute}} {
			if !c.pos.has(key + "." + d.name) {
				setDuration(d.v, d.def)
			}
		}
		if !c.pos.has(key + ".max_clients") {
			l.MaxClients = 100000
		}
	}
}

var (
	limitNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,64}$`)
	methodRE    = regexp.MustCompile(`^[A-Z]{1,20}$`)
)

// limits validates server.max_conns_per_ip and every [[limit]].
func (v *validator) limits() {
	if n := v.c.Server.MaxConnsPerIP; n < 0 {
		v.failf("server.max_conns_per_ip", ErrInvalidValue, "%d (fix: a count of connections, or 0 for no cap)", n)
	}
	names := map[string]int{}
	for i, l := range v.c.Limits {
		key := fmt.Sprintf("limit[%d]", i)
		switch {
		case l.Name == "":
			v.fail(key+".name", ErrRequired)
		case !limitNameRE.MatchString(l.Name):
			v.failf(key+".name", ErrInvalidValue, "%q (fix: letters, digits, \".\", \"_\" and \"-\", at most 64)", l.Name)
		default:
			if j, dup := names[l.Name]; dup {
				v.failf(key+".name", ErrDuplicate, "%q already used by limit[%d]", l.Name, j)
			}
			names[l.Name] = i
		}
		switch {
		case l.Path == "":
			v.fail(key+".path", ErrRequired)
		case !strings.HasPrefix(l.Path, "/"):
			v.failf(key+".path", ErrInvalidValue, "%q must start with / (fix: \"/api/auth/\")", l.Path)
		}
		for j, m := range l.Methods {
			if !methodRE.MatchString(m) {
				v.failf(fmt.Sprintf("%s.methods[%d]", key, j), ErrInvalidValue, "%q (fix: an upper-case method such as \"POST\")", m)
			}
		}
		v.limitCounts(key, l)
		v.durations(key, map[string]Duration{"queue_timeout": l.QueueTimeout, "ban_window": l.BanWindow, "ban_for": l.BanFor})
		for j, n := range l.Allow {
			if _, err := ParseNetwork(n); err != nil {
				v.failf(fmt.Sprintf("%s.allow[%d]", key, j), ErrBadCIDR, "%q (fix: \"10.0.0.0/8\" or \"192.0.2.7\")", n)
			}
		}
	}
}

// limitCounts checks the rule's rate, burst, caps and ban settings.
func (v *validator) limitCounts(key string, l Limit) {
	if err := l.Rate.check(); err != nil {
		v.fail(key+".rate", err)
	} else if l.Rate.N == 0 && l.MaxInFlight == 0 {
		v.failf(key, ErrRequired, "rate or max_in_flight: the rule limits nothing (fix: rate = \"10/m\")")
	}
	if l.Rate.N > 0 && l.Burst < 1 {
		v.failf(key+".burst", ErrInvalidValue, "%d (fix: at least 1, the requests a client may send at once)", l.Burst)
	}
	for name, n := range map[string]int{"max_in_flight": l.MaxInFlight, "ban_after": l.BanAfter, "burst": l.Burst} {
		if n < 0 {
			v.failf(key+"."+name, ErrInvalidValue, "%d must not be negative", n)
		}
	}
	if l.MaxClients < 1 {
		v.failf(key+".max_clients", ErrInvalidValue, "%d (fix: at least 1; 100000 entries take about 20 MB)", l.MaxClients)
	}
	if l.MaxInFlight > 0 && l.QueueTimeout.check() == nil && l.QueueTimeout.Duration <= 0 {
		v.failf(key+".queue_timeout", ErrInvalidValue, "must be above 0 when max_in_flight is set (fix: \"2s\")")
	}
	if l.BanAfter > 0 {
		for name, d := range map[string]Duration{"ban_window": l.BanWindow, "ban_for": l.BanFor} {
			if d.check() == nil && d.Duration <= 0 {
				v.failf(key+"."+name, ErrInvalidValue, "must be above 0 when ban_after is set (fix: \"10m\")")
			}
		}
	}
}
