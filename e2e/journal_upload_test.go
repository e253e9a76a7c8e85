package e2e

import (
	"github.com/gitcourse/edge/internal/testutil"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstallScriptJournalUpload: --journal-upload writes the uploader's
// config with the URL and TLS files, and a drop-in that, with Debian's
// systemd-journal-upload.service, passes systemd-analyze verify.
func TestInstallScriptJournalUpload(t *testing.T) {
	t.Parallel()
	_, err := exec.LookPath("systemd-analyze")
	testutil.RequireOrSkip(t, "systemd-analyze (Debian package systemd)", err)
	const pkgUnit = "/lib/systemd/system/systemd-journal-upload.service"
	_, err = os.Stat(pkgUnit)
	testutil.RequireOrSkip(t, "systemd-journal-upload (Debian package systemd-journal-remote)", err)
	bin := edgeBinary(t)
	root, tls := t.TempDir(), t.TempDir()
	for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
		writeFile(t, filepath.Join(tls, f), "-----BEGIN "+f+"-----\n", 0o600)
	}
	script := filepath.Join(repoRoot(t), "deploy", "install.sh")
	const url = "https://logs.example.com:19532"
	out, err := exec.Command("bash", script, "--destdir", root, "--binary", bin, "--journal-upload", url,
		"--journal-upload-ca", filepath.Join(tls, "ca.pem"), "--journal-upload-cert", filepath.Join(tls, "cert.pem"),
		"--journal-upload-key", filepath.Join(tls, "key.pem")).CombinedOutput()
	if err != nil {
		t.Fatalf("install.sh --journal-upload: %v\n%s", err, out)
	}
	conf, err := os.ReadFile(filepath.Join(root, "etc/systemd/journal-upload.conf.d/edge.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[Upload]", "\nURL=" + url + "\n", "TrustedCertificateFile=/etc/systemd/journal-upload-tls/ca.pem",
		"ServerKeyFile=/etc/systemd/journal-upload-tls/key.pem"} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("journal-upload config lacks %q:\n%s", want, conf)
		}
	}
	for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
		fi, err := os.Stat(filepath.Join(root, "etc/systemd/journal-upload-tls", f))
		if err != nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("TLS file %s: %v, mode %v, want 0640", f, err, fi)
		}
	}

	// The drop-in beside a copy of the packaged unit: verify reads both.
	dir := t.TempDir()
	unit, err := os.ReadFile(pkgUnit)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "systemd-journal-upload.service"), string(unit), 0o644)
	copyDir(t, filepath.Join(root, "etc/systemd/system/systemd-journal-upload.service.d"),
		filepath.Join(dir, "systemd-journal-upload.service.d"))
	cmd := exec.Command("systemd-analyze", "verify", "./systemd-journal-upload.service")
	cmd.Dir = dir
	vout, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(vout))) != 0 {
		t.Fatalf("systemd-analyze verify with the drop-in: %v, want exit 0 and no output:\n%s", err, vout)
	}

	// Plain http:// leaves the host in clear text: refused.
	out, err = exec.Command("bash", script, "--destdir", t.TempDir(), "--binary", bin,
		"--journal-upload", "http://logs.example.com:19532").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "use https://") {
		t.Errorf("install.sh accepted a clear-text journal upload URL: %v\n%s", err, out)
	}
}
