package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Causes that callers and tests match with errors.Is.
var (
	ErrRequired      = errors.New("required")
	ErrNotExist      = errors.New("path does not exist")
	ErrDuplicate     = errors.New("duplicate")
	ErrInvalidValue  = errors.New("invalid value")
	ErrSecretInFile  = errors.New("secret written in the config file")
	ErrIPAsDomain    = errors.New("an IP address is not a domain")
	ErrBadCIDR       = errors.New("not a CIDR network")
	ErrBadListenAddr = errors.New("not a listen address")
)

// validator collects problems with their lines.
type validator struct {
	c    *Config
	errs *Errors
}

func (v *validator) fail(key string, err error) {
	if v.c.unexpanded[key] {
		return // Parse already reported the ${VAR} that could not be expanded
	}
	v.errs.add(v.c.pos.line(key), key, err)
}

func (v *validator) failf(key string, cause error, format string, args ...any) {
	v.fail(key, fmt.Errorf("%w: %s", cause, fmt.Sprintf(format, args...)))
}

// Validate checks every value and returns all problems as an *Errors, or nil.
// It has no side effects beyond stat-ing the paths the config names.
func (c *Config) Validate() error {
	v := &validator{c: c, errs: &Errors{File: c.File}}
	if v.errs.File == "" {
		v.errs.File = "(built-in defaults)"
	}
	v.server()
	v.http3()
	v.site()
	v.routes()
	v.tls()
	v.headers()
	v.admin()
	v.backup()
	v.checks()
	v.alerts()
	v.limits()
	v.logs()
	v.cluster()
	return v.errs.orNil()
}

func (v *validator) durations(key string, ds map[string]Duration) {
	for name, d := range ds {
		if err := d.check(); err != nil {
			v.fail(join(key, name), err)
		}
	}
}

