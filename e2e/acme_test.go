package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitcourse/edge/internal/testutil"
)

// pebble is a real Pebble ACME server on loopback, started and stopped by
// PID by the test.
type pebble struct {
	t         *testing.T
	bin       string
	dir       string
	port      string // ACME directory port
	mgmtPort  string
	minicaPEM string
	cmd       *exec.Cmd
	done      chan struct{}
	out       *syncBuffer
}

// pebblePaths finds the pebble binary and its test certificates.
func pebblePaths(t *testing.T) (bin, certs string) {
	t.Helper()
	bin, err := exec.LookPath("pebble")
	if err != nil {
		gobin := filepath.Join(os.Getenv("HOME"), "go", "bin", "pebble")
		if out, e := exec.Command("go", "env", "GOPATH").Output(); e == nil {
			gobin = filepath.Join(strings.TrimSpace(string(out)), "bin", "pebble")
		}
		if _, e := os.Stat(gobin); e == nil {
			bin, err = gobin, nil
		}
	}
	testutil.RequireOrSkip(t, "pebble (go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.1)", err)
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	testutil.RequireOrSkip(t, "the Go module cache", err)
	certs = filepath.Join(strings.TrimSpace(string(out)), "github.com", "letsencrypt", "pebble", "v2@v2.10.1", "test", "certs")
	_, err = os.Stat(filepath.Join(certs, "pebble.minica.pem"))
	testutil.RequireOrSkip(t, "pebble's test certificates in the module cache", err)
	return bin, certs
}

// newPebble writes a config that validates challenges on edge's ports and
// issues certificates valid for validity seconds. It does not start pebble.
func newPebble(t *testing.T, httpPort, tlsPort string, validity int) *pebble {
	t.Helper()
	bin, certs := pebblePaths(t)
	p := &pebble{t: t, bin: bin, dir: shortTempDir(t), port: freePort(t), mgmtPort: freePort(t),
		minicaPEM: filepath.Join(certs, "pebble.minica.pem")}
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":           "127.0.0.1:" + p.port,
		"managementListenAddress": "127.0.0.1:" + p.mgmtPort,
		"certificate":             filepath.Join(certs, "localhost", "cert.pem"),
		"privateKey":              filepath.Join(certs, "localhost", "key.pem"),
		"httpPort":                atoi(httpPort),
		"tlsPort":                 atoi(tlsPort),
		"ocspResponderURL":        "",
		"retryAfter":              map[string]int{"authz": 1, "order": 1},
		"profiles":                map[string]any{"default": map[string]any{"description": "test", "validityPeriod": validity}},
	}}
	data, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(p.dir, "pebble.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

// DirURL is the ACME directory URL.
func (p *pebble) DirURL() string { return "https://localhost:" + p.port + "/dir" }

// start runs pebble and waits until its directory answers.
func (p *pebble) start() {
	p.t.Helper()
	if p.out == nil {
		p.out = &syncBuffer{}
	}
	p.cmd = exec.Command(p.bin, "-config", filepath.Join(p.dir, "pebble.json"))
	p.cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.done = make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	cmd := p.cmd
	p.t.Cleanup(func() { p.stopCmd(cmd) })
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: rootPool(p.t, p.minicaPEM)}}}
	for range readyTries {
		resp, err := c.Get(p.DirURL())
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(readyInterval)
	}
	p.t.Fatalf("pebble not ready\n%s", p.out.String())
}

// stop ends pebble by PID.
func (p *pebble) stop() { p.stopCmd(p.cmd) }

func (p *pebble) stopCmd(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil || cmd.ProcessState != nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-p.done
	}
}

// issuingRoots fetches the root that signs this pebble run's certificates.
func (p *pebble) issuingRoots() *x509.CertPool {
	p.t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: rootPool(p.t, p.minicaPEM)}}}
	resp, err := c.Get("https://localhost:" + p.mgmtPort + "/roots/0")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	pem, _ := io.ReadAll(resp.Body)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		p.t.Fatalf("no root from pebble: %q", pem)
	}
	return pool
}

// orders counts the orders pebble created so far.
func (p *pebble) orders() int { return strings.Count(p.out.String(), "Added order") }

// acmeEdge prepares an edge for "localhost" whose certificates come from p.
func acmeEdge(t *testing.T, challenges, extraTLS string) (*Edge, *pebble, func(validity int) *pebble) {
	t.Helper()
	e := newACMEEdge(t)
	var p *pebble
	mk := func(validity int) *pebble {
		p = newPebble(t, e.HTTPPort, e.HTTPSPort, validity)
		e.WriteConfigText(acmeConfig(e, p, challenges, extraTLS))
		return p
	}
	mk(90 * 24 * 3600) // like Let's Encrypt: no ARI renewal during the test
	return e, p, mk
}

