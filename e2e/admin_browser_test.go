package e2e

import (
	"bytes"
	"context"
	"encoding/json"
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
	// The page is loaded once the TCP check has reported up. Its uptime
	// history appears at the first minute boundary after that, so the
	// check row shows "no history yet" or the 24 h strip depending on the
	// clock: the page must show what status.json said both before and
	// after it was rendered (a boundary crossed in between is retried).
	waitCheckUp(t, c, e, "api-port")

	target := (&url.URL{Scheme: "https", User: url.UserPassword(adminUser, adminPassword),
		Host: domain + ":" + e.HTTPSPort, Path: "/admin/status"}).String()
	dir := artifactDir(t)
	shot := filepath.Join(dir, "status-page.png")
	var p page
	var history bool
	for attempt := 1; ; attempt++ {
		before := checkStatus(t, c, e, "api-port").History != nil
		p = browse(t, chromium, target, "1000,1700", shot)
		history = checkStatus(t, c, e, "api-port").History != nil
		if before == history {
			break
		}
		if attempt == 3 {
			t.Fatalf("the check's history kept changing while the page loaded (%d attempts)", attempt)
		}
		t.Logf("a minute sample was taken while the page loaded; loading it again")
	}
	if err := os.WriteFile(filepath.Join(dir, "status-page.html"), []byte(p.DOM), 0o644); err != nil {
		t.Errorf("save the rendered DOM: %v", err)
	}
	t.Logf("screenshot: %s, DOM: status-page.html (history: %v)", shot, history)

	if v := cspViolations(p.Console); len(v) > 0 {
		t.Errorf("the status page violates its Content-Security-Policy:\n%s", strings.Join(v, "\n"))
	}
	for _, want := range []string{
		`id="overall"`, "edge " + Version, `id="traffic"`, "requests/s", "5xx rate",
		`id="certificates"`, domain, wwwDomain, "edge local CA",
		`id="routes"`, "/api/", live, dead, "down", `id="backup"`, "not configured",
		`id="checks"`, "api-port", `id="alerts"`, `id="warnings"`,
		`<meta name="viewport"`, `http-equiv="refresh"`,
	} {
		if !strings.Contains(p.DOM, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}
	// The check's row: the uptime strip once a minute was sampled, the
	// placeholder before.
	const noHistory, strip = "no history yet", `class="strip"`
	row := checkRow(p.DOM, "api-port")
	switch {
	case row == "":
		t.Errorf("the rendered page has no row for check api-port")
	case history && (!strings.Contains(row, strip) || strings.Contains(row, noHistory)):
		t.Errorf("status.json has the check's history, but its row lacks %q or shows %q:\n%.500s", strip, noHistory, row)
	case !history && (!strings.Contains(row, noHistory) || strings.Contains(row, strip)):
		t.Errorf("status.json has no history for the check, but its row lacks %q or shows %q:\n%.500s", noHistory, strip, row)
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

// checkState is one check as status.json reports it.
type checkState struct {
	Name    string          `json:"name"`
	State   string          `json:"state"`
	History json.RawMessage `json:"history"`
}

// checkStatus returns check name from e's status.json (zero when absent).
func checkStatus(t *testing.T, c *http.Client, e *Edge, name string) checkState {
	t.Helper()
	resp, body := get(t, c, e.HTTPS("/admin/status.json"), basicAuth(adminUser, adminPassword))
	wantStatus(t, resp, body, http.StatusOK)
	var st struct {
		Checks []checkState `json:"checks"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("status.json %.300q: %v", body, err)
	}
	for _, ch := range st.Checks {
		if ch.Name == name {
			if string(ch.History) == "null" {
				ch.History = nil
			}
			return ch
		}
	}
	return checkState{}
}

// waitCheckUp polls status.json (every 100 ms, at most 300 times, 30 s)
// until check name is up.
func waitCheckUp(t *testing.T, c *http.Client, e *Edge, name string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last checkState
	for range 300 {
		if last = checkStatus(t, c, e, name); last.State == "up" {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("check %q is not up after 30 s: status.json says %+v", name, last)
}

// checkRow returns the table row of check name in the checks section of
// dom, or "" when there is none.
func checkRow(dom, name string) string {
	_, section, _ := strings.Cut(dom, `id="checks"`)
	section, _, _ = strings.Cut(section, "</section>")
	for _, row := range strings.Split(section, "<tr>") {
		if strings.Contains(row, "</span>"+name+" ") {
			row, _, _ = strings.Cut(row, "</tr>")
			return row
		}
	}
	return ""
}
