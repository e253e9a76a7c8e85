package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/config"
)

func limitSite(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "dist")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return "[site]\ndomains = [\"example.com\"]\nroot = \"" + root + "\"\n"
}

func TestLimitDefaults(t *testing.T) {
	site := limitSite(t)
	cfg := mustParse(t, site+"[[limit]]\nname = \"login\"\npath = \"/api/auth/\"\nrate = \"10/m\"\n", nil)
	if cfg.Server.MaxConnsPerIP != config.DefaultMaxConnsPerIP {
		t.Errorf("max_conns_per_ip = %d, want %d", cfg.Server.MaxConnsPerIP, config.DefaultMaxConnsPerIP)
	}
	l := cfg.Limits[0]
	if l.Burst != 10 || l.QueueTimeout.Duration != 2*time.Second || l.BanWindow.Duration != 10*time.Minute ||
		l.BanFor.Duration != 15*time.Minute || l.MaxClients != 100000 || l.Rate.PerSecond() != 10.0/60 {
		t.Errorf("defaults %+v", l)
	}
	cfg = mustParse(t, "[server]\nmax_conns_per_ip = 0\n"+site, nil)
	if cfg.Server.MaxConnsPerIP != 0 {
		t.Errorf("written 0 replaced by %d", cfg.Server.MaxConnsPerIP)
	}
}

// TestLimitErrors: every bad value is reported as FILE:LINE: key: reason.
func TestLimitErrors(t *testing.T) {
	site := limitSite(t)
	const rule = "[[limit]]\nname = \"login\"\npath = \"/api/auth/\"\n"
	tests := []struct {
		name, src, key, at string
		err                error
	}{
		{"bad rate", rule + "rate = \"10/min\"\n", "limit[0].rate", "rate =", config.ErrRate},
		{"zero rate", rule + "rate = \"0/s\"\n", "limit[0].rate", "rate =", config.ErrRate},
		{"limits nothing", rule, "limit[0]", "[[limit]]", config.ErrRequired},
		{"no name", "[[limit]]\npath = \"/\"\nrate = \"1/s\"\n", "limit[0].name", "[[limit]]", config.ErrRequired},
		{"bad name", "[[limit]]\nname = \"log in\"\npath = \"/\"\nrate = \"1/s\"\n", "limit[0].name", "name =", config.ErrInvalidValue},
		{"duplicate name", rule + "rate = \"1/s\"\n" + rule + "rate = \"1/s\"\n", "limit[1].name", "name =", config.ErrDuplicate},
		{"relative path", "[[limit]]\nname = \"a\"\npath = \"api\"\nrate = \"1/s\"\n", "limit[0].path", "path =", config.ErrInvalidValue},
		{"lower-case method", rule + "rate = \"1/s\"\nmethods = [\"post\"]\n", "limit[0].methods[0]", "methods", config.ErrInvalidValue},
		{"zero burst", rule + "rate = \"1/s\"\nburst = 0\n", "limit[0].burst", "burst", config.ErrInvalidValue},
		{"negative in flight", rule + "rate = \"1/s\"\nmax_in_flight = -1\n", "limit[0].max_in_flight", "max_in_flight", config.ErrInvalidValue},
		{"zero queue timeout", rule + "max_in_flight = 4\nqueue_timeout = \"0s\"\n", "limit[0].queue_timeout", "queue_timeout", config.ErrInvalidValue},
		{"bad ban_for", rule + "rate = \"1/s\"\nban_after = 3\nban_for = \"15\"\n", "limit[0].ban_for", "ban_for", config.ErrDuration},
		{"zero ban window", rule + "rate = \"1/s\"\nban_after = 3\nban_window = \"0s\"\n", "limit[0].ban_window", "ban_window", config.ErrInvalidValue},
		{"bad allow", rule + "rate = \"1/s\"\nallow = [\"10.0.0.0/33\"]\n", "limit[0].allow[0]", "allow", config.ErrBadCIDR},
		{"zero max clients", rule + "rate = \"1/s\"\nmax_clients = 0\n", "limit[0].max_clients", "max_clients", config.ErrInvalidValue},
		{"negative conns per ip", "[server]\nmax_conns_per_ip = -1\n" + site, "server.max_conns_per_ip", "max_conns_per_ip", config.ErrInvalidValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src
			if !strings.Contains(src, "[site]") {
				src = site + src
			}
			cfg, err := parse(t, src, "edge.toml", nil)
			if err == nil {
				err = cfg.Validate()
			}
			fes := fieldErrors(t, err, "edge.toml")
			if len(fes) != 1 {
				t.Fatalf("problems %v, want one for %s", err, tc.key)
			}
			fe := fes[0]
			lines := strings.Split(src, "\n")
			if fe.Key != tc.key || !errors.Is(fe, tc.err) || fe.Line < 1 || !strings.Contains(lines[fe.Line-1], tc.at) {
				t.Errorf("got %v (line %d), want %s at a line with %q: %v", fe, fe.Line, tc.key, tc.at, tc.err)
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{"5/s": 5, "10/m": 10.0 / 60, "1000/h": 1000.0 / 3600, " 1/s ": 1} {
		r, err := config.ParseRate(in)
		if err != nil || r.PerSecond() != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v/s", in, r, err, want)
		}
	}
	for _, in := range []string{"", "10", "10/d", "-1/s", "0/s", "1.5/s", "1e3/s", "10/ s", "10/S", "1234567890/s", "+5/s", "5/sec"} {
		if _, err := config.ParseRate(in); !errors.Is(err, config.ErrRate) {
			t.Errorf("ParseRate(%q): err %v, want ErrRate", in, err)
		}
	}
}

// FuzzParseRate: ParseRate never panics; what it accepts is a positive
// rate that writes back to an equal rate.
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"10/m", "5/s", "1000/h", "0/s", "999999999/s", "1/", "/s", "10/mm", "\x00/s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := config.ParseRate(s)
		if err != nil {
			if !errors.Is(err, config.ErrRate) {
				t.Fatalf("ParseRate(%q): error %v is not ErrRate", s, err)
			}
			return
		}
		if r.PerSecond() <= 0 {
			t.Fatalf("ParseRate(%q) accepted a rate of %v/s", s, r.PerSecond())
		}
		back, err := config.ParseRate(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseRate(%q) = %v; its String %q parses to %v, %v", s, r, r.String(), back, err)
		}
	})
}

