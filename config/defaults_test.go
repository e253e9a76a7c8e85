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

// TestDefaults: a minimal file gets every default.
func TestDefaults(t *testing.T) {
	root := t.TempDir()
	src := `[site]
domains = ["example.com"]
root = "` + root + `"

[[route]]
path = "/api/"
upstreams = ["127.0.0.1:8000"]

[[check]]
name = "disk"
disk = "` + root + `"

[alerts]
telegram = { token = "${TOKEN}", chat_id = "1" }
`
	cfg := mustParse(t, src, map[string]string{"TOKEN": telegramToken})
	r := cfg.Routes[0]
	c := cfg.Checks[0]
	str := func(s *string) string {
		if s == nil {
			return "<nil>"
		}
		return *s
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"server.http", cfg.Server.HTTP, ":80"},
		{"server.https", cfg.Server.HTTPS, ":443"},
		{"server.state_dir", cfg.Server.StateDir, "/var/lib/edge"},
		{"server.admin_socket", cfg.Server.AdminSocket, "/run/edge/admin.sock"},
		{"server.access_log", cfg.Server.AccessLog, "stdout"},
		{"server.shutdown_timeout", cfg.Server.ShutdownTimeout.Duration, 10 * time.Second},
		{"site.canonical", cfg.Site.Canonical, ""},
		{"site.spa", cfg.Site.SPAEnabled(), true},
		{"site.immutable", cfg.Site.Immutable, []string{"/assets/"}},
		{"site.compress", cfg.Site.Compress, []string{"br", "gzip"}},
		{"route.health.path", r.Health.Path, ""},
		{"route.health.interval", r.Health.Interval.Duration, 10 * time.Second},
		{"route.health.timeout", r.Health.Timeout.Duration, 2 * time.Second},
		{"route.timeouts.connect", r.Timeouts.Connect.Duration, 2 * time.Second},
		{"route.timeouts.response_header", r.Timeouts.ResponseHeader.Duration, 30 * time.Second},
		{"route.timeouts.idle", r.Timeouts.Idle.Duration, 90 * time.Second},
		{"route.max_body", r.MaxBody.Bytes, int64(10_000_000)},
		{"tls.acme_ca", cfg.TLS.ACMECA, config.DefaultACMECA},
		{"tls.challenges", cfg.TLS.Challenges, []string{"http-01", "tls-alpn-01"}},
		{"tls.min_version", cfg.TLS.MinVersion, "1.2"},
		{"tls.internal", cfg.TLS.Internal, false},
		{"headers.hsts", str(cfg.Headers.HSTS), config.DefaultHSTS},
		{"headers.csp", str(cfg.Headers.CSP), config.DefaultCSP},
		{"headers.frame_options", str(cfg.Headers.FrameOptions), config.DefaultFrameOptions},
		{"headers.referrer_policy", str(cfg.Headers.ReferrerPolicy), config.DefaultReferrerPolicy},
		{"headers.permissions_policy", str(cfg.Headers.PermissionsPolicy), config.DefaultPermissionsPolicy},
		{"admin.path", cfg.Admin.Path, "/admin"},
		{"admin.allow", cfg.Admin.Allow, []string{"127.0.0.1/32", "::1/128"}},
		{"admin.users", len(cfg.Admin.Users), 0},
		{"backup (absent)", cfg.Backup == nil, true},
		{"check.interval", c.Interval.Duration, 30 * time.Second},
		{"check.timeout", c.Timeout.Duration, 5 * time.Second},
		{"check.min_free", c.MinFree.Bytes, int64(1_000_000_000)},
		{"alerts.repeat", cfg.Alerts.Repeat.Duration, 4 * time.Hour},
		{"alerts.telegram.api", cfg.Alerts.Telegram.API, "https://api.telegram.org"},
		{"alerts.email (absent)", cfg.Alerts.Email == nil, true},
		{"alerts.webhook (absent)", cfg.Alerts.Webhook == nil, true},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, fmt.Sprint(tt.got), fmt.Sprint(tt.want))
		}
	}
	// The headers defaults are the SPEC's.
	if config.DefaultHSTS != "max-age=63072000; includeSubDomains" {
		t.Errorf("DefaultHSTS: got %q, want the SPEC value", config.DefaultHSTS)
	}
}

