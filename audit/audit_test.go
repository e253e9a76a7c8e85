package audit

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeRoot copies testdata/name into a temp dir (git keeps neither modes
// nor owners nor empty dirs) and applies setup.
func fakeRoot(t *testing.T, name string, setup func(root string)) string {
	t.Helper()
	root := t.TempDir()
	src := filepath.Join("testdata", name)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		dst := filepath.Join(root, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, dst)
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(dst, data, 0o644)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(root)
	}
	return root
}

// place creates path under root with mode and, when running as root,
// owner uid:gid. Directories end in "/".
func place(t *testing.T, root, path string, mode fs.FileMode, uid, gid int) {
	t.Helper()
	p := filepath.Join(root, path)
	if strings.HasSuffix(path, "/") {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	} else if _, err := os.Stat(p); err != nil {
		if err := os.WriteFile(p, []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func run(root string) *Report {
	return Run(context.Background(), Options{Root: root, Now: func() time.Time { return time.Unix(0, 0) }})
}

// TestHardenedHost: the reference deployment, with the units shipped in
// deploy/systemd, passes every check.
func TestHardenedHost(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the fixture files their owners (root, edge)")
	}
	root := fakeRoot(t, "hardened", func(root string) {
		copyFile(t, "../deploy/systemd/edge.service", filepath.Join(root, "etc/systemd/system/edge.service"))
		copyFile(t, "../deploy/systemd/gitcourse-api.service", filepath.Join(root, "etc/systemd/system/gitcourse-api.service"))
		place(t, root, "etc/edge/", 0o750, 0, 998)
		place(t, root, "etc/edge/edge.toml", 0o640, 0, 998)
		place(t, root, "var/www/gitcourse/.env", 0o640, 0, 998)
		place(t, root, "var/lib/edge/", 0o700, 998, 998)
		place(t, root, "var/backups/gitcourse/", 0o750, 998, 998)
	})
	rep := run(root)
	for _, f := range rep.Findings {
		if f.Severity != OK {
			t.Errorf("unexpected finding: %s %s: %s (fix: %s)", f.Severity, f.Check, f.Title, f.Fix)
		}
	}
	if rep.HasHigh() || rep.Host != "web1" {
		t.Errorf("report: HasHigh %v, host %q", rep.HasHigh(), rep.Host)
	}
	for _, want := range []string{
		"edge runs as user edge (pid 101)", "uvicorn runs as user gitcourse (pid 102)",
		"0.0.0.0:22, [::]:22, 0.0.0.0:80 edge (pid 101), 0.0.0.0:443 edge (pid 101), 127.0.0.1:5432 postgres (pid 103), [::1]:5432, 127.0.0.1:8000 python3 (pid 102)",
		"ufw (/etc/ufw) is active", "key-only logins, no root login (/etc/ssh/sshd_config)",
		"env file (secrets) /var/www/gitcourse/.env is 0640 root:edge", "edge.service runs as User=edge",
		"gitcourse-api.service runs as User=gitcourse",
		"lets in 22 (rate-limited), 80, 443 and UDP 443", "UDP buffer limits allow",
	} {
		if !hasFinding(rep, OK, want) {
			t.Errorf("no ok finding containing %q", want)
		}
	}
}

// TestWeakHost: a host with the usual mistakes gets each one reported
// with its severity and a fix.
func TestWeakHost(t *testing.T) {
	root := fakeRoot(t, "weak", func(root string) {
		place(t, root, "srv/app/.env", 0o644, 998, 0)
		place(t, root, "etc/edge/edge.toml", 0o666, 998, 998)
		place(t, root, "srv/edge-state/", 0o755, 0, 0)
		place(t, root, "srv/backups/", 0o770, 998, 998)
	})
	rep := run(root)
	want := []struct {
		sev   Severity
		check string
		title string
	}{
		{High, "process", "edge runs as root (pid 201)"},
		{OK, "process", "uvicorn runs as user gitcourse (pid 202)"},
		{High, "files", "env file (secrets) /srv/app/.env is open to every user"},
		{High, "files", "config /etc/edge/edge.toml is open to every user"},
		{High, "files", "state dir (certificate keys) /srv/edge-state is open to every user"},
		{Medium, "files", "backup dir (database dumps) /srv/backups gives group edge more than it needs"},
		{High, "ports", "the API (uvicorn) listens on 0.0.0.0:8000 uvicorn (pid 202)"},
		{High, "ports", "PostgreSQL listens on 10.0.0.10:5432"},
		{Medium, "ports", "unexpected port open: 0.0.0.0:6379 redis-server (pid 203)"},
		{Medium, "ports", "unexpected port open: [fe80::5254:ff:5634:12fe]:9090"},
		{Info, "ports", "also listening, on loopback only: 127.0.0.1:3306"},
		{Info, "ports", "nothing listens on port 443"},
		{High, "firewall", "no active firewall found"},
		{High, "sshd", "sshd permits root login with a password"},
		{High, "sshd", "sshd accepts passwords (PasswordAuthentication yes"},
		{Medium, "sshd", "keyboard-interactive"},
		{Medium, "upgrades", "unattended-upgrades is not installed"},
		{High, "unit", "edge.service runs as root"},
		{Medium, "unit", `CapabilityBoundingSet is "CAP_NET_BIND_SERVICE"`},
		{Medium, "unit", `AmbientCapabilities is "CAP_NET_BIND_SERVICE"`},
		{Medium, "unit", `ProtectSystem is "full"`},
		{Low, "unit", "edge.service lacks ProtectHome=true, PrivateDevices=true"},
		{Info, "unit", "WatchdogSec"},
		{Low, "kernel", "UDP buffer limits too low for HTTP/3 (net.core.rmem_max=212992, net.core.wmem_max=212992"},
	}
	if os.Geteuid() == 0 {
		want = append(want, struct {
			sev          Severity
			check, title string
		}{Medium, "files", "config /etc/edge/edge.toml is owned by edge, want root"})
	}
	for _, w := range want {
		if !hasFindingIn(rep, w.sev, w.check, w.title) {
			t.Errorf("missing %s %s finding %q", w.sev, w.check, w.title)
		}
	}
	for _, f := range rep.Findings {
		if f.Severity != OK && f.Severity != Info && f.Fix == "" {
			t.Errorf("%s finding without a fix: %s", f.Severity, f.Title)
		}
		if strings.Contains(f.Title, "NoNewPrivileges") || strings.Contains(f.Title, "PrivateTmp") {
			t.Errorf("the drop-in's settings were not applied: %s", f.Title)
		}
	}
	for i := 1; i < len(rep.Findings); i++ {
		if rep.Findings[i].Severity < rep.Findings[i-1].Severity {
			t.Fatalf("findings not sorted by severity at %d", i)
		}
	}
	if !rep.HasHigh() {
		t.Errorf("HasHigh: got false")
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Errorf("marshal report: %v", err)
	}
}

// TestCommands: on the real root the live state comes from commands;
// their output wins over the files.
func TestCommands(t *testing.T) {
	root := fakeRoot(t, "weak", nil)
	outputs := map[string]string{
		"ufw status verbose": "Status: active\nLogging: on (low)\nDefault: deny (incoming), allow (outgoing), disabled (routed)\n" +
			"New profiles: skip\n\nTo                         Action      From\n--                         ------      ----\n" +
			"22/tcp                     ALLOW IN    Anywhere\n80,443/tcp                 ALLOW IN    Anywhere\n" +
			"8080                       ALLOW IN    Anywhere\n5432/tcp                   DENY IN     Anywhere\n" +
			"22/tcp (v6)                ALLOW IN    Anywhere (v6)\n",
		"sshd -T": "port 22\npermitrootlogin without-password\npasswordauthentication no\nkbdinteractiveauthentication no\nusepam yes\n",
	}
	var ran []string
	rep := Run(context.Background(), Options{Root: root, Command: func(_ context.Context, name string, args ...string) ([]byte, error) {
		cmd := strings.Join(append([]string{name}, args...), " ")
		ran = append(ran, cmd)
		out, ok := outputs[cmd]
		if !ok {
			return nil, os.ErrNotExist
		}
		return []byte(out), nil
	}})
	for _, w := range []struct {
		sev          Severity
		check, title string
	}{
		{Medium, "firewall", "ufw lets in ports beyond 22, 80, 443: 8080"},
		{Low, "firewall", "ufw does not rate-limit SSH"},
		{Medium, "sshd", "PermitRootLogin without-password, sshd -T"},
	} {
		if !hasFindingIn(rep, w.sev, w.check, w.title) {
			t.Errorf("missing %s %s finding %q; ran %q", w.sev, w.check, w.title, ran)
		}
	}
	if hasFindingIn(rep, High, "sshd", "passwords") {
		t.Errorf("sshd -T says passwordauthentication no, yet a finding says otherwise")
	}
}

func hasFinding(rep *Report, sev Severity, substr string) bool {
	return hasFindingIn(rep, sev, "", substr)
}

func hasFindingIn(rep *Report, sev Severity, check, substr string) bool {
	for _, f := range rep.Findings {
		if f.Severity == sev && (check == "" || f.Check == check) && strings.Contains(f.Title, substr) {
			return true
		}
	}
	return false
}
