package e2e

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/internal/testutil"
)

// updateDocs copies the status page screenshot to docs/status-page.png.
var updateDocs = flag.Bool("update-docs", false, "copy the admin status page screenshot to docs/status-page.png")

// chromiumPath finds Chromium (Debian's package: apt-get install chromium).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testutil.RequireOrSkip(t, "Chromium (apt-get install chromium)", errors.New("no chromium, chromium-browser or google-chrome on PATH"))
	return ""
}

// artifactDir is where browser tests leave their screenshots:
// $EDGE_E2E_ARTIFACTS, or edge-e2e-artifacts in the temp dir.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("EDGE_E2E_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "edge-e2e-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("create the artifact dir: %v", err)
	}
	return dir
}

// page is what headless Chromium made of a URL.
type page struct {
	DOM     string // the serialized DOM after load
	Console string // Chromium's log, with the page's console messages
}

// browse loads target in a fresh headless Chromium with a window of size
// "W,H", saves a screenshot to shot and returns the DOM and the log.
// Every name resolves to 127.0.0.1; the internal CA is not trusted, so
// certificate errors are ignored.
func browse(t *testing.T, chromium, target, size, shot string) page {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--ignore-certificate-errors",
		"--host-resolver-rules=MAP * 127.0.0.1", "--hide-scrollbars",
		"--enable-logging=stderr", "--v=0", "--window-size=" + size,
		"--screenshot=" + shot, "--dump-dom", target,
	}
	cmd := exec.CommandContext(ctx, chromium, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("chromium did not finish within 60s\n%s", errb.String())
	}
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", target, err, errb.String())
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() == 0 {
		t.Fatalf("chromium wrote no screenshot to %s: %v\n%s", shot, err, errb.String())
	}
	return page{DOM: out.String(), Console: errb.String()}
}

// cspViolations returns the log lines of Content-Security-Policy reports.
func cspViolations(log string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "Content Security Policy") || strings.Contains(line, "Content-Security-Policy") {
			out = append(out, line)
		}
	}
	return out
}

// TestAdminStatusPageInChromium renders the status page of a running edge
// in headless Chromium: the page must show every section, trigger no CSP
// violation and fit a phone. Screenshots go to the artifact dir; with
// -update-docs the desktop one also replaces docs/status-page.png.
func TestAdminStatusPageInChromium(t *testing.T) {
	t.Parallel()
	chromium := chromiumPath(t)

	t.Run("detector-sees-violations", func(t *testing.T) {
		// A page whose inline style the CSP forbids: if the log does not
		// show it, the check below proves nothing.
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", "default-src 'none'")
			fmt.Fprint(w, `<!doctype html><html><head><style>p{color:red}</style></head><body><p id="x">x</p></body></html>`)
		}))
		defer srv.Close()
		p := browse(t, chromium, srv.URL, "400,300", filepath.Join(t.TempDir(), "v.png"))
		if len(cspViolations(p.Console)) == 0 || !strings.Contains(p.DOM, `id="x"`) {
			t.Fatalf("Chromium's log shows no CSP violation for a forbidden inline style:\n%s", p.Console)
		}
	})

	live, dead := apiUpstream(t), deadAddr(t)
	opts := Options{
		Routes:    []Route{{Path: "/api/", Upstreams: []string{live, dead}, Timeouts: `connect = "1s"`}},
		ExtraTOML: "[[check]]\nname = \"api-port\"\ntcp = \"" + live + "\"\ninterval = \"2s\"\ntimeout = \"1s\"\n",
	}
	e := startEdge(t, opts)
	c := e.Client()
	for _, path := range []string{"/", "/courses/1", "/api/a", "/api/b", "/api/c", "/api/boom", "/api/d"} {
		get(t, c, e.HTTPS(path))
	}
	time.Sleep(1500 * time.Millisecond) // the TCP check reports

	target := (&url.URL{Scheme: "https", User: url.UserPassword(adminUser, adminPassword),
		Host: domain + ":" + e.HTTPSPort, Path: "/admin/status"}).String()
	dir := artifactDir(t)
	shot := filepath.Join(dir, "status-page.png")
	p := browse(t, chromium, target, "1000,1700", shot)
	t.Logf("screenshot: %s", shot)

	if v := cspViolations(p.Console); len(v) > 0 {
		t.Errorf("the status page violates its Content-Security-Policy:\n%s", strings.Join(v, "\n"))
	}
	for _, want := range []string{
		`id="overall"`, "edge " + Version, `id="traffic"`, "requests/s", "5xx rate",
		`id="certificates"`, domain, wwwDomain, "edge local CA",
		`id="routes"`, "/api/", live, dead, "down", `id="backup"`, "not configured",
		`id="checks"`, "api-port", "no history yet", `id="alerts"`, `id="warnings"`,
		`<meta name="viewport"`, `http-equiv="refresh"`,
	} {
		if !strings.Contains(p.DOM, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}
	if strings.Contains(p.DOM, "401 unauthorized") {
		t.Fatalf("Chromium got the login challenge, not the page:\n%.500s", p.DOM)
	}

	phone := filepath.Join(dir, "status-page-phone.png")
	pp := browse(t, chromium, target, "390,1400", phone)
	t.Logf("phone screenshot: %s", phone)
	if v := cspViolations(pp.Console); len(v) > 0 {
		t.Errorf("the status page on a phone violates its CSP:\n%s", strings.Join(v, "\n"))
	}

	if *updateDocs {
		data, err := os.ReadFile(shot)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "docs", "status-page.png"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