// newACMEEdge prepares (does not configure) an edge in a short temp dir
// with a site and free HTTP and HTTPS ports.
func newACMEEdge(t *testing.T) *Edge {
	t.Helper()
	dir := shortTempDir(t)
	e := &Edge{t: t, Bin: edgeBinary(t), Dir: dir, Site: filepath.Join(dir, "site"), State: filepath.Join(dir, "state"),
		Socket: filepath.Join(dir, "admin.sock"), Config: filepath.Join(dir, "edge.toml"),
		HTTPPort: freePort(t), HTTPSPort: freePort(t)}
	writeSite(t, dir)
	return e
}

// acmeConfig is the config of e serving "localhost" with certificates
// from p by challenges (a TOML array), extraTLS lines in [tls], and the
// admin user.
func acmeConfig(e *Edge, p *pebble, challenges, extraTLS string) string {
	return fmt.Sprintf(`[server]
http = "127.0.0.1:%s"
https = "127.0.0.1:%s"
state_dir = %q
admin_socket = %q
[site]
domains = ["localhost"]
root = %q
[tls]
email = "ops@example.com"
acme_ca = %q
acme_ca_root = %q
challenges = %s
ready_timeout = "1s"
%s
[admin]
users = { admin = "${EDGE_ADMIN_BCRYPT}" }
`, e.HTTPPort, e.HTTPSPort, e.State, e.Socket, e.Site, p.DirURL(), p.minicaPEM, challenges, extraTLS)
}

