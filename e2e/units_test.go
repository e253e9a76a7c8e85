package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/gitcourse/edge/internal/testutil"
)

// repoRoot is the repository top, two levels up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

var units = []string{"edge-http.socket", "edge-https.socket", "edge-h3.socket", "edge.service", "gitcourse-api.socket", "gitcourse-api.service"}

// templates are the shipped template units, staged as their instance
// for port 8001 (verify needs an instance name).
var templates = map[string]string{
	"gitcourse-api@.socket": "gitcourse-api@8001.socket", "gitcourse-api@.service": "gitcourse-api@8001.service",
}

// stageUnits copies the shipped units to a temp dir with ExecStart pointing
// at the built binary (verify checks that the command exists).
func stageUnits(t *testing.T) string {
	t.Helper()
	bin := edgeBinary(t)
	dir := t.TempDir()
	for _, u := range append(units, "gitcourse-api@.socket", "gitcourse-api@.service") {
		name := u
		if inst, ok := templates[u]; ok {
			name = inst
		}
		data, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "systemd", u))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(data), "/usr/local/bin/edge", bin)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestUnitsVerifyClean(t *testing.T) {
	_, err := exec.LookPath("systemd-analyze")
	testutil.RequireOrSkip(t, "systemd-analyze (Debian package systemd)", err)
	_, err = os.Stat("/usr/bin/python3")
	testutil.RequireOrSkip(t, "/usr/bin/python3 (ExecStart of gitcourse-api.service)", err)
	dir := stageUnits(t)
	args := []string{"verify"}
	for _, u := range append(units, "gitcourse-api@8001.socket", "gitcourse-api@8001.service") {
		args = append(args, "./"+u)
	}
	cmd := exec.Command("systemd-analyze", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) != 0 {
		t.Fatalf("systemd-analyze verify: %v, want exit 0 and no output:\n%s", err, out)
	}
}

func TestUnitsSecurityExposure(t *testing.T) {
	_, err := exec.LookPath("systemd-analyze")
	testutil.RequireOrSkip(t, "systemd-analyze (Debian package systemd)", err)
	dir := stageUnits(t)
	re := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)
	for _, u := range []string{"edge.service", "gitcourse-api.service", "gitcourse-api@8001.service"} {
		cmd := exec.Command("systemd-analyze", "security", "--offline=true", "./"+u)
		cmd.Dir = dir
		out, _ := cmd.CombinedOutput()
		m := re.FindSubmatch(out)
		if m == nil {
			t.Fatalf("%s: no exposure level in:\n%s", u, out)
		}
		level, _ := strconv.ParseFloat(string(m[1]), 64)
		t.Logf("%s exposure %.1f", u, level)
		if level > 1.2 {
			t.Errorf("%s exposure %.1f, want <= 1.2:\n%s", u, level, out)
		}
	}
}

func TestUnitsContract(t *testing.T) {
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	for name, want := range map[string][]string{
		"edge-http.socket":  {"ListenStream=80", "FileDescriptorName=http", "Service=edge.service"},
		"edge-https.socket": {"ListenStream=443", "FileDescriptorName=https", "Service=edge.service"},
		"edge-h3.socket":    {"ListenDatagram=443", "FileDescriptorName=h3", "Service=edge.service"},
		"edge.service": {"Type=notify", "NotifyAccess=main", "WatchdogSec=", "User=edge", "CapabilityBoundingSet=\n",
			"EnvironmentFile=/var/www/gitcourse/.env", "Restart=on-failure", "StateDirectory=edge", "RuntimeDirectory=edge",
			"ProtectSystem=strict", "NoNewPrivileges=true", "SystemCallFilter=@system-service", "UMask=0077"},
		"gitcourse-api.service": {" --fd 3 ", "--proxy-headers", "--forwarded-allow-ips=127.0.0.1", "--timeout-keep-alive 120",
			"Requires=gitcourse-api.socket", "After=gitcourse-api.socket",
			"SyslogIdentifier=gitcourse-api", "StandardOutput=journal"},
		"gitcourse-api.socket":   {"ListenStream=127.0.0.1:8000\n", "Service=gitcourse-api.service", "WantedBy=sockets.target"},
		"gitcourse-api@.socket":  {"ListenStream=127.0.0.1:%i\n", "Service=gitcourse-api@%i.service"},
		"gitcourse-api@.service": {" --fd 3 ", "Requires=gitcourse-api@%i.socket", "SyslogIdentifier=gitcourse-api@%i"},
	} {
		text := read(name)
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s lacks %q", name, w)
			}
		}
	}
	// Start limits belong in [Unit]; in [Service] systemd ignores them.
	svc := read("edge.service")
	unit := svc[:strings.Index(svc, "[Service]")]
	for _, k := range []string{"StartLimitIntervalSec=", "StartLimitBurst="} {
		if !strings.Contains(unit, k) {
			t.Errorf("edge.service: %s not in [Unit]", k)
		}
	}
	if strings.Contains(svc, "User=root") || strings.Contains(svc, "AmbientCapabilities=CAP") {
		t.Error("edge.service must not run as root or with capabilities")
	}
}

func TestInstallScriptStagingRoot(t *testing.T) {
	bin := edgeBinary(t)
	root := t.TempDir()
	script := filepath.Join(repoRoot(t), "deploy", "install.sh")
	for run := 0; run < 2; run++ { // idempotent: a second run succeeds and keeps the config
		out, err := exec.Command("bash", script, "--destdir", root, "--binary", bin).CombinedOutput()
		if err != nil {
			t.Fatalf("install.sh run %d: %v\n%s", run+1, err, out)
		}
		if run == 1 && !strings.Contains(string(out), "/etc/edge/edge.toml exists; left as it is") {
			t.Errorf("second run did not keep the existing config:\n%s", out)
		}
	}
	for path, mode := range map[string]os.FileMode{
		"usr/local/bin/edge": 0o755, "etc/edge": 0o750, "etc/edge/edge.toml": 0o640,
		"etc/systemd/system/edge.service": 0o644, "etc/systemd/system/edge-http.socket": 0o644,
		"etc/systemd/system/gitcourse-api.socket": 0o644, "etc/systemd/system/gitcourse-api.service": 0o644,
		"etc/systemd/system/edge-h3.socket": 0o644, "etc/sysctl.d/60-edge.conf": 0o644,
		"var/lib/edge": 0o700, "var/backups/gitcourse": 0o750, "var/www/gitcourse/.env": 0o640,
	} {
		fi, err := os.Stat(filepath.Join(root, path))
		if err != nil {
			t.Errorf("%s not installed: %v", path, err)
			continue
		}
		if got := fi.Mode().Perm(); got != mode {
			t.Errorf("%s mode %04o, want %04o", path, got, mode)
		}
	}
	out, err := exec.Command(filepath.Join(root, "usr/local/bin/edge"), "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "edge ") {
		t.Errorf("installed binary: %v %q", err, out)
	}
}

func TestInstallScriptDryRunChangesNothing(t *testing.T) {
	root := t.TempDir()
	script := filepath.Join(repoRoot(t), "deploy", "install.sh")
	out, err := exec.Command("bash", script, "--dry-run", "--destdir", root).CombinedOutput()
	if err != nil {
		t.Fatalf("install.sh --dry-run: %v\n%s", err, out)
	}
	for _, want := range []string{"would run: install -d -m 0700 " + root + "/var/lib/edge", "edge.service", "/etc/edge/edge.toml"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("dry-run plan lacks %q:\n%s", want, out)
		}
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 0 {
		t.Errorf("dry-run created %d entries in the staging root", len(entries))
	}
}