func (v *validator) listenAddr(key, addr string, optional bool) {
	if addr == "" {
		if !optional {
			v.fail(key, ErrRequired)
		}
		return
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.failf(key, ErrBadListenAddr, "%q (fix: write \":443\" or \"127.0.0.1:8443\")", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.failf(key, ErrBadListenAddr, "port %q out of range 0-65535", port)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		v.failf(key, ErrBadListenAddr, "host %q must be an IP address or empty", host)
	}
}

func (v *validator) server() {
	s := v.c.Server
	v.listenAddr("server.http", s.HTTP, true)
	v.listenAddr("server.https", s.HTTPS, true)
	if s.HTTP == "" && s.HTTPS == "" {
		v.fail("server", fmt.Errorf("%w: at least one of http and https", ErrRequired))
	}
	if s.HTTP != "" && s.HTTP == s.HTTPS {
		v.failf("server.https", ErrDuplicate, "same address as server.http")
	}
	v.absPath("server.state_dir", s.StateDir)
	v.parentExists("server.admin_socket", s.AdminSocket, false)
	switch s.AccessLog {
	case "stdout", "off":
	default:
		if !filepath.IsAbs(s.AccessLog) {
			v.failf("server.access_log", ErrInvalidValue, "%q (fix: \"stdout\", \"off\" or an absolute file path)", s.AccessLog)
		} else {
			v.parentExists("server.access_log", s.AccessLog, true)
		}
	}
	v.durations("server", map[string]Duration{"shutdown_timeout": s.ShutdownTimeout})
	for i, n := range s.TrustedProxies {
		if _, err := ParseNetwork(n); err != nil {
			v.failf(fmt.Sprintf("server.trusted_proxies[%d]", i), ErrBadCIDR, "%q (fix: \"10.0.0.0/8\" or \"192.0.2.7\")", n)
		}
	}
}

// ParseNetwork parses a CIDR network ("10.0.0.0/8") or a single address
// ("192.0.2.7", taken as /32 or /128).
func ParseNetwork(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("parse network %q: %w", s, ErrBadCIDR)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (v *validator) absPath(key, p string) {
	if p == "" {
		v.fail(key, ErrRequired)
	}
}

// parentExists checks that the directory that will hold p exists; runtime
// directories such as /run/edge are created by systemd, so they are only
// checked when mustExist is set.
func (v *validator) parentExists(key, p string, mustExist bool) {
	if p == "" {
		v.fail(key, ErrRequired)
		return
	}
	if !mustExist {
		return
	}
	if _, err := os.Stat(filepath.Dir(p)); err != nil {
		v.failf(key, ErrNotExist, "directory %s (fix: create it or change the path)", filepath.Dir(p))
	}
}

var hostnameRE = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)

func (v *validator) site() {
	s := v.c.Site
	if len(s.Domains) == 0 {
		v.failf("site.domains", ErrRequired, "list the host names to serve, such as [\"example.com\"]")
	}
	seen := map[string]bool{}
	for i, d := range s.Domains {
		key := fmt.Sprintf("site.domains[%d]", i)
		v.domain(key, d)
		if seen[strings.ToLower(d)] {
			v.failf(key, ErrDuplicate, "%q listed twice", d)
		}
		seen[strings.ToLower(d)] = true
	}
	if s.Canonical != "" && !seen[strings.ToLower(s.Canonical)] {
		v.failf("site.canonical", ErrInvalidValue, "%q is not in site.domains (fix: add it there)", s.Canonical)
	}
	v.dirExists("site.root", s.Root)
	for i, p := range s.Immutable {
		if !strings.HasPrefix(p, "/") {
			v.failf(fmt.Sprintf("site.immutable[%d]", i), ErrInvalidValue, "%q must start with /", p)
		}
	}
	for i, enc := range s.Compress {
		if enc != "br" && enc != "gzip" {
			v.failf(fmt.Sprintf("site.compress[%d]", i), ErrInvalidValue, "%q (fix: \"br\" or \"gzip\")", enc)
		}
	}
}

// domain accepts host names and loopback IP addresses (for local use);
// other IP addresses only in the built-in configuration (Local).
func (v *validator) domain(key, d string) {
	if ip := net.ParseIP(d); ip != nil {
		if !v.c.builtin && !ip.IsLoopback() {
			v.failf(key, ErrIPAsDomain, "%q (fix: list DNS names; certificates are issued for names)", d)
		}
		return
	}
	if d != strings.ToLower(d) || len(d) > 253 || !hostnameRE.MatchString(d) {
		v.failf(key, ErrInvalidValue, "%q is not a lower-case host name", d)
	}
}

func (v *validator) dirExists(key, p string) {
	if p == "" {
		v.fail(key, ErrRequired)
		return
	}
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		v.failf(key, ErrNotExist, "%s (fix: create it, or run \"edge release DIR\")", p)
	case !fi.IsDir():
		v.failf(key, ErrInvalidValue, "%s is not a directory", p)
	}
}

func (v *validator) routes() {
	seen := map[string]int{}
	for i, r := range v.c.Routes {
		key := fmt.Sprintf("route[%d]", i)
		switch {
		case r.Path == "":
			v.fail(key+".path", ErrRequired)
		case !strings.HasPrefix(r.Path, "/"):
			v.failf(key+".path", ErrInvalidValue, "%q must start with /", r.Path)
		case r.Path == v.c.Admin.Path || strings.HasPrefix(r.Path, v.c.Admin.Path+"/"):
			v.failf(key+".path", ErrDuplicate, "%q overlaps admin.path", r.Path)
		}
		if j, dup := seen[r.Path]; dup && r.Path != "" {
			v.failf(key+".path", ErrDuplicate, "%q already used by route[%d]", r.Path, j)
		}
		seen[r.Path] = i
		if len(r.Upstreams) == 0 {
			v.failf(key+".upstreams", ErrRequired, "at least one \"host:port\"")
		}
		v.upstreams(key, r.Upstreams)
		if r.Health.Path != "" && !strings.HasPrefix(r.Health.Path, "/") {
			v.failf(key+".health.path", ErrInvalidValue, "%q must start with /", r.Health.Path)
		}
		v.durations(key+".health", map[string]Duration{"interval": r.Health.Interval, "timeout": r.Health.Timeout})
		v.healthProbe(key+".health", r.Health)
		v.durations(key, map[string]Duration{"passive_cooldown": r.PassiveCooldown})
		v.retryWindow(key, r)
		v.durations(key+".timeouts", map[string]Duration{
			"connect": r.Timeouts.Connect, "response_header": r.Timeouts.ResponseHeader, "idle": r.Timeouts.Idle,
		})
		if err := r.MaxBody.check(); err != nil {
			v.fail(key+".max_body", err)
		}
	}
}

