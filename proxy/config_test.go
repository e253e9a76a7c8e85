package proxy

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/config"
)

// parseConfig parses a config with a [site] and the given extra text.
func parseConfig(t *testing.T, extra string) (*config.Config, error) {
	t.Helper()
	src := "[site]\ndomains = [\"example.com\"]\nroot = \"" + t.TempDir() + "\"\n" + extra
	cfg, err := config.Parse(strings.NewReader(src), "edge.toml", func(string) (string, bool) { return "", false })
	if err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// TestProxyConfigKeys: the keys this package reads, their defaults and
// their validation.
func TestProxyConfigKeys(t *testing.T) {
	cfg, err := parseConfig(t, "[[route]]\npath = \"/api/\"\nupstreams = [\"127.0.0.1:8000\"]\n")
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Routes[0]
	if r.Health.Healthy != 2 || r.Health.Unhealthy != 3 || !r.PassHostEnabled() ||
		r.PassiveCooldown.Duration != 10*time.Second || len(cfg.Server.TrustedProxies) != 0 {
		t.Errorf("defaults: health %+v pass_host %v passive_cooldown %s trusted_proxies %q",
			r.Health, r.PassHostEnabled(), r.PassiveCooldown.Duration, cfg.Server.TrustedProxies)
	}
	cfg, err = parseConfig(t, `[server]
trusted_proxies = ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]
[[route]]
path = "/api/"
upstreams = ["127.0.0.1:8000"]
health = { path = "/api/health", interval = "5s", timeout = "1s", healthy = 1, unhealthy = 5 }
pass_host = false
passive_cooldown = "0s"
`)
	if err != nil {
		t.Fatal(err)
	}
	r = cfg.Routes[0]
	if r.Health.Healthy != 1 || r.Health.Unhealthy != 5 || r.PassHostEnabled() || r.PassiveCooldown.Duration != 0 {
		t.Errorf("set values: health %+v pass_host %v passive_cooldown %s", r.Health, r.PassHostEnabled(), r.PassiveCooldown.Duration)
	}
	if got := cfg.Server.TrustedNetworks(); len(got) != len(cfg.Server.TrustedProxies) {
		t.Errorf("TrustedNetworks() = %v for %q", got, cfg.Server.TrustedProxies)
	}
}

func TestProxyConfigRejects(t *testing.T) {
	route := "[[route]]\npath = \"/api/\"\nupstreams = [\"127.0.0.1:8000\"]\n"
	tests := []struct {
		name, text, key string
		cause           error
	}{
		{"bad CIDR", "[server]\ntrusted_proxies = [\"10.0.0.0/33\"]\n", "server.trusted_proxies[0]", config.ErrBadCIDR},
		{"healthy 0", route + "health = { path = \"/h\", healthy = 0 }\n", "route[0].health.healthy", config.ErrInvalidValue},
		{"unhealthy negative", route + "health = { path = \"/h\", unhealthy = -1 }\n", "route[0].health.unhealthy", config.ErrInvalidValue},
		{"timeout above interval", route + "health = { path = \"/h\", interval = \"1s\", timeout = \"2s\" }\n", "route[0].health.timeout", config.ErrInvalidValue},
		{"bad cool-down", route + "passive_cooldown = \"soon\"\n", "route[0].passive_cooldown", config.ErrDuration},
		{"pass_host not a bool", route + "pass_host = \"yes\"\n", "route", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(t, tt.text)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q does not name %s", err, tt.key)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("error %q is not %v", err, tt.cause)
			}
		})
	}
}
