package e2e

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// hashPassword runs "edge hash-password" with stdin as its standard input.
func hashPassword(t *testing.T, stdin string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, edgeBinary(t), "hash-password")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("edge hash-password: %v", err)
	}
	return out.String(), errb.String(), code
}

// TestHashPasswordWorksForAdminLogin: the printed hash is one bcrypt line
// for that password, and edge run accepts it as admin.users.
// Not parallel: the race-built edge checks a cost-12 bcrypt hash per
// admin request, seconds of CPU on a loaded machine.
func TestHashPasswordWorksForAdminLogin(t *testing.T) {
	const pw = "correct horse battery staple"
	out, errOut, code := hashPassword(t, pw+"\n")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one line, got %q", out)
	}
	hash := lines[0]
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)); err != nil {
		t.Fatalf("bcrypt rejects the printed hash %q: %v", hash, err)
	}
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost != 12 {
		t.Errorf("cost %d (%v), want 12", cost, err)
	}

	e := startEdge(t, Options{Env: []string{"EDGE_ADMIN_BCRYPT=" + hash}})
	c := e.Client()
	resp, body := get(t, c, e.HTTPS("/admin/status.json"), basicAuth(adminUser, pw))
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = get(t, c, e.HTTPS("/admin/status.json"), basicAuth(adminUser, adminPassword))
	wantStatus(t, resp, body, http.StatusUnauthorized)
}

func TestHashPasswordRefusesEmptyInput(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "\n"} {
		out, errOut, code := hashPassword(t, in)
		if code != 1 || out != "" || !strings.Contains(errOut, "empty password") {
			t.Errorf("input %q: exit %d, stdout %q, stderr %q; want exit 1 naming the empty password", in, code, out, errOut)
		}
	}
}

// TestValidatePrintRoundTrips: validate -print shows the defaults and no
// secret, and what it prints validates again in the same environment.
func TestValidatePrintRoundTrips(t *testing.T) {
	t.Parallel()
	e := newEdgeWithSite(t, Options{})
	e.HTTPPort, e.HTTPSPort = freePort(t), freePort(t)
	e.WriteConfig()
	env := []string{"EDGE_ADMIN_BCRYPT=" + bcryptHash(t)}
	out, errOut, code := runEdge(t, env, "validate", "-config", e.Config, "-print")
	if code != 0 {
		t.Fatalf("validate -print: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"access_log = ", "shutdown_timeout = ", "${EDGE_ADMIN_BCRYPT}"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, bcryptHash(t)) {
		t.Errorf("output shows the admin hash")
	}
	printed := e.Dir + "/printed.toml"
	if err := os.WriteFile(printed, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runEdge(t, env, "validate", "-config", printed); code != 0 {
		t.Errorf("printed config does not validate: %s\n%s", errOut, out)
	}
}