// healthProbe checks the thresholds and that a probe ends before the next.
func (v *validator) healthProbe(key string, h HealthProbe) {
	for name, n := range map[string]int{"healthy": h.Healthy, "unhealthy": h.Unhealthy} {
		if n < 1 || n > 100 {
			v.failf(key+"."+name, ErrInvalidValue, "%d (fix: a count of consecutive probes from 1 to 100)", n)
		}
	}
	if h.Path == "" || h.Interval.check() != nil || h.Timeout.check() != nil {
		return
	}
	if h.Interval.Duration <= 0 {
		v.failf(key+".interval", ErrInvalidValue, "must be above 0")
	}
	if h.Timeout.Duration <= 0 || h.Timeout.Duration > h.Interval.Duration {
		v.failf(key+".timeout", ErrInvalidValue, "%s must be above 0 and at most interval %s", h.Timeout.Duration, h.Interval.Duration)
	}
}

func (v *validator) tls() {
	t := v.c.TLS
	if t.Email != "" && !strings.Contains(t.Email, "@") {
		v.failf("tls.email", ErrInvalidValue, "%q is not an email address", t.Email)
	}
	if u, err := url.Parse(t.ACMECA); err != nil || u.Scheme != "https" || u.Host == "" {
		v.failf("tls.acme_ca", ErrInvalidValue, "%q must be an https:// directory URL", t.ACMECA)
	}
	if t.ACMECARoot != "" {
		v.rootFile("tls.acme_ca_root", t.ACMECARoot)
	}
	if len(t.Challenges) == 0 {
		v.failf("tls.challenges", ErrRequired, "at least one of \"http-01\", \"tls-alpn-01\"")
	}
	for i, ch := range t.Challenges {
		if ch != "http-01" && ch != "tls-alpn-01" {
			v.failf(fmt.Sprintf("tls.challenges[%d]", i), ErrInvalidValue, "%q (fix: \"http-01\" or \"tls-alpn-01\")", ch)
		}
	}
	if t.MinVersion != "1.2" && t.MinVersion != "1.3" {
		v.failf("tls.min_version", ErrInvalidValue, "%q (fix: \"1.2\" or \"1.3\")", t.MinVersion)
	}
	v.durations("tls", map[string]Duration{"renew_interval": t.RenewInterval, "ready_timeout": t.ReadyTimeout})
	if t.RenewalWindowRatio <= 0 || t.RenewalWindowRatio >= 1 {
		v.failf("tls.renewal_window_ratio", ErrInvalidValue, "%v must be between 0 and 1 (fix: 0.33)", t.RenewalWindowRatio)
	}
	for i, c := range t.Certificates {
		v.certFiles(fmt.Sprintf("tls.certificates[%d]", i), c)
	}
}

func (v *validator) headers() {
	deref := func(p *string) string {
		if p == nil {
			return "" // a Config built in code without applyDefaults
		}
		return *p
	}
	if h := deref(v.c.Headers.HSTS); h != "" {
		if _, err := ParseHSTS(h); err != nil {
			v.fail("headers.hsts", err)
		}
	}
	fo := strings.ToUpper(deref(v.c.Headers.FrameOptions))
	if fo != "" && fo != "DENY" && fo != "SAMEORIGIN" {
		v.failf("headers.frame_options", ErrInvalidValue, "%q (fix: \"DENY\", \"SAMEORIGIN\" or \"\")", fo)
	}
	for key, val := range map[string]string{
		"headers.csp": deref(v.c.Headers.CSP), "headers.referrer_policy": deref(v.c.Headers.ReferrerPolicy),
		"headers.permissions_policy": deref(v.c.Headers.PermissionsPolicy),
	} {
		if strings.ContainsAny(val, "\r\n") {
			v.failf(key, ErrInvalidValue, "contains a line break")
		}
	}
}

