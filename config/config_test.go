package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/config"
)

// TestSpecExampleMatchesDocs keeps testdata/spec.toml identical to the
// example in the contract (docs/SPEC.md section 2).
func TestSpecExampleMatchesDocs(t *testing.T) {
	spec, err := os.ReadFile(filepath.Join("..", "docs", "SPEC.md"))
	if err != nil {
		t.Skipf("no docs/SPEC.md: %v", err)
	}
	s := string(spec)
	start := strings.Index(s, "## 2.")
	if start < 0 {
		t.Fatal("docs/SPEC.md has no section 2")
	}
	s = s[start:]
	open := strings.Index(s, "```toml\n")
	if open < 0 {
		t.Fatal("docs/SPEC.md section 2 has no ```toml block")
	}
	s = s[open+len("```toml\n"):]
	want := s[:strings.Index(s, "```")]
	got, err := os.ReadFile(filepath.Join("testdata", "spec.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("testdata/spec.toml differs from the example in docs/SPEC.md section 2: copy it again")
	}
}

// TestSpecExample loads the example config of SPEC section 2 and checks
// every decoded value.
func TestSpecExample(t *testing.T) {
	if n := len(testHash); n != 60 {
		t.Fatalf("testHash has %d characters, want 60", n)
	}
	src, p := specSource(t)
	cfg := mustParse(t, src, specEnv())

	str := func(s *string) string {
		if s == nil {
			return "<nil>"
		}
		return *s
	}
	if len(cfg.Routes) != 1 {
		t.Fatalf("got %d routes, want 1", len(cfg.Routes))
	}
	if len(cfg.Checks) != 4 {
		t.Fatalf("got %d checks, want 4", len(cfg.Checks))
	}
	if cfg.Backup == nil || cfg.Alerts.Email == nil || cfg.Alerts.Telegram == nil || cfg.Alerts.Webhook == nil {
		t.Fatalf("missing table: backup %v, email %v, telegram %v, webhook %v",
			cfg.Backup != nil, cfg.Alerts.Email != nil, cfg.Alerts.Telegram != nil, cfg.Alerts.Webhook != nil)
	}
	r := cfg.Routes[0]
	b := cfg.Backup
	e, tg := cfg.Alerts.Email, cfg.Alerts.Telegram
	api, db, disk, traffic := cfg.Checks[0], cfg.Checks[1], cfg.Checks[2], cfg.Checks[3]

	tests := []struct {
		name      string
		got, want any
	}{
		{"file", cfg.File, "edge.toml"},
		{"server.http", cfg.Server.HTTP, ":80"},
		{"server.https", cfg.Server.HTTPS, ":443"},
		{"server.state_dir", cfg.Server.StateDir, "/var/lib/edge"},
		{"server.admin_socket", cfg.Server.AdminSocket, "/run/edge/admin.sock"},
		{"server.access_log", cfg.Server.AccessLog, "stdout"},
		{"server.trusted_proxies", cfg.Server.TrustedProxies, []string{}},
		{"server.shutdown_timeout", cfg.Server.ShutdownTimeout.Duration, 10 * time.Second},

		{"site.domains", cfg.Site.Domains, []string{"gitcourse.example.com", "www.gitcourse.example.com"}},
		{"site.canonical", cfg.Site.Canonical, "gitcourse.example.com"},
		{"site.root", cfg.Site.Root, p.root},
		{"site.spa", cfg.Site.SPAEnabled(), true},
		{"site.immutable", cfg.Site.Immutable, []string{"/assets/"}},
		{"site.compress", cfg.Site.Compress, []string{"br", "gzip"}},

		{"route.path", r.Path, "/api/"},
		{"route.upstreams", r.Upstreams, []string{"127.0.0.1:8000"}},
		{"route.health.path", r.Health.Path, "/api/health"},
		{"route.health.interval", r.Health.Interval.Duration, 10 * time.Second},
		{"route.health.timeout", r.Health.Timeout.Duration, 2 * time.Second},
		{"route.health.healthy", r.Health.Healthy, 2},
		{"route.health.unhealthy", r.Health.Unhealthy, 3},
		{"route.timeouts.connect", r.Timeouts.Connect.Duration, 2 * time.Second},
		{"route.timeouts.response_header", r.Timeouts.ResponseHeader.Duration, 30 * time.Second},
		{"route.timeouts.idle", r.Timeouts.Idle.Duration, 90 * time.Second},
		{"route.max_body 10MB", r.MaxBody.Bytes, int64(10_000_000)},
		{"route.pass_host", r.PassHostEnabled(), true},
		{"route.passive_cooldown", r.PassiveCooldown.Duration, 10 * time.Second},

		{"tls.email", cfg.TLS.Email, "ops@example.com"},
		{"tls.acme_ca", cfg.TLS.ACMECA, "https://acme-v02.api.letsencrypt.org/directory"},
		{"tls.acme_ca_root", cfg.TLS.ACMECARoot, ""},
		{"tls.challenges", cfg.TLS.Challenges, []string{"http-01", "tls-alpn-01"}},
		{"tls.internal", cfg.TLS.Internal, false},
		{"tls.min_version", cfg.TLS.MinVersion, "1.2"},
		{"tls.certificates", len(cfg.TLS.Certificates), 0},
		{"tls.renew_interval", cfg.TLS.RenewInterval.Duration, 10 * time.Minute},
		{"tls.renewal_window_ratio", cfg.TLS.RenewalWindowRatio, 0.33},
		{"tls.ready_timeout", cfg.TLS.ReadyTimeout.Duration, 60 * time.Second},

		{"headers.hsts", str(cfg.Headers.HSTS), "max-age=63072000; includeSubDomains"},
		{"headers.csp", str(cfg.Headers.CSP), "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"},
		{"headers.csp_report_only", cfg.Headers.CSPReportOnly, false},
		{"headers.frame_options", str(cfg.Headers.FrameOptions), "DENY"},
		{"headers.referrer_policy", str(cfg.Headers.ReferrerPolicy), "strict-origin-when-cross-origin"},
		{"headers.permissions_policy", str(cfg.Headers.PermissionsPolicy), "camera=(), microphone=(), geolocation=()"},

		{"admin.path", cfg.Admin.Path, "/admin"},
		{"admin.users", len(cfg.Admin.Users), 1},
		{"admin.users.admin", cfg.Admin.Users["admin"].Reveal(), testHash},
		{"admin.allow", cfg.Admin.Allow, []string{"127.0.0.1/32", "::1/128"}},
		{"admin.token", cfg.Admin.Token.Reveal(), adminToken},

		{"backup.database_url", b.DatabaseURL.Reveal(), databaseURL},
		{"backup.dir", b.Dir, p.backupDir},
		{"backup.schedule", b.Schedule.String(), "03:00"},
		{"backup.format", b.Format, "custom"},
		{"backup.keep_daily", b.KeepDaily, 7},
		{"backup.keep_weekly", b.KeepWeekly, 4},
		{"backup.keep_monthly", b.KeepMonthly, 6},
		{"backup.verify", b.Verify, "scratch-cluster"},
		{"backup.encrypt_to", len(b.EncryptTo), 0},
		{"backup.pg_bin", b.PGBin, ""},

		{"check[0].name", api.Name, "api"},
		{"check[0].http", api.HTTP, "http://127.0.0.1:8000/api/health"},
		{"check[0].interval", api.Interval.Duration, 30 * time.Second},
		{"check[0].timeout", api.Timeout.Duration, 5 * time.Second},
		{"check[0].failures", api.Failures, 3},
		{"check[0].successes", api.Successes, 2},
		{"check[0].status (default)", api.Status, 0},
		{"check[0].contains (default)", api.Contains, ""},
		{"check[1].name", db.Name, "db"},
		{"check[1].postgres", db.Postgres.Reveal(), databaseURL},
		{"check[1].interval (default)", db.Interval.Duration, 30 * time.Second},
		{"check[2].name", disk.Name, "disk"},
		{"check[2].disk", disk.Disk, p.disk},
		{"check[2].min_free 2GB", disk.MinFree.Bytes, int64(2_000_000_000)},
		{"check[2].min_free_inodes", disk.MinFreeInodes, int64(1000)},
		{"check[3].name", traffic.Name, "api-traffic"},
		{"check[3].route", traffic.Route, "/api/"},
		{"check[3].max_error_rate", traffic.MaxErrorRate, 0.05},
		{"check[3].max_p95", traffic.MaxP95.Duration, 2 * time.Second},
		{"check[3].window", traffic.Window.Duration, 5 * time.Minute},
		{"check[3].min_requests", traffic.MinRequests, 20},
		{"check[3].interval (default)", traffic.Interval.Duration, 30 * time.Second},
		{"check[3].failures (default)", traffic.Failures, 3},

		{"alerts.repeat", cfg.Alerts.Repeat.Duration, 4 * time.Hour},
		{"alerts.heartbeat_url", cfg.Alerts.HeartbeatURL.Reveal(), heartbeatURL},
		{"alerts.heartbeat_interval", cfg.Alerts.HeartbeatInterval.Duration, time.Minute},
		{"alerts.backup_heartbeat_url", cfg.Alerts.BackupHeartbeatURL.Reveal(), backupBeatURL},
		{"alerts.email.timeout (default)", e.Timeout.Duration, 10 * time.Second},
		{"alerts.email.smtp", e.SMTP, "smtp.example.com:587"},
		{"alerts.email.from", e.From, "edge@example.com"},
		{"alerts.email.to", e.To, []string{"ops@example.com"}},
		{"alerts.email.username", e.Username, smtpUser},
		{"alerts.email.password", e.Password.Reveal(), smtpPassword},
		{"alerts.telegram.token", tg.Token.Reveal(), telegramToken},
		{"alerts.telegram.chat_id", tg.ChatID, "123456"},
		{"alerts.telegram.api", tg.API, "https://api.telegram.org"},
		{"alerts.telegram.timeout (default)", tg.Timeout.Duration, 10 * time.Second},
		{"alerts.webhook.url", cfg.Alerts.Webhook.URL.Reveal(), webhookURL},
		{"alerts.webhook.topic (default)", cfg.Alerts.Webhook.Topic, ""},
		{"alerts.webhook.timeout (default)", cfg.Alerts.Webhook.Timeout.Duration, 10 * time.Second},

		{"logs.remote", cfg.Logs.Remote, "tls://logs.example.com:6514"},
		{"logs.access", cfg.Logs.AccessEnabled(), true},
		{"logs.min_level", cfg.Logs.MinLevel, "info"},
		{"logs.spool", cfg.Logs.Spool.Bytes, int64(64e6)},
		{"logs.alert_after", cfg.Logs.AlertAfter.Duration, 15 * time.Minute},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, fmt.Sprint(tt.got), fmt.Sprint(tt.want))
		}
	}

	// Line numbers of some keys, for messages about them.
	lines := []struct{ key, at string }{
		{"server", "[server]"},
		{"server.https", `https = ":443"`},
		{"site", "[site]"},
		{"site.domains[1]", "domains   = ["},
		{"route[0]", "[[route]]"},
		{"route[0].health.timeout", "health    = {"},
		{"route[0].max_body", `max_body  = "10MB"`},
		{"tls.certificates", "certificates = []"},
		{"admin.users.admin", "users = { admin"},
		{"backup.keep_monthly", "keep_monthly = 6"},
		{"check[1].postgres", `postgres = "${DATABASE_URL}"`},
		{"check[2].min_free", `min_free = "2GB"`},
		{"alerts.webhook.url", "webhook  = {"},
		{"admin.token", `token = "${EDGE_ADMIN_TOKEN}"`},
		{"check[3].route", `route = "/api/"`},
		{"alerts.heartbeat_url", "heartbeat_url = "},
		{"backup.no_such_key", "[backup]"}, // falls back to the table
	}
	for _, l := range lines {
		if got, want := cfg.Line(l.key), lineOf(t, src, l.at); got != want {
			t.Errorf("Line(%q): got %d, want %d", l.key, got, want)
		}
	}
	// The second and third [[check]] headers.
	if got, want := cfg.Line("check[1]"), lineOf(t, src, `name = "db"`)-1; got != want {
		t.Errorf("Line(%q): got %d, want %d", "check[1]", got, want)
	}
	if got, want := cfg.Line("check[2]"), lineOf(t, src, `name = "disk"`)-1; got != want {
		t.Errorf("Line(%q): got %d, want %d", "check[2]", got, want)
	}
	if got, want := cfg.Line("check[3]"), lineOf(t, src, `name = "api-traffic"`)-1; got != want {
		t.Errorf("Line(%q): got %d, want %d", "check[3]", got, want)
	}
	if got := cfg.Line("nosuchtable.key"); got != 0 {
		t.Errorf("Line(%q): got %d, want 0", "nosuchtable.key", got)
	}
}

