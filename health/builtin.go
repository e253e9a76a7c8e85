package health

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gitcourse/edge/status"
)

// Thresholds of the built-in checks.
const (
	// CertWarn is how long before expiry a certificate check warns.
	CertWarn = 21 * 24 * time.Hour
	// CertFail is how long before expiry a certificate check fails.
	CertFail = 7 * 24 * time.Hour
	// BackupMaxAge is the age of the last successful backup above which
	// the backup check fails.
	BackupMaxAge = 26 * time.Hour
)

// CertExpiry checks the certificate of one domain: a warning CertWarn
// before it expires, a failure CertFail before, and a failure when the
// domain has no certificate.
type CertExpiry struct {
	// Domain is the name whose certificate is judged.
	Domain string
	// Expiry returns when the certificate of each domain expires.
	Expiry func() map[string]time.Time
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Check judges the time left.
func (c *CertExpiry) Check(context.Context) error {
	at, ok := c.Expiry()[c.Domain]
	if !ok || at.IsZero() {
		return fmt.Errorf("no certificate for %s yet", c.Domain)
	}
	left := at.Sub(nowOf(c.Now))
	switch {
	case left <= 0:
		return fmt.Errorf("certificate for %s expired at %s", c.Domain, at.UTC().Format(time.RFC3339))
	case left < CertFail:
		return fmt.Errorf("certificate for %s expires in %s (at %s): renewal is failing", c.Domain, days(left), at.UTC().Format(time.RFC3339))
	case left < CertWarn:
		return Warn(fmt.Errorf("certificate for %s expires in %s (at %s): renewal should have happened", c.Domain, days(left), at.UTC().Format(time.RFC3339)))
	}
	return nil
}

func days(d time.Duration) string {
	n := int(d / (24 * time.Hour))
	if n == 1 {
		return "1 day"
	}
	if n == 0 {
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%d days", n)
}

func nowOf(now func() time.Time) time.Time {
	if now == nil {
		return time.Now()
	}
	return now()
}

// BackupFreshness fails when the last backup or its verification failed,
// or when the last success is older than BackupMaxAge; before the first
// backup it warns.
type BackupFreshness struct {
	// State returns the backup worker's state.
	State func() status.Backup
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Check judges the backup state.
func (b *BackupFreshness) Check(context.Context) error {
	st := b.State()
	if !st.Configured {
		return nil // the backup worker has not reported (yet)
	}
	if st.LastError != "" {
		return fmt.Errorf("last backup failed: %s", st.LastError)
	}
	if !st.LastVerified.IsZero() && !st.LastVerifyOK {
		return fmt.Errorf("last backup verification failed: %s", st.LastVerifyDetail)
	}
	if st.LastSuccess.IsZero() {
		return Warn(errors.New("no successful backup yet"))
	}
	if age := nowOf(b.Now).Sub(st.LastSuccess); age > BackupMaxAge {
		return fmt.Errorf("last successful backup is %s old (at %s), over %s", age.Round(time.Minute),
			st.LastSuccess.UTC().Format(time.RFC3339), BackupMaxAge)
	}
	return nil
}

// Upstreams fails while the proxy has ejected an upstream of a route.
type Upstreams struct {
	// Route is the route's path.
	Route string
	// State returns the route's upstreams as the proxy sees them.
	State func(route string) []status.Upstream
}

// Check lists the upstreams that are down.
func (u *Upstreams) Check(context.Context) error {
	var down []string
	for _, up := range u.State(u.Route) {
		if up.Up {
			continue
		}
		s := up.Addr
		if up.LastError != "" {
			s += " (" + up.LastError + ")"
		}
		down = append(down, s)
	}
	if len(down) > 0 {
		return fmt.Errorf("route %s: upstream ejected by the proxy: %s", u.Route, strings.Join(down, "; "))
	}
	return nil
}