func (v *validator) admin() {
	a := v.c.Admin
	if !strings.HasPrefix(a.Path, "/") || strings.HasSuffix(a.Path, "/") || len(a.Path) < 2 {
		v.failf("admin.path", ErrInvalidValue, "%q (fix: a path such as \"/admin\", no trailing /)", a.Path)
	}
	for name, hash := range a.Users {
		key := "admin.users." + name
		h := hash.Reveal()
		if !strings.HasPrefix(h, "$2") || len(h) != 60 {
			v.failf(key, ErrInvalidValue, "not a bcrypt hash (fix: EDGE_ADMIN_BCRYPT=$(edge hash-password))")
		}
		v.fromEnv(key)
	}
	if a.Token != "" {
		if len(a.Token.Reveal()) < 16 {
			v.failf("admin.token", ErrInvalidValue, "too short (fix: at least 16 characters, such as EDGE_ADMIN_TOKEN=$(openssl rand -hex 32))")
		}
		v.fromEnv("admin.token")
	}
	for i, n := range a.Allow {
		if _, err := netip.ParsePrefix(n); err != nil {
			v.failf(fmt.Sprintf("admin.allow[%d]", i), ErrBadCIDR, "%q (fix: \"127.0.0.1/32\" or \"10.0.0.0/8\")", n)
		}
	}
}

// fromEnv requires a secret to be written as ${VAR} in the file.
func (v *validator) fromEnv(key string) {
	if v.c.builtin || v.c.rawValues == nil {
		return
	}
	if raw, ok := v.c.rawValues[key]; ok && raw != "" && !strings.Contains(raw, "${") {
		v.failf(key, ErrSecretInFile, "write ${VAR} and set VAR in the environment file")
	}
}

func (v *validator) backup() {
	b := v.c.Backup
	if b == nil {
		return
	}
	if b.DatabaseURL == "" {
		v.fail("backup.database_url", ErrRequired)
	} else {
		v.databaseURL("backup.database_url", b.DatabaseURL.Reveal())
	}
	if b.Dir == "" || !filepath.IsAbs(b.Dir) {
		v.failf("backup.dir", ErrInvalidValue, "%q must be an absolute path", b.Dir)
	} else {
		v.parentExists("backup.dir", b.Dir, true)
	}
	if err := b.Schedule.Err(); err != nil {
		v.fail("backup.schedule", fmt.Errorf("%w: %w", ErrInvalidValue, err))
	}
	if b.Format != "custom" && b.Format != "plain-gzip" {
		v.failf("backup.format", ErrInvalidValue, "%q (fix: \"custom\" or \"plain-gzip\")", b.Format)
	}
	if b.Verify != "none" && b.Verify != "scratch-db" && b.Verify != "scratch-cluster" {
		v.failf("backup.verify", ErrInvalidValue, "%q (fix: \"none\", \"scratch-db\" or \"scratch-cluster\")", b.Verify)
	}
	for key, n := range map[string]int{"keep_daily": b.KeepDaily, "keep_weekly": b.KeepWeekly, "keep_monthly": b.KeepMonthly} {
		if n < 0 {
			v.failf("backup."+key, ErrInvalidValue, "%d must not be negative", n)
		}
	}
	for i, r := range b.EncryptTo {
		if err := r.Err(); err != nil {
			v.fail(fmt.Sprintf("backup.encrypt_to[%d]", i), fmt.Errorf("%w: %w", ErrInvalidValue, err))
		}
	}
	if b.PGBin != "" {
		v.dirExists("backup.pg_bin", b.PGBin)
	}
	v.backupRemote(b)
}

// databaseURL checks a PostgreSQL URL and refuses a password in the file.
func (v *validator) databaseURL(key, raw string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		v.failf(key, ErrInvalidValue, "not a postgres:// URL")
		return
	}
	if _, hasPw := u.User.Password(); hasPw {
		v.passwordFromEnv(key)
	}
}

