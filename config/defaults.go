package config

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Default values of the security headers (SPEC §2).
const (
	DefaultHSTS              = "max-age=63072000; includeSubDomains"
	DefaultCSP               = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
	DefaultFrameOptions      = "DENY"
	DefaultReferrerPolicy    = "strict-origin-when-cross-origin"
	DefaultPermissionsPolicy = "camera=(), microphone=(), geolocation=()"
	DefaultACMECA            = "https://acme-v02.api.letsencrypt.org/directory"
)

// Local returns the built-in configuration used when there is no config
// file: HTTP :8080, HTTPS :8443 with the internal CA for localhost, root
// ./dist, /api/ proxied to 127.0.0.1:8000, state under the user's state
// directory.
func Local() *Config {
	cfg := &Config{pos: positions{}, builtin: true}
	cfg.Server.HTTP = ":8080"
	cfg.Server.HTTPS = ":8443"
	state := localStateDir()
	cfg.Server.StateDir = state
	cfg.Server.AdminSocket = filepath.Join(state, "admin.sock")
	cfg.Site.Domains = []string{"localhost", "127.0.0.1", "::1"}
	cfg.Site.Root = "dist"
	cfg.TLS.Internal = true
	cfg.Routes = []Route{{Path: "/api/", Upstreams: []string{"127.0.0.1:8000"}}}
	cfg.applyDefaults()
	return cfg
}

func localStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "edge")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "edge")
	}
	return filepath.Join(os.TempDir(), "edge-state")
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

func setDuration(d *Duration, def time.Duration) {
	if d.Duration == 0 && d.invalid == "" {
		d.Duration = def
	}
}

func strPtr(s string) *string { return &s }

func boolPtr(b bool) *bool { return &b }

// applyDefaults fills every key the file left out. Keys that were written,
// even as "", keep their value.
func (c *Config) applyDefaults() {
	s := &c.Server
	if !c.pos.has("server.http") {
		setDefault(&s.HTTP, ":80")
	}
	if !c.pos.has("server.https") {
		setDefault(&s.HTTPS, ":443")
	}
	setDefault(&s.StateDir, "/var/lib/edge")
	setDefault(&s.AdminSocket, defaultAdminSocket)
	setDefault(&s.AccessLog, "stdout")
	setDuration(&s.ShutdownTimeout, 10*time.Second)
	s.applyHTTP3Default()

	if c.Site.SPA == nil {
		c.Site.SPA = boolPtr(true)
	}
	if c.Site.Immutable == nil && !c.pos.has("site.immutable") {
		c.Site.Immutable = []string{"/assets/"}
	}
	if c.Site.Compress == nil && !c.pos.has("site.compress") {
		c.Site.Compress = []string{"br", "gzip"}
	}
	for i := range c.Routes {
		c.Routes[i].applyDefaults(c.pos, fmt.Sprintf("route[%d]", i))
	}
	c.TLS.applyDefaults()
	c.Headers.applyDefaults()
	c.Admin.applyDefaults()
	if c.Backup != nil {
		c.Backup.applyDefaults(c.pos)
		if c.Backup.Remote != nil {
			c.Backup.Remote.applyDefaults(c.Backup, c.pos)
		}
	}
	for i := range c.Checks {
		c.Checks[i].applyDefaults(c.pos, fmt.Sprintf("check[%d]", i))
	}
	c.Alerts.applyDefaults()
	c.applyLimitDefaults()
	if c.Logs != nil {
		c.Logs.applyDefaults()
	}
	c.Cluster.applyDefaults()
}

// applyDefaults fills the check's unset keys; key is its path in the file
// ("check[0]"), so that a written 0 is kept for Validate to judge.
func (ch *Check) applyDefaults(pos positions, key string) {
	setDuration(&ch.Interval, 30*time.Second)
	// The default timeout follows a short interval: a run ends before the next.
	setDuration(&ch.Timeout, min(5*time.Second, ch.Interval.Duration))
	if ch.Disk != "" && ch.MinFree.Bytes == 0 && ch.MinFree.invalid == "" {
		ch.MinFree.Bytes = 1e9
	}
	for _, d := range []struct {
		name string
		v    *int
		def  int
	}{{"failures", &ch.Failures, 3}, {"successes", &ch.Successes, 2}, {"min_requests", &ch.MinRequests, 20}} {
		if !pos.has(key + "." + d.name) {
			setDefault(d.v, d.def)
		}
	}
	if !pos.has(key + ".min_free_inodes") {
		setDefault(&ch.MinFreeInodes, 1000)
	}
	if !pos.has(key + ".max_error_rate") {
		setDefault(&ch.MaxErrorRate, 0.05)
	}
	if !pos.has(key + ".max_p95") {
		setDuration(&ch.MaxP95, 2*time.Second)
	}
	setDuration(&ch.Window, 5*time.Minute)
}

