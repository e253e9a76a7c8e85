package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestShutdownDrainsInFlight(t *testing.T) {
	t.Parallel()
	started := make(chan string, 2)
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- r.URL.Path
		select {
		case <-release:
		case <-time.After(8 * time.Second):
		}
		_, _ = io.WriteString(w, "drained "+r.URL.Path)
	}))
	t.Cleanup(up.Close)
	e := startEdge(t, Options{Routes: []Route{{Path: "/api/", Upstreams: []string{upstreamAddr(up)}}}})

	type result struct {
		status int
		body   string
		err    error
	}
	results := make(chan result, 2)
	for _, c := range []struct {
		client *http.Client
		path   string
	}{{e.Client(), "/api/h2"}, {e.Client1(), "/api/h1"}} {
		go func() {
			resp, err := c.client.Get(e.HTTPS(c.path))
			if err != nil {
				results <- result{err: err}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			results <- result{resp.StatusCode, string(b), err}
		}()
	}
	for range 2 {
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("the slow requests did not reach the upstream")
		}
	}

	e.stopped = true // this test checks the exit itself
	e.Signal(syscall.SIGTERM)
	// While draining, edge takes no new connections.
	refused := eventually(3*time.Second, func() bool {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+e.HTTPSPort, 200*time.Millisecond)
		if err != nil {
			return true
		}
		conn.Close()
		return false
	})
	if !refused {
		t.Errorf("edge still accepts connections 3s after SIGTERM")
	}
	if e.Exited() {
		t.Fatalf("edge exited with requests in flight\n%s", e.Output())
	}
	close(release)
	for range 2 {
		select {
		case r := <-results:
			if r.err != nil || r.status != http.StatusOK || !strings.HasPrefix(r.body, "drained ") {
				t.Errorf("in-flight request during SIGTERM: status %d, body %q, err %v; want 200 drained", r.status, r.body, r.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("in-flight request did not complete")
		}
	}
	code, ok := e.WaitExit(stopTimeout)
	if !ok {
		e.kill()
		t.Fatalf("edge still running %s after SIGTERM and drained requests\n%s", stopTimeout, e.Output())
	}
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0\n%s", code, e.Output())
	}
}

func cspOf(t *testing.T, e *Edge) string {
	t.Helper()
	resp, body := get(t, e.Client(), e.HTTPS("/"))
	wantStatus(t, resp, body, http.StatusOK)
	return resp.Header.Get("Content-Security-Policy")
}

func TestReloadSIGHUP(t *testing.T) {
	t.Parallel()
	csp1, csp2, csp3 := "default-src 'self'", "default-src 'none'; frame-ancestors 'none'", "default-src 'self'; img-src *"
	e := startEdge(t, Options{CSP: ptr(csp1)})
	if got := cspOf(t, e); got != csp1 {
		t.Fatalf("CSP %q, want %q", got, csp1)
	}

	e.Opts.CSP = ptr(csp2)
	e.WriteConfig()
	e.Signal(syscall.SIGHUP)
	if !eventually(5*time.Second, func() bool { return cspOf(t, e) == csp2 }) {
		t.Fatalf("after SIGHUP, CSP still %q, want %q\n%s", cspOf(t, e), csp2, e.Output())
	}
	if !e.WaitOutput(`"reloaded"`, 2*time.Second) {
		t.Errorf("no \"reloaded\" in the log")
	}

	// A broken config is rejected; the running one keeps serving.
	for i, broken := range []string{
		e.ConfigText() + "\n[bogus_table]\nkey = 1\n",
		"this is = = not TOML\n",
	} {
		e.WriteConfigText(broken)
		e.Signal(syscall.SIGHUP)
		if !eventually(5*time.Second, func() bool { return strings.Count(e.Output(), "reload rejected") > i }) {
			t.Fatalf("broken config #%d: no \"reload rejected\" in the log\n%s", i+1, e.Output())
		}
		if got := cspOf(t, e); got != csp2 {
			t.Errorf("after a rejected reload, CSP %q, want the previous %q", got, csp2)
		}
	}
	if !strings.Contains(e.Output(), "bogus_table") {
		t.Errorf("the rejection log does not name the bad key bogus_table\n%s", e.Output())
	}

	e.Opts.CSP = ptr(csp3)
	e.WriteConfig()
	e.Signal(syscall.SIGHUP)
	if !eventually(5*time.Second, func() bool { return cspOf(t, e) == csp3 }) {
		t.Fatalf("after fixing the config and SIGHUP, CSP %q, want %q", cspOf(t, e), csp3)
	}
	if e.Exited() {
		t.Fatal("edge exited during reloads")
	}
}

