package cli

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/admin"
)

func sampleStatus() admin.Status {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	exp, days := now.Add(62*24*time.Hour), 62.0
	last := now.Add(-9 * time.Hour)
	return admin.Status{
		GeneratedAt: now, State: admin.Red, Version: "v1.2.3", UptimeSeconds: 3700, Config: "/etc/edge/edge.toml",
		Problems:  []admin.Problem{{Level: admin.Red, Component: "check", Message: "check db is down: timeout"}},
		Listeners: map[string]string{"http": ":80", "https": ":443"}, Domains: []string{"a.test"},
		Certificates: []admin.Certificate{{Domain: "a.test", Source: "acme", Issuer: "R11", NotAfter: &exp, DaysLeft: &days}},
		Routes: []admin.Route{{Name: "/api/", Kind: "proxy", Upstreams: []admin.Upstream{
			{Addr: "127.0.0.1:8000", Up: true}, {Addr: "127.0.0.1:8001", LastError: "connection refused"}}}},
		Backup: admin.Backup{Configured: true, LastSuccess: &last, LastSizeBytes: 12_300_000, LastDurationSeconds: 42, Verified: true},
		Checks: []admin.Check{{Name: "db", Kind: "postgres", State: "down", LastError: "timeout"}},
	}
}

func TestPrintStatusPlain(t *testing.T) {
	var buf bytes.Buffer
	printStatus(&buf, sampleStatus(), palette{})
	out := buf.String()
	for _, want := range []string{
		"edge v1.2.3  RED  up 1h 1m", "! check: check db is down", "domains    a.test",
		"cert       a.test  acme  R11  expires 2027-01-26 (62.0 d)", "route      /api/",
		"127.0.0.1:8001  down  connection refused", "backup     last 9h ago  12.3 MB  took 42s  verified",
		"check      db  down  no history yet  timeout", "alerts     not configured",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") || strings.Contains(out, "●") {
		t.Errorf("plain output has colours or bullets:\n%q", out)
	}
}

func TestPrintStatusColours(t *testing.T) {
	var buf bytes.Buffer
	printStatus(&buf, sampleStatus(), palette{on: true})
	out := buf.String()
	if !strings.Contains(out, "\x1b[1;31mRED\x1b[0m") || !strings.Contains(out, "\x1b[32m●\x1b[0m 127.0.0.1:8000") {
		t.Errorf("coloured output lacks the red state or a green bullet:\n%q", out)
	}
}

func TestColoursOnlyOnATerminal(t *testing.T) {
	if colorsFor(&bytes.Buffer{}).on {
		t.Error("colours for a buffer")
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if colorsFor(f).on {
		t.Error("colours for a regular file")
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if colorsFor(null).on {
		t.Error("colours for /dev/null")
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		t.Setenv("NO_COLOR", "1")
		if colorsFor(tty).on {
			t.Error("colours on a terminal with NO_COLOR set")
		}
	}
}