var envRefRE = regexp.MustCompile(`\$\{[^}]*\}`)

// passwordFromEnv requires the password of a URL to come from ${VAR}: with
// every ${VAR} removed from the value as written, no password may be left.
// "postgres://u:pw@${DB_HOST}/db" still has its password in the file.
func (v *validator) passwordFromEnv(key string) {
	if v.c.builtin || v.c.rawValues == nil {
		return
	}
	raw, ok := v.c.rawValues[key]
	if !ok {
		return
	}
	literal := envRefRE.ReplaceAllString(raw, "")
	u, err := url.Parse(literal)
	if err != nil {
		v.fromEnv(key)
		return
	}
	if pw, ok := u.User.Password(); ok && pw != "" {
		v.failf(key, ErrSecretInFile, "the password is written in the file (fix: write ${VAR} for the whole URL or the password)")
	}
}

var checkNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func (v *validator) checks() {
	names := map[string]bool{}
	routes := map[string]bool{}
	for i, c := range v.c.Checks {
		key := fmt.Sprintf("check[%d]", i)
		switch {
		case c.Name == "":
			v.fail(key+".name", ErrRequired)
		case names[c.Name]:
			v.failf(key+".name", ErrDuplicate, "%q", c.Name)
		case !checkNameRE.MatchString(c.Name):
			v.failf(key+".name", ErrInvalidValue, "%q (fix: letters, digits, \".\", \"_\" and \"-\", at most 64)", c.Name)
		case c.Name == "backup":
			v.failf(key+".name", ErrDuplicate, "%q is the name of the built-in backup check (fix: another name)", c.Name)
		}
		names[c.Name] = true
		kinds := 0
		for _, set := range []bool{c.HTTP != "", c.TCP != "", c.Postgres != "", c.Disk != "", c.Route != ""} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			v.failf(key, ErrInvalidValue, "set exactly one of http, tcp, postgres, disk, route")
		}
		v.checkTarget(key, c)
		if c.Route != "" {
			if routes[c.Route] {
				v.failf(key+".route", ErrDuplicate, "%q already has a check", c.Route)
			}
			routes[c.Route] = true
			v.routeCheck(key, c)
		}
		if err := c.MinFree.check(); err != nil {
			v.fail(key+".min_free", err)
		}
		if c.MinFreeInodes < 0 {
			v.failf(key+".min_free_inodes", ErrInvalidValue, "%d must not be negative", c.MinFreeInodes)
		}
		for name, n := range map[string]int{"failures": c.Failures, "successes": c.Successes} {
			if n < 1 || n > 100 {
				v.failf(key+"."+name, ErrInvalidValue, "%d (fix: a count of consecutive runs from 1 to 100)", n)
			}
		}
		v.durations(key, map[string]Duration{"interval": c.Interval, "timeout": c.Timeout})
		if c.Interval.check() == nil && c.Timeout.check() == nil {
			if c.Interval.Duration <= 0 {
				v.failf(key+".interval", ErrInvalidValue, "must be above 0")
			} else if c.Timeout.Duration <= 0 || c.Timeout.Duration > c.Interval.Duration {
				v.failf(key+".timeout", ErrInvalidValue, "%s must be above 0 and at most interval %s", c.Timeout.Duration, c.Interval.Duration)
			}
		}
	}
}

// checkTarget validates what an http, tcp, postgres or disk check points at.
func (v *validator) checkTarget(key string, c Check) {
	if c.HTTP != "" {
		if u, err := url.Parse(c.HTTP); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.failf(key+".http", ErrInvalidValue, "%q is not an http(s) URL", c.HTTP)
		}
	}
	if c.Status != 0 && (c.Status < 100 || c.Status > 599) {
		v.failf(key+".status", ErrInvalidValue, "%d is not an HTTP status code", c.Status)
	}
	if c.HTTP == "" && (c.Status != 0 || c.Contains != "") {
		v.failf(key, ErrInvalidValue, "status and contains apply to http checks only")
	}
	if c.TCP != "" {
		v.hostPort(key+".tcp", c.TCP, "127.0.0.1:5432")
	}
	if c.Postgres != "" {
		v.databaseURL(key+".postgres", c.Postgres.Reveal())
	}
	if c.Disk != "" {
		v.dirExists(key+".disk", c.Disk)
	}
}