func (a *Alerts) applyDefaults() {
	setDuration(&a.Repeat, 4*time.Hour)
	setDuration(&a.HeartbeatInterval, time.Minute)
	if e := a.Email; e != nil {
		setDuration(&e.Timeout, 10*time.Second)
	}
	if t := a.Telegram; t != nil {
		setDefault(&t.API, "https://api.telegram.org")
		setDuration(&t.Timeout, 10*time.Second)
	}
	if w := a.Webhook; w != nil {
		setDuration(&w.Timeout, 10*time.Second)
	}
}

// applyDefaults fills the route's unset keys; key is its path in the file
// ("route[0]"), so that a written 0 is kept for Validate to judge.
func (r *Route) applyDefaults(pos positions, key string) {
	if r.PassHost == nil {
		r.PassHost = boolPtr(true)
	}
	setDuration(&r.Health.Interval, 10*time.Second)
	setDuration(&r.Health.Timeout, 2*time.Second)
	if !pos.has(key + ".health.healthy") {
		setDefault(&r.Health.Healthy, 2)
	}
	if !pos.has(key + ".health.unhealthy") {
		setDefault(&r.Health.Unhealthy, 3)
	}
	if !pos.has(key + ".passive_cooldown") {
		setDuration(&r.PassiveCooldown, 10*time.Second)
	}
	r.applyRetryDefaults(pos, key)
	setDuration(&r.Timeouts.Connect, 2*time.Second)
	setDuration(&r.Timeouts.ResponseHeader, 30*time.Second)
	setDuration(&r.Timeouts.Idle, 90*time.Second)
	if r.MaxBody.Bytes == 0 && r.MaxBody.invalid == "" {
		r.MaxBody.Bytes = 10e6
	}
}

func (t *TLS) applyDefaults() {
	setDefault(&t.ACMECA, DefaultACMECA)
	setDefault(&t.MinVersion, "1.2")
	if t.Challenges == nil {
		t.Challenges = []string{"http-01", "tls-alpn-01"}
	}
	setDuration(&t.RenewInterval, 10*time.Minute)
	setDuration(&t.ReadyTimeout, 60*time.Second)
	setDefault(&t.RenewalWindowRatio, 0.33)
}

func (h *Headers) applyDefaults() {
	for _, d := range []struct {
		p   **string
		def string
	}{
		{&h.HSTS, DefaultHSTS}, {&h.CSP, DefaultCSP}, {&h.FrameOptions, DefaultFrameOptions},
		{&h.ReferrerPolicy, DefaultReferrerPolicy}, {&h.PermissionsPolicy, DefaultPermissionsPolicy},
	} {
		if *d.p == nil {
			*d.p = strPtr(d.def)
		}
	}
}

func (a *Admin) applyDefaults() {
	setDefault(&a.Path, "/admin")
	if a.Allow == nil {
		a.Allow = []string{"127.0.0.1/32", "::1/128"}
	}
}

func (b *Backup) applyDefaults(pos positions) {
	if b.Schedule.text == "" && b.Schedule.err == nil {
		b.Schedule = MustSchedule("03:00")
	}
	setDefault(&b.Format, "custom")
	setDefault(&b.Verify, "scratch-cluster")
	for _, k := range []struct {
		key string
		v   *int
		def int
	}{{"keep_daily", &b.KeepDaily, 7}, {"keep_weekly", &b.KeepWeekly, 4}, {"keep_monthly", &b.KeepMonthly, 6}} {
		if !pos.has("backup." + k.key) {
			*k.v = k.def
		}
	}
}
