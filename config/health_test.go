package config_test

import (
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/config"
)

// The keys of checks and alerts added for health: defaults and validation.
func TestHealthKeys(t *testing.T) {
	root := t.TempDir()
	site := "[site]\ndomains = [\"example.com\"]\nroot = \"" + root + "\"\n[[route]]\npath = \"/api/\"\nupstreams = [\"127.0.0.1:8000\"]\n"
	cfg := mustParse(t, site+`
[[check]]
name = "api"
http = "http://127.0.0.1:8000/api/health"
[[check]]
name = "api-traffic"
route = "/api/"
[[check]]
name = "disk"
disk = "`+root+`"
[alerts]
heartbeat_url = "https://hc.example/ping/x"
webhook = { url = "https://hooks.example/x" }
`, nil)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	api, tr, disk := cfg.Checks[0], cfg.Checks[1], cfg.Checks[2]
	for _, tt := range []struct {
		name      string
		got, want any
	}{
		{"check.failures", api.Failures, 3},
		{"check.successes", api.Successes, 2},
		{"check.status", api.Status, 0},
		{"check.max_error_rate", tr.MaxErrorRate, 0.05},
		{"check.max_p95", tr.MaxP95.Duration, 2 * time.Second},
		{"check.window", tr.Window.Duration, 5 * time.Minute},
		{"check.min_requests", tr.MinRequests, 20},
		{"check.min_free_inodes", disk.MinFreeInodes, int64(1000)},
		{"alerts.heartbeat_interval", cfg.Alerts.HeartbeatInterval.Duration, time.Minute},
		{"alerts.webhook.timeout", cfg.Alerts.Webhook.Timeout.Duration, 10 * time.Second},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}

	bad, err := parse(t, site+`
[[check]]
name = "cert:example.com"
tcp = "nohost"
failures = 0
status = 200
[[check]]
name = "traffic"
route = "/nope/"
max_error_rate = 2.0
[[check]]
name = "slow"
http = "http://127.0.0.1/"
interval = "1s"
timeout = "2s"
status = 42
[alerts]
heartbeat_url = "ftp://x"
email = { smtp = "mail:25", from = "a@b", to = ["not an address"] }
`, "edge.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bad.Validate()
	var errs *config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("got %v, want *config.Errors", err)
	}
	var keys []string
	for _, fe := range errs.List {
		keys = append(keys, fe.Key)
		if !errors.Is(fe, config.ErrInvalidValue) {
			t.Errorf("%s: %v is not ErrInvalidValue", fe.Key, fe.Err)
		}
	}
	sort.Strings(keys)
	want := []string{"alerts.email.to[0]", "alerts.heartbeat_url",
		"check[0]", "check[0].failures", "check[0].name", "check[0].tcp",
		"check[1].max_error_rate", "check[1].route",
		"check[2].status", "check[2].timeout"}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Errorf("problems:\n got %v\nwant %v\n%v", keys, want, err)
	}
}
