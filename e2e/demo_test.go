package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestDemo(t *testing.T) {
	t.Parallel()
	bin := edgeBinary(t)
	dir := shortTempDir(t)
	home, state, tmp := filepath.Join(dir, "home"), filepath.Join(dir, "xdg-state"), filepath.Join(dir, "tmp")
	for _, d := range []string{home, state, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e := &Edge{t: t, Bin: bin, Dir: dir}
	e.Opts.Env = []string{"HOME=" + home, "XDG_STATE_HOME=" + state, "TMPDIR=" + tmp}
	for attempt := 1; ; attempt++ {
		e.HTTPPort, e.HTTPSPort = freePort(t), freePort(t)
		err := e.launch([]string{"demo", "-http", "127.0.0.1:" + e.HTTPPort, "-https", "127.0.0.1:" + e.HTTPSPort, "-quiet"})
		if err == nil {
			break
		}
		if attempt < 3 && strings.Contains(e.Output(), "address already in use") {
			continue // another test took a port between freePort and bind
		}
		t.Fatalf("start edge demo: %v\n%s", err, e.Output())
	}
	if !e.WaitOutput("Stop with Ctrl-C", 5*time.Second) {
		t.Fatalf("no banner\n%s", e.Output())
	}
	banner := e.stdout.String()
	for _, want := range []string{"http://localhost:" + e.HTTPPort + "/", "https://localhost:" + e.HTTPSPort + "/"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner does not show %s:\n%s", want, banner)
		}
	}
	m := regexp.MustCompile(`password (\S+)`).FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("banner shows no admin password:\n%s", banner)
	}
	password := m[1]
	rootPath := filepath.Join(state, "edge", "ca", "root.pem")
	if !strings.Contains(banner, rootPath) {
		t.Errorf("banner does not show the CA root %s:\n%s", rootPath, banner)
	}

	c := newClient(rootPool(t, rootPath), true)
	t.Cleanup(c.CloseIdleConnections)
	httpBase := "http://localhost:" + e.HTTPPort

	resp, body := get(t, c, httpBase+"/")
	wantStatus(t, resp, body, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(string(body), "<html") {
		t.Errorf("GET /: Content-Type %q, body %.100q; want the sample SPA", ct, body)
	}

	resp, body = get(t, c, httpBase+"/api/health")
	wantStatus(t, resp, body, http.StatusOK)
	var health map[string]any
	if err := json.Unmarshal(body, &health); err != nil || health["status"] != "ok" {
		t.Errorf("GET /api/health: %q (%v), want JSON with \"status\":\"ok\"", body, err)
	}

	resp, body = get(t, c, httpBase+"/admin/status.json")
	wantStatus(t, resp, body, http.StatusUnauthorized)
	resp, body = get(t, c, httpBase+"/admin/status.json", basicAuth("admin", password))
	wantStatus(t, resp, body, http.StatusOK)
	if !json.Valid(body) {
		t.Errorf("admin status.json is not JSON: %q", body)
	}

	resp, body = get(t, c, "https://localhost:"+e.HTTPSPort+"/api/health")
	wantStatus(t, resp, body, http.StatusOK)
	if resp.TLS == nil || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("demo over HTTPS: TLS %v, HSTS %q", resp.TLS != nil, resp.Header.Get("Strict-Transport-Security"))
	}
	if strings.Contains(e.stdout.String(), `"path":"/api/health"`) {
		t.Errorf("-quiet: requests are still logged:\n%s", e.stdout.String())
	}

	if code := e.Stop(); code != 0 {
		t.Fatalf("edge demo: exit code %d after SIGTERM, want 0\n%s", code, e.Output())
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "edge-demo-*"))
	if len(left) > 0 {
		t.Errorf("edge demo left %v behind", left)
	}
}