func TestReloadCommand(t *testing.T) {
	t.Parallel()
	up1, up2 := newUpstream(t), newUpstream(t)
	e := startEdge(t, Options{Routes: []Route{{Path: "/api/", Upstreams: []string{upstreamAddr(up1.Server)}}}})
	c := e.Client()

	// Point /api/ at another upstream and change the CSP.
	const csp = "default-src 'none'"
	e.Opts.CSP = ptr(csp)
	e.Opts.Routes[0].Upstreams = []string{upstreamAddr(up2.Server)}
	e.WriteConfig()
	stdout, stderr, code := runEdge(t, adminEnv(t), "reload", "-config", e.Config)
	if code != 0 || !strings.Contains(stdout, "reloaded") {
		t.Fatalf("edge reload: exit %d, stdout %q, stderr %q; want 0 and \"reloaded\"", code, stdout, stderr)
	}
	if got := cspOf(t, e); got != csp {
		t.Errorf("after edge reload, CSP %q, want %q", got, csp)
	}
	get(t, c, e.HTTPS("/api/echo"), header("X-Test-Id", "after-reload"))
	if _, ok := up2.seen("after-reload"); !ok {
		t.Errorf("after edge reload, /api/ did not reach the new upstream")
	}

	// A config with an unknown key: exit 1 with the problem on stderr.
	e.WriteConfigText(e.ConfigText() + "\n[bogus_table]\nkey = 1\n")
	stdout, stderr, code = runEdge(t, adminEnv(t), "reload", "-config", e.Config)
	if code != 1 || !strings.Contains(stderr, e.Config) || !strings.Contains(stderr, "bogus_table") {
		t.Errorf("edge reload of a broken config: exit %d, stderr %q; want 1 and the problem with file and key", code, stderr)
	}
	if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
		t.Errorf("edge reload failure: %d lines on stderr, want one: %q", n+1, stderr)
	}
	_ = stdout

	// A config the running instance refuses (listeners cannot change
	// without a restart): the instance answers with the error.
	e.Opts.NoHTTPS = true
	e.WriteConfig()
	e.Opts.NoHTTPS = false
	_, stderr, code = runEdge(t, adminEnv(t), "reload", "-config", e.Config)
	if code != 1 || !strings.Contains(stderr, "restart") {
		t.Errorf("edge reload turning HTTPS off: exit %d, stderr %q; want 1 and the reason", code, stderr)
	}
	if got := cspOf(t, e); got != csp {
		t.Errorf("after rejected reloads, CSP %q, want the previous %q", got, csp)
	}
	stdout, _, _ = runEdge(t, adminEnv(t), "status", "-json", "-config", e.Config)
	var st struct {
		LastError string `json:"last_reload_error"`
		Reloads   int    `json:"reloads"`
	}
	if err := json.Unmarshal([]byte(stdout), &st); err != nil || !strings.Contains(st.LastError, "restart") || st.Reloads != 1 {
		t.Errorf("status after a refused reload: %q (%v); want last_reload_error saying a restart is needed, and reloads 1", stdout, err)
	}

	// A new domain: served (certificate and Host check) right after the reload.
	const added = "learn.edge.test"
	e.Opts.Domains = []string{domain, wwwDomain, added}
	e.WriteConfig()
	if _, stderr, code := runEdge(t, adminEnv(t), "reload", "-config", e.Config); code != 0 {
		t.Fatalf("edge reload of the fixed config: exit %d, stderr %q", code, stderr)
	}
	resp, body := get(t, c, "https://"+added+":"+e.HTTPSPort+"/courses/1")
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = get(t, c, "http://"+added+":"+e.HTTPPort+"/x")
	wantStatus(t, resp, body, http.StatusPermanentRedirect)
}