// TestLoad reads files from disk with the process environment.
func TestLoad(t *testing.T) {
	src, _ := specSource(t)
	for k, v := range specEnv() {
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "edge.toml")
	if err := os.WriteFile(good, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(good)
	if err != nil {
		t.Fatalf("Load(spec example): %v", err)
	}
	if cfg.File != good {
		t.Errorf("File: got %q, want %q", cfg.File, good)
	}
	if got := cfg.Backup.DatabaseURL.Reveal(); got != databaseURL {
		t.Errorf("backup.database_url: got %q, want %q", got, databaseURL)
	}

	t.Run("missing file", func(t *testing.T) {
		_, err := config.Load(filepath.Join(dir, "nope.toml"))
		if err == nil || !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("got %v, want an error wrapping os.ErrNotExist", err)
		}
		if !strings.Contains(err.Error(), "nope.toml") {
			t.Errorf("got %q, want the file name in it", err)
		}
	})

	t.Run("parse and validation problems together", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.toml")
		body := "[server]\nhtps = \":443\"\n[site]\ndomains = [\"example.com\"]\nroot = \"" + filepath.Join(dir, "missing") + "\"\n"
		if err := os.WriteFile(bad, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(bad)
		if cfg != nil {
			t.Errorf("got a config with an error")
		}
		checkProblems(t, fieldErrors(t, err, bad), []problem{
			{2, "server.htps", nil},
			{5, "site.root", config.ErrNotExist},
		})
	})

	t.Run("syntax error", func(t *testing.T) {
		bad := filepath.Join(dir, "syntax.toml")
		if err := os.WriteFile(bad, []byte("[server]\nhttp = \":80\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := config.Load(bad)
		checkProblems(t, fieldErrors(t, err, bad), []problem{{2, "", nil}})
	})
}