// TestUnknownKeySuggestion: a typo names the closest known key.
func TestUnknownKeySuggestion(t *testing.T) {
	site := limitSite(t)
	for src, want := range map[string]string{
		"[server]\nhtps = \":443\"\n" + site:                                                                `server.htps: unknown key (fix: check the spelling against docs/configuration.md): did you mean "https"?`,
		site + "[[limit]]\nname = \"a\"\npath = \"/\"\nrate = \"1/s\"\nbrust = 3\n":                         `limit[0].brust: unknown key (fix: check the spelling against docs/configuration.md): did you mean "burst"?`,
		site + "[[route]]\npath = \"/a/\"\nupstreams = [\"127.0.0.1:1\"]\ntimeouts = { conect = \"1s\" }\n": `did you mean "connect"?`,
		"[server]\nzzzzzz = 1\n" + site:                                                                     "server.zzzzzz: unknown key (fix: check the spelling against docs/configuration.md)\n",
	} {
		_, err := parse(t, src, "edge.toml", nil)
		if err == nil || !strings.Contains(err.Error()+"\n", want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
}

// TestPapercuts: a short check interval without a timeout is valid (the
// default timeout follows it); an upstream port out of range is an error.
func TestPapercuts(t *testing.T) {
	site := limitSite(t)
	cfg := mustParse(t, site+"[[check]]\nname = \"api\"\ntcp = \"127.0.0.1:8000\"\ninterval = \"2s\"\n", nil)
	if got := cfg.Checks[0].Timeout.Duration; got != 2*time.Second {
		t.Errorf("check timeout with interval 2s = %s, want 2s", got)
	}
	for _, port := range []string{"99999", "0", "65536"} {
		cfg, err := parse(t, site+"[[route]]\npath = \"/api/\"\nupstreams = [\"127.0.0.1:"+port+"\"]\n", "edge.toml", nil)
		if err == nil {
			err = cfg.Validate()
		}
		fes := fieldErrors(t, err, "edge.toml")
		if len(fes) != 1 || fes[0].Key != "route[0].upstreams[0]" || !strings.Contains(fes[0].Error(), "is not a number from 1 to 65535") {
			t.Errorf("upstream port %s: %v, want one out-of-range error", port, err)
		}
	}
}