func TestStatusCommand(t *testing.T) {
	t.Parallel()
	e := startEdge(t, Options{})
	stdout, stderr, code := runEdge(t, adminEnv(t), "status", "-json", "-config", e.Config)
	if code != 0 {
		t.Fatalf("edge status -json: exit %d, stderr %q", code, stderr)
	}
	var st struct {
		Version   string            `json:"version"`
		Config    string            `json:"config"`
		Domains   []string          `json:"domains"`
		Listeners map[string]string `json:"listeners"`
	}
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("edge status -json printed %q: %v", stdout, err)
	}
	if !slices.Equal(st.Domains, []string{domain, wwwDomain}) {
		t.Errorf("status domains %q, want [%s %s]", st.Domains, domain, wwwDomain)
	}
	if st.Version != Version || st.Config != e.Config {
		t.Errorf("status version %q config %q, want %q and %q", st.Version, st.Config, Version, e.Config)
	}
	if st.Listeners["http"] != "127.0.0.1:"+e.HTTPPort || st.Listeners["https"] != "127.0.0.1:"+e.HTTPSPort {
		t.Errorf("status listeners %v, want http 127.0.0.1:%s and https 127.0.0.1:%s", st.Listeners, e.HTTPPort, e.HTTPSPort)
	}

	stdout, stderr, code = runEdge(t, adminEnv(t), "status", "-config", e.Config)
	if code != 0 || !strings.Contains(stdout, "domains") || !strings.Contains(stdout, domain) {
		t.Errorf("edge status: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	stdout, _, code = runEdge(t, append(adminEnv(t), "EDGE_CONFIG="+e.Config), "status", "-json")
	if code != 0 || !strings.Contains(stdout, domain) {
		t.Errorf("EDGE_CONFIG=FILE edge status -json: exit %d, stdout %q", code, stdout)
	}

	if code := e.Stop(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0\n%s", code, e.Output())
	}
	if _, err := os.Stat(e.Socket); err == nil {
		t.Errorf("admin socket %s left behind after a clean stop", e.Socket)
	}
	_, stderr, code = runEdge(t, adminEnv(t), "status", "-config", e.Config)
	if code != 1 || stderr == "" {
		t.Errorf("edge status with edge stopped: exit %d, stderr %q; want 1 and a reason", code, stderr)
	}
}

// adminEnv is the environment the config's ${EDGE_ADMIN_BCRYPT} needs.
func adminEnv(t testing.TB) []string { return []string{"EDGE_ADMIN_BCRYPT=" + bcryptHash(t)} }

// TestControlWithoutSecrets runs "edge status" and "edge reload" as an
// operator would from a shell: the secrets live in the unit's
// EnvironmentFile=, not in the shell's environment. Finding the admin
// socket must not need them.
func TestControlWithoutSecrets(t *testing.T) {
	t.Parallel()
	e := startEdge(t, Options{})
	var env []string // runEdge drops EDGE_ADMIN_BCRYPT from the environment
	stdout, stderr, code := runEdge(t, env, "status", "-json", "-config", e.Config)
	if code != 0 || !strings.Contains(stdout, domain) {
		t.Errorf("edge status -json without the admin hash in the environment: exit %d, stderr %q; want 0 and the status", code, stderr)
	}
	stdout, stderr, code = runEdge(t, env, "reload", "-config", e.Config)
	if code != 0 || !strings.Contains(stdout, "reloaded") {
		t.Errorf("edge reload without the admin hash in the environment: exit %d, stderr %q; want 0 (the running instance has it)", code, stderr)
	}
}
