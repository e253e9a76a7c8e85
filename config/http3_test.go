package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitcourse/edge/config"
)

// TestHTTP3Keys: HTTP/3 is on by default with HTTPS, off without it or
// when written false; 0-RTT is off unless asked for, and each key asked
// for where it cannot apply is reported on its line.
func TestHTTP3Keys(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "dist"), 0o755); err != nil {
		t.Fatal(err)
	}
	site := "[site]\ndomains = [\"example.com\"]\nroot = \"" + filepath.Join(root, "dist") + "\"\n"
	tests := []struct {
		name     string
		server   string
		enabled  bool
		zeroRTT  bool
		wantKey  string // "": valid
		wantLine string
	}{
		{"default on", "", true, false, "", ""},
		{"off", "http3 = false\n", false, false, "", ""},
		{"0-RTT on", "http3_0rtt = true\n", true, true, "", ""},
		{"no https: off by default", "https = \"\"\n", false, false, "", ""},
		{"http3 without https", "https = \"\"\nhttp3 = true\n", false, false, "server.http3", "http3 = true"},
		{"0-RTT without http3", "http3 = false\nhttp3_0rtt = true\n", false, true, "server.http3_0rtt", "http3_0rtt"},
		{"0-RTT without https", "https = \"\"\nhttp3_0rtt = true\n", false, true, "server.http3_0rtt", "http3_0rtt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "[server]\n" + tt.server + site
			cfg, err := config.Parse(strings.NewReader(src), "edge.toml", lookupIn(nil))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := cfg.Server.HTTP3Enabled(); got != tt.enabled {
				t.Errorf("HTTP3Enabled() = %v, want %v", got, tt.enabled)
			}
			if cfg.Server.HTTP30RTT != tt.zeroRTT {
				t.Errorf("HTTP30RTT = %v, want %v", cfg.Server.HTTP30RTT, tt.zeroRTT)
			}
			var want []problem
			if tt.wantKey != "" {
				want = []problem{{lineOf(t, src, tt.wantLine), tt.wantKey, config.ErrInvalidValue}}
			}
			checkProblems(t, fieldErrors(t, cfg.Validate(), "edge.toml"), want)
		})
	}
}

// TestHTTP3LocalDefaults: the built-in configuration (no file) serves
// HTTP/3 beside its HTTPS port, without 0-RTT.
func TestHTTP3LocalDefaults(t *testing.T) {
	cfg := config.Local()
	if !cfg.Server.HTTP3Enabled() || cfg.Server.HTTP30RTT {
		t.Errorf("Local(): http3 %v, http3_0rtt %v; want true, false", cfg.Server.HTTP3Enabled(), cfg.Server.HTTP30RTT)
	}
}
