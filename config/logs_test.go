package config_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/internal/testutil"
)

// TestLogsRules: every [logs] rule reports FILE:LINE: key with its cause,
// and a valid table gets its defaults.
func TestLogsRules(t *testing.T) {
	tmp := t.TempDir()
	root := filepath.Join(tmp, "dist")
	pem := filepath.Join(tmp, "ca.pem")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pem, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, key, _ := testutil.WriteCert(t, tmp, "logs.example.com")
	site := "[site]\ndomains = [\"example.com\"]\nroot = \"" + root + "\"\n"
	type want struct {
		key string
		at  string
		err error
	}
	tests := []struct {
		name string
		src  string
		want []want
	}{
		{"tls remote", "[logs]\nremote = \"tls://logs.example.com:6514\"\n", nil},
		{"all keys", "[logs]\nremote = \"tls://[::1]:6514\"\nca_file = \"{{cert}}\"\ncert_file = \"{{cert}}\"\nkey_file = \"{{key}}\"\naccess = false\nmin_level = \"warn\"\nspool = \"2MiB\"\nalert_after = \"1m\"\n", nil},
		{"tcp to loopback", "[logs]\nremote = \"tcp://127.0.0.1:514\"\n", nil},
		{"remote missing", "[logs]\naccess = true\n", []want{{"logs.remote", "[logs]", config.ErrRequired}}},
		{"tcp to a public host", "[logs]\nremote = \"tcp://logs.example.com:514\" # here\n", []want{{"logs.remote", "# here", config.ErrInvalidValue}}},
		{"udp scheme", "[logs]\nremote = \"udp://127.0.0.1:514\"\n", []want{{"logs.remote", "remote", config.ErrInvalidValue}}},
		{"no port", "[logs]\nremote = \"tls://logs.example.com\"\n", []want{{"logs.remote", "remote", config.ErrInvalidValue}}},
		{"not a URL", "[logs]\nremote = \"logs.example.com:6514\"\n", []want{{"logs.remote", "remote", config.ErrInvalidValue}}},
		{"ca_file missing", "[logs]\nremote = \"tls://l:6514\"\nca_file = \"{{tmp}}/none.pem\"\n", []want{{"logs.ca_file", "ca_file", config.ErrNotExist}}},
		{"ca_file not PEM", "[logs]\nremote = \"tls://l:6514\"\nca_file = \"{{pem}}\"\n", []want{{"logs.ca_file", "ca_file", config.ErrInvalidValue}}},
		{"cert_file not a certificate", "[logs]\nremote = \"tls://l:6514\"\ncert_file = \"{{key}}\"\nkey_file = \"{{key}}\"\n", []want{{"logs.cert_file", "cert_file", config.ErrInvalidValue}}},
		{"key_file not a key", "[logs]\nremote = \"tls://l:6514\"\ncert_file = \"{{cert}}\"\nkey_file = \"{{cert}}\"\n", []want{{"logs.key_file", "key_file", config.ErrInvalidValue}}},
		{"key_file missing", "[logs]\nremote = \"tls://l:6514\"\ncert_file = \"{{cert}}\"\nkey_file = \"{{tmp}}/none.key\"\n", []want{{"logs.key_file", "key_file", config.ErrNotExist}}},
		{"cert without key", "[logs]\nremote = \"tls://l:6514\"\ncert_file = \"{{pem}}\"\n", []want{{"logs.key_file", "[logs]", config.ErrRequired}}},
		{"min_level", "[logs]\nremote = \"tls://l:6514\"\nmin_level = \"notice\"\n", []want{{"logs.min_level", "min_level", config.ErrInvalidValue}}},
		{"spool not a size", "[logs]\nremote = \"tls://l:6514\"\nspool = \"big\"\n", []want{{"logs.spool", "spool", config.ErrByteSize}}},
		{"spool too small", "[logs]\nremote = \"tls://l:6514\"\nspool = \"10KB\"\n", []want{{"logs.spool", "spool", config.ErrInvalidValue}}},
		{"alert_after", "[logs]\nremote = \"tls://l:6514\"\nalert_after = \"soon\"\n", []want{{"logs.alert_after", "alert_after", config.ErrDuration}}},
	}
	r := strings.NewReplacer("{{pem}}", pem, "{{tmp}}", tmp, "{{cert}}", cert, "{{key}}", key)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := site + r.Replace(tt.src)
			cfg, err := parse(t, src, "edge.toml", nil)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var want []problem
			for _, w := range tt.want {
				want = append(want, problem{lineOf(t, src, w.at), w.key, w.err})
			}
			checkProblems(t, fieldErrors(t, cfg.Validate(), "edge.toml"), want)
		})
	}
}

func TestLogsDefaults(t *testing.T) {
	tmp := t.TempDir()
	src := "[site]\ndomains = [\"example.com\"]\nroot = \"" + tmp + "\"\n[logs]\nremote = \"tls://logs.example.com:6514\"\n"
	l := mustParse(t, src, nil).Logs
	if l == nil {
		t.Fatal("Logs is nil")
	}
	if !l.AccessEnabled() || l.Level() != slog.LevelInfo || l.Spool.Bytes != 64e6 || l.AlertAfter.Minutes() != 15 {
		t.Errorf("defaults: access %v level %v spool %d alert_after %v", l.AccessEnabled(), l.Level(), l.Spool.Bytes, l.AlertAfter)
	}
	if s, a := l.RemoteAddr(); s != "tls" || a != "logs.example.com:6514" {
		t.Errorf("RemoteAddr = %q %q", s, a)
	}
	if mustParse(t, "[site]\ndomains = [\"example.com\"]\nroot = \""+tmp+"\"\n", nil).Logs != nil {
		t.Error("Logs is set without a [logs] table")
	}
}