// TestDefaultsKeepWrittenValues: keys that were written keep their value,
// even "" or 0.
func TestDefaultsKeepWrittenValues(t *testing.T) {
	root := t.TempDir()
	site := "[site]\ndomains = [\"example.com\"]\nroot = \"" + root + "\"\n"

	t.Run("headers set to empty are dropped, absent ones get defaults", func(t *testing.T) {
		cfg := mustParse(t, site+`[headers]
hsts = ""
csp = ""
frame_options = "SAMEORIGIN"
csp_report_only = true
`, nil)
		h := cfg.Headers
		for _, tt := range []struct {
			name string
			got  *string
			want string
		}{
			{"hsts", h.HSTS, ""},
			{"csp", h.CSP, ""},
			{"frame_options", h.FrameOptions, "SAMEORIGIN"},
			{"referrer_policy", h.ReferrerPolicy, config.DefaultReferrerPolicy},
			{"permissions_policy", h.PermissionsPolicy, config.DefaultPermissionsPolicy},
		} {
			if tt.got == nil {
				t.Errorf("headers.%s: got nil, want %q", tt.name, tt.want)
			} else if *tt.got != tt.want {
				t.Errorf("headers.%s: got %q, want %q", tt.name, *tt.got, tt.want)
			}
		}
		if !h.CSPReportOnly {
			t.Errorf("headers.csp_report_only: got false, want true")
		}
	})

	t.Run("https empty stays empty", func(t *testing.T) {
		cfg := mustParse(t, "[server]\nhttps = \"\"\n"+site, nil)
		if cfg.Server.HTTPS != "" {
			t.Errorf("server.https: got %q, want %q", cfg.Server.HTTPS, "")
		}
		if cfg.Server.HTTP != ":80" {
			t.Errorf("server.http: got %q, want %q", cfg.Server.HTTP, ":80")
		}
	})

	t.Run("http empty stays empty", func(t *testing.T) {
		cfg := mustParse(t, "[server]\nhttp = \"\"\n"+site, nil)
		if cfg.Server.HTTP != "" || cfg.Server.HTTPS != ":443" {
			t.Errorf("server: got http %q https %q, want %q %q", cfg.Server.HTTP, cfg.Server.HTTPS, "", ":443")
		}
	})

	t.Run("keep_daily 0 stays 0", func(t *testing.T) {
		cfg := mustParse(t, site+"[backup]\ndatabase_url = \"${DB}\"\ndir = \""+root+"/b\"\nkeep_daily = 0\nkeep_monthly = 12\n",
			map[string]string{"DB": databaseURL})
		b := cfg.Backup
		for _, tt := range []struct {
			name      string
			got, want int
		}{{"keep_daily", b.KeepDaily, 0}, {"keep_weekly", b.KeepWeekly, 4}, {"keep_monthly", b.KeepMonthly, 12}} {
			if tt.got != tt.want {
				t.Errorf("backup.%s: got %d, want %d", tt.name, tt.got, tt.want)
			}
		}
		if b.Schedule.String() != "03:00" || b.Format != "custom" || b.Verify != "scratch-cluster" {
			t.Errorf("backup: got schedule %q format %q verify %q, want the defaults", b.Schedule, b.Format, b.Verify)
		}
	})

	t.Run("empty lists stay empty", func(t *testing.T) {
		cfg := mustParse(t, site+"immutable = []\ncompress = []\n", nil)
		if len(cfg.Site.Immutable) != 0 || len(cfg.Site.Compress) != 0 {
			t.Errorf("site: got immutable %q compress %q, want both empty", cfg.Site.Immutable, cfg.Site.Compress)
		}
	})

	t.Run("spa false", func(t *testing.T) {
		cfg := mustParse(t, site+"spa = false\n", nil)
		if cfg.Site.SPAEnabled() {
			t.Errorf("site.spa: got true, want false")
		}
	})

	t.Run("written values kept", func(t *testing.T) {
		cfg := mustParse(t, site+`[[route]]
path = "/api/"
upstreams = ["127.0.0.1:8000"]
max_body = "1MiB"
timeouts = { connect = "500ms" }
[alerts]
repeat = "30m"
`, nil)
		r := cfg.Routes[0]
		if r.MaxBody.Bytes != 1<<20 {
			t.Errorf("max_body: got %d, want %d", r.MaxBody.Bytes, 1<<20)
		}
		if r.Timeouts.Connect.Duration != 500*time.Millisecond {
			t.Errorf("timeouts.connect: got %q, want %q", r.Timeouts.Connect, "500ms")
		}
		if r.Timeouts.Idle.Duration != 90*time.Second {
			t.Errorf("timeouts.idle: got %q, want %q", r.Timeouts.Idle, "1m30s")
		}
		if cfg.Alerts.Repeat.Duration != 30*time.Minute {
			t.Errorf("alerts.repeat: got %q, want %q", cfg.Alerts.Repeat, "30m0s")
		}
	})
}

// TestLocal: the built-in configuration validates when ./dist exists.
func TestLocal(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	state := filepath.Join(dir, "state")
	t.Setenv("XDG_STATE_HOME", state)

	t.Run("without dist", func(t *testing.T) {
		err := config.Local().Validate()
		got := fieldErrors(t, err, "(built-in defaults)")
		if len(got) != 1 || got[0].Key != "site.root" || !errors.Is(got[0], config.ErrNotExist) {
			t.Errorf("got %q, want one problem: site.root does not exist", err)
		}
	})

	if err := os.Mkdir("dist", 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := config.Local()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Local().Validate() with ./dist: %v", err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"file", cfg.File, ""},
		{"server.http", cfg.Server.HTTP, ":8080"},
		{"server.https", cfg.Server.HTTPS, ":8443"},
		{"server.state_dir", cfg.Server.StateDir, filepath.Join(state, "edge")},
		{"server.admin_socket", cfg.Server.AdminSocket, filepath.Join(state, "edge", "admin.sock")},
		{"site.root", cfg.Site.Root, "dist"},
		{"site.domains", cfg.Site.Domains[0], "localhost"},
		{"site.spa", cfg.Site.SPAEnabled(), true},
		{"tls.internal", cfg.TLS.Internal, true},
		{"routes", len(cfg.Routes), 1},
		{"route.path", cfg.Routes[0].Path, "/api/"},
		{"route.upstreams", cfg.Routes[0].Upstreams, []string{"127.0.0.1:8000"}},
		{"route.max_body", cfg.Routes[0].MaxBody.Bytes, int64(10_000_000)},
		{"headers.hsts", *cfg.Headers.HSTS, config.DefaultHSTS},
		{"backup", cfg.Backup == nil, true},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, fmt.Sprint(tt.got), fmt.Sprint(tt.want))
		}
	}
	// Validation has no side effects: it does not create the state dir.
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Validate created %s (stat: %v)", state, err)
	}
	// Two calls give independent values.
	a, b := config.Local(), config.Local()
	a.Site.Domains[0] = "changed"
	*a.Headers.CSP = "changed"
	if b.Site.Domains[0] != "localhost" || strings.Contains(*b.Headers.CSP, "changed") {
		t.Errorf("Local() values share memory between calls")
	}
}