// routeCheck validates the thresholds of a check on a [[route]]'s traffic.
func (v *validator) routeCheck(key string, c Check) {
	found := false
	for _, r := range v.c.Routes {
		found = found || r.Path == c.Route
	}
	if !found {
		v.failf(key+".route", ErrInvalidValue, "%q is not the path of a [[route]]", c.Route)
	}
	if c.MaxErrorRate <= 0 || c.MaxErrorRate > 1 {
		v.failf(key+".max_error_rate", ErrInvalidValue, "%v must be above 0 and at most 1 (fix: 0.05 for 5%%)", c.MaxErrorRate)
	}
	if c.MinRequests < 0 {
		v.failf(key+".min_requests", ErrInvalidValue, "%d must not be negative", c.MinRequests)
	}
	v.durations(key, map[string]Duration{"window": c.Window, "max_p95": c.MaxP95})
	if c.Window.check() == nil && c.Window.Duration <= 0 {
		v.failf(key+".window", ErrInvalidValue, "must be above 0")
	}
}

// httpURL checks an optional http(s) URL.
func (v *validator) httpURL(key, raw string) {
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.failf(key, ErrInvalidValue, "not an http(s) URL")
	}
}

func (v *validator) alerts() {
	a := v.c.Alerts
	v.durations("alerts", map[string]Duration{"repeat": a.Repeat, "heartbeat_interval": a.HeartbeatInterval})
	if a.HeartbeatURL != "" {
		v.httpURL("alerts.heartbeat_url", a.HeartbeatURL.Reveal())
		if a.HeartbeatInterval.check() == nil && a.HeartbeatInterval.Duration <= 0 {
			v.failf("alerts.heartbeat_interval", ErrInvalidValue, "must be above 0")
		}
	}
	if a.BackupHeartbeatURL != "" {
		v.httpURL("alerts.backup_heartbeat_url", a.BackupHeartbeatURL.Reveal())
	}
	if e := a.Email; e != nil {
		v.hostPort("alerts.email.smtp", e.SMTP, "smtp.example.com:587")
		if !strings.Contains(e.From, "@") {
			v.failf("alerts.email.from", ErrInvalidValue, "%q is not an email address", e.From)
		}
		if len(e.To) == 0 {
			v.fail("alerts.email.to", ErrRequired)
		}
		for i, to := range e.To {
			if !strings.Contains(to, "@") || strings.ContainsAny(to, "\r\n<>,") {
				v.failf(fmt.Sprintf("alerts.email.to[%d]", i), ErrInvalidValue, "%q is not an email address", to)
			}
		}
		if e.Password != "" {
			v.fromEnv("alerts.email.password")
		}
		v.channelTimeout("alerts.email.timeout", e.Timeout)
	}
	if t := a.Telegram; t != nil {
		if t.Token == "" || t.ChatID == "" {
			v.failf("alerts.telegram", ErrRequired, "token and chat_id")
		}
		v.fromEnv("alerts.telegram.token")
		if u, err := url.Parse(t.API); err != nil || u.Host == "" {
			v.failf("alerts.telegram.api", ErrInvalidValue, "%q is not a URL", t.API)
		}
		v.channelTimeout("alerts.telegram.timeout", t.Timeout)
	}
	if w := a.Webhook; w != nil {
		v.httpURL("alerts.webhook.url", w.URL.Reveal())
		v.channelTimeout("alerts.webhook.timeout", w.Timeout)
	}
}

func (v *validator) channelTimeout(key string, d Duration) {
	if err := d.check(); err != nil {
		v.fail(key, err)
	} else if d.Duration <= 0 {
		v.failf(key, ErrInvalidValue, "must be above 0")
	}
}