// httpsGet fetches https://localhost:PORT/ trusting roots.
func httpsGet(e *Edge, roots *x509.CertPool) (*http.Response, error) {
	c := newClient(roots, true)
	c.Timeout = 3 * time.Second
	resp, err := c.Get("https://localhost:" + e.HTTPSPort + "/")
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

// waitHTTPS polls until HTTPS answers 200 with a certificate from roots.
func waitHTTPS(t *testing.T, e *Edge, roots *x509.CertPool, limit time.Duration) *x509.Certificate {
	t.Helper()
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		resp, err := httpsGet(e, roots)
		if err == nil && resp.StatusCode == http.StatusOK && resp.TLS != nil {
			return resp.TLS.PeerCertificates[0]
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no valid HTTPS within %s: %v\n--- edge ---\n%s", limit, last, e.Output())
	return nil
}

func TestACMEObtainHTTP01(t *testing.T) {
	e, p, _ := acmeEdge(t, `["http-01"]`, "")
	p.start()
	start := time.Now()
	if err := e.launch([]string{"run", "-config", e.Config}); err != nil {
		t.Fatalf("start edge: %v\n%s", err, e.Output())
	}
	cert := waitHTTPS(t, e, p.issuingRoots(), 30*time.Second)
	t.Logf("empty state dir to first valid HTTPS response (http-01): %s", time.Since(start).Round(time.Millisecond))
	if cert.Subject.CommonName != "localhost" && !contains(cert.DNSNames, "localhost") {
		t.Errorf("certificate names %v, want localhost", cert.DNSNames)
	}
	if !strings.Contains(e.Output(), "/.well-known/acme-challenge/") {
		t.Errorf("the access log shows no HTTP-01 challenge request")
	}
	if !strings.Contains(e.Output(), `"msg":"certificate obtained"`) {
		t.Errorf("no log line for the obtained certificate:\n%s", e.Output())
	}
	keyDir := filepath.Join(e.State, "certs")
	checkStorageModes(t, keyDir)

	// A handshake for a name that is not configured fails, and pebble sees
	// no new order for it.
	before := p.orders()
	conn, err := tls.Dial("tcp", "127.0.0.1:"+e.HTTPSPort, &tls.Config{ServerName: "evil.test", InsecureSkipVerify: true}) //nolint:gosec
	if err == nil {
		conn.Close()
		t.Error("TLS handshake for an unconfigured SNI succeeded")
	}
	if got := p.orders(); got != before {
		t.Errorf("pebble orders %d -> %d after an unknown SNI", before, got)
	}
	// Port 80 redirects a configured host and gives 404 to an unknown one.
	resp, _ := do(t, newClient(nil, false), "GET", "http://localhost:"+e.HTTPPort+"/p?q=1", nil)
	if want := "https://localhost:" + e.HTTPSPort + "/p?q=1"; resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Errorf("port 80: %d %q, want 308 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// checkStorageModes: directories 0700, private keys 0600.
func checkStorageModes(t *testing.T, root string) {
	t.Helper()
	keys := 0
	_ = filepath.Walk(root, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		switch {
		case fi.IsDir() && fi.Mode().Perm()&0o077 != 0:
			t.Errorf("storage dir %s mode %04o, want 0700", path, fi.Mode().Perm())
		case strings.HasSuffix(path, ".key"):
			keys++
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("key %s mode %04o, want 0600", path, fi.Mode().Perm())
			}
		}
		return nil
	})
	if keys == 0 {
		t.Errorf("no private key stored under %s", root)
	}
}

func TestACMEObtainTLSALPN01(t *testing.T) {
	e, p, _ := acmeEdge(t, `["tls-alpn-01"]`, "")
	p.start()
	if err := e.launch([]string{"run", "-config", e.Config}); err != nil {
		t.Fatalf("start edge: %v\n%s", err, e.Output())
	}
	waitHTTPS(t, e, p.issuingRoots(), 30*time.Second)
	// Only tls-alpn-01 is enabled: port 80 must not have seen a challenge.
	if strings.Contains(e.Output(), "/.well-known/acme-challenge/") {
		t.Errorf("an HTTP-01 challenge was served although only tls-alpn-01 is enabled")
	}
}

func TestACMERenewal(t *testing.T) {
	e, _, mk := acmeEdge(t, `["http-01"]`, "renew_interval = \"1s\"\nrenewal_window_ratio = 0.5")
	p := mk(20) // 20-second certificates: renewed when 10 s are left
	p.start()
	if err := e.launch([]string{"run", "-config", e.Config}); err != nil {
		t.Fatalf("start edge: %v\n%s", err, e.Output())
	}
	roots := p.issuingRoots()
	first := waitHTTPS(t, e, roots, 30*time.Second)
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := httpsGet(e, roots)
		if err == nil && resp.TLS != nil && resp.TLS.PeerCertificates[0].SerialNumber.Cmp(first.SerialNumber) != 0 {
			t.Logf("renewed: serial %x -> %x", first.SerialNumber, resp.TLS.PeerCertificates[0].SerialNumber)
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("certificate not renewed within 40 s (expires %s)\n%s", first.NotAfter, e.Output())
}

func TestACMEStoredCertificateWithoutCA(t *testing.T) {
	e, p, _ := acmeEdge(t, `["http-01"]`, "")
	p.start()
	if err := e.launch([]string{"run", "-config", e.Config}); err != nil {
		t.Fatalf("start edge: %v\n%s", err, e.Output())
	}
	roots := p.issuingRoots()
	first := waitHTTPS(t, e, roots, 30*time.Second)
	if code := e.Stop(); code != 0 {
		t.Fatalf("edge exit %d\n%s", code, e.Output())
	}
	p.stop() // the CA is down from here on
	orders := p.orders()
	if err := e.launch([]string{"run", "-config", e.Config}); err != nil {
		t.Fatalf("restart edge: %v\n%s", err, e.Output())
	}
	resp, err := httpsGet(e, roots)
	if err != nil || resp.TLS.PeerCertificates[0].SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Fatalf("after restart with the CA down: %v, want the stored certificate at once", err)
	}
	if p.orders() != orders {
		t.Error("edge contacted the CA although a valid certificate was stored")
	}
}

func TestACMECADownThenBack(t *testing.T) {
	e, p, _ := acmeEdge(t, `["http-01"]`, "")
	// pebble is not running: no certificate can be had.
	if err := e.launch([]string{"run", "-config", e.Config}); err != nil {
		t.Fatalf("start edge with the CA down: %v\n%s", err, e.Output())
	}
	resp, _ := do(t, newClient(nil, false), "GET", "http://localhost:"+e.HTTPPort+"/x", nil)
	if resp.StatusCode != http.StatusPermanentRedirect {
		t.Errorf("port 80 with the CA down: %d, want 308", resp.StatusCode)
	}
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+e.HTTPSPort, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tc := tls.Client(conn, &tls.Config{ServerName: "localhost", InsecureSkipVerify: true}) //nolint:gosec
	if err := tc.Handshake(); err == nil {
		t.Error("HTTPS handshake succeeded with no certificate")
	}
	tc.Close()
	if !e.WaitOutput("no certificate yet", 10*time.Second) {
		t.Errorf("no log line about the missing certificate:\n%s", e.Output())
	}
	p.start()
	waitHTTPS(t, e, p.issuingRoots(), 45*time.Second)
}
