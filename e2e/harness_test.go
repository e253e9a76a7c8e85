package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gitcourse/edge/internal/testutil"
	"golang.org/x/crypto/bcrypt"
)

// Version is stamped into the test binary; no response may reveal it.
const Version = "v9.8.7-e2e"

// The admin user the configs reference through ${EDGE_ADMIN_BCRYPT}.
const (
	adminUser     = "admin"
	adminPassword = "e2e-correct-horse"
)

// Domains every test config serves; the clients resolve every name to
// 127.0.0.1, so no traffic leaves the machine.
const (
	domain    = "edge.test"
	wwwDomain = "www.edge.test"
)

// Readiness polling: bounded, then fail with the process output.
const (
	readyTries    = 600 // 30 s: a race-built edge among parallel tests on 2 cores starts slowly
	readyInterval = 50 * time.Millisecond
	stopTimeout   = 10 * time.Second
)

var (
	buildOnce sync.Once
	buildDir  string
	binPath   string
	buildErr  error

	hashOnce  sync.Once
	adminHash string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// edgeBinary builds ./cmd/edge once per test binary and returns its path.
func edgeBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping end-to-end test in -short mode")
	}
	_, err := exec.LookPath("go")
	testutil.RequireOrSkip(t, "the go tool (to build ./cmd/edge)", err)
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "edge-e2e-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "edge")
		args := []string{"build", "-o", binPath, "-ldflags", "-X github.com/gitcourse/edge/cli.Version=" + Version}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "github.com/gitcourse/edge/cmd/edge")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func bcryptHash(t testing.TB) string {
	t.Helper()
	hashOnce.Do(func() {
		h, err := bcrypt.GenerateFromPassword([]byte(adminPassword), bcrypt.MinCost)
		if err != nil {
			panic(err)
		}
		adminHash = string(h)
	})
	return adminHash
}

// shortTempDir is a temp dir with a short path (unix socket paths are
// limited to 108 bytes), removed at the end of the test.
func shortTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "edge-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testutil.RequireOrSkip(t, "a loopback TCP listener", err)
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// Route is one [[route]] of a test config.
type Route struct {
	Path      string
	Upstreams []string
	Timeouts  string // inline table body, such as `connect = "1s"`
	MaxBody   string
	// RetryWindow is retry_window; "" leaves edge's default (5s).
	RetryWindow string
}

// Options shape the config a test starts edge with.
type Options struct {
	NoHTTPS         bool     // server.https = "": the site is served on the HTTP listener
	Domains         []string // default: edge.test, www.edge.test
	Canonical       string
	CSP             *string // nil: edge's default
	AdminAllow      []string
	AccessLog       string // default "stdout"
	ShutdownTimeout string
	Routes          []Route
	Env             []string // extra environment for the process
	AdminExtra      string   // lines added to [admin], such as `token = "${EDGE_ADMIN_TOKEN}"`
	ExtraTOML       string   // tables appended to the config, such as a [[check]]
}

// Edge is one running edge process.
type Edge struct {
	t         testing.TB
	Bin       string
	Dir       string
	Site      string
	State     string
	Socket    string
	Config    string
	HTTPPort  string
	HTTPSPort string
	Opts      Options

	cmd        *exec.Cmd
	stdout     *syncBuffer
	stderr     *syncBuffer
	all        *syncBuffer
	done       chan struct{}
	stopped    bool // the test stopped it and checked the exit itself
	cleanupSet bool
	clientsMu  sync.Mutex
	clients    map[string]*http.Client
}

// startEdge writes a site and a config and starts "edge run" on free
// loopback ports; it returns once /healthz answers. Cleanup stops it with
// SIGTERM and expects exit code 0.
func startEdge(t testing.TB, opts Options) *Edge {
	t.Helper()
	e := newEdgeWithSite(t, opts)
	if err := launchWithRetry(e, e.WriteConfig); err != nil {
		t.Fatalf("start edge: %v\n--- edge output ---\n%s", err, e.Output())
	}
	return e
}

// newEdgeWithSite lays out a temporary directory with a site for an edge
// started with opts (not started yet).
func newEdgeWithSite(t testing.TB, opts Options) *Edge {
	t.Helper()
	bin := edgeBinary(t)
	dir := shortTempDir(t)
	e := &Edge{
		t: t, Bin: bin, Dir: dir, Opts: opts,
		Site:   filepath.Join(dir, "site"),
		State:  filepath.Join(dir, "state"),
		Socket: filepath.Join(dir, "admin.sock"),
		Config: filepath.Join(dir, "edge.toml"),
	}
	writeSite(t, dir)
	return e
}

// launchWithRetry picks free loopback ports, calls write to write the
// config for them and starts "edge run"; it returns once /healthz answers.
// When another test took a port between freePort and bind, it tries again
// on other ports (three attempts in all).
func launchWithRetry(e *Edge, write func()) error {
	e.t.Helper()
	for attempt := 1; ; attempt++ {
		e.HTTPPort = freePort(e.t)
		if !e.Opts.NoHTTPS {
			e.HTTPSPort = freePort(e.t)
		}
		write()
		err := e.launch([]string{"run", "-config", e.Config})
		if err == nil {
			return nil
		}
		if attempt < 3 && strings.Contains(e.Output(), "address already in use") {
			e.t.Logf("edge could not bind (attempt %d), retrying on other ports", attempt)
			continue
		}
		return err
	}
}

// env is the environment of an edge process: this one's, without
// EDGE_CONFIG, with the admin hash and a private state home.
func (e *Edge) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "EDGE_CONFIG=") && !strings.HasPrefix(kv, "EDGE_ADMIN_BCRYPT=") {
			env = append(env, kv)
		}
	}
	env = append(env, "EDGE_ADMIN_BCRYPT="+bcryptHash(e.t), "XDG_STATE_HOME="+filepath.Join(e.Dir, "xdg"), goraceEnv())
	return append(env, e.Opts.Env...)
}

// goraceEnv drops the race detector's 1 s sleep at exit, which would make
// each run of a -race edge binary a second slower.
func goraceEnv() string {
	return strings.TrimSpace("GORACE=" + os.Getenv("GORACE") + " atexit_sleep_ms=0")
}

// launch starts the process and waits for /healthz. On failure the process
// is killed and its output kept.
func (e *Edge) launch(args []string) error {
	e.stdout, e.stderr, e.all = &syncBuffer{}, &syncBuffer{}, &syncBuffer{}
	e.cmd = exec.Command(e.Bin, args...)
	e.cmd.Env = e.env()
	e.cmd.Dir = e.Dir
	e.cmd.Stdout = io.MultiWriter(e.stdout, e.all)
	e.cmd.Stderr = io.MultiWriter(e.stderr, e.all)
	e.cmd.WaitDelay = 2 * time.Second
	if err := e.cmd.Start(); err != nil {
		return err
	}
	e.done = make(chan struct{})
	go func() {
		_ = e.cmd.Wait()
		close(e.done)
	}()
	if err := e.waitReady(); err != nil {
		e.kill()
		return err
	}
	e.stopped = false
	if !e.cleanupSet { // a relaunched edge is checked once, at the end
		e.cleanupSet = true
		e.t.Cleanup(e.mustCleanShutdown)
	}
	return nil
}

func (e *Edge) waitReady() error {
	c := &http.Client{Timeout: 500 * time.Millisecond}
	url := "http://127.0.0.1:" + e.HTTPPort + "/healthz"
	var last error
	for range readyTries {
		select {
		case <-e.done:
			return fmt.Errorf("edge exited before it was ready: %s", e.cmd.ProcessState)
		default:
		}
		resp, err := c.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET /healthz: %s", resp.Status)
		}
		last = err
		time.Sleep(readyInterval)
	}
	return fmt.Errorf("edge not ready after %d tries × %s: %v", readyTries, readyInterval, last)
}

// kill sends SIGKILL by PID and waits for the process.
func (e *Edge) kill() {
	_ = e.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-e.done:
	case <-time.After(stopTimeout):
	}
}

// Signal sends sig to the edge process by PID.
func (e *Edge) Signal(sig syscall.Signal) {
	e.t.Helper()
	if err := e.cmd.Process.Signal(sig); err != nil {
		e.t.Fatalf("signal %v to edge (pid %d): %v", sig, e.cmd.Process.Pid, err)
	}
}

// Exited reports whether the process has ended.
func (e *Edge) Exited() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// WaitExit waits up to d for the process to end and returns its exit code
// (-1 when killed by a signal), or false when it is still running.
func (e *Edge) WaitExit(d time.Duration) (int, bool) {
	select {
	case <-e.done:
		return e.cmd.ProcessState.ExitCode(), true
	case <-time.After(d):
		return 0, false
	}
}

// Stop sends SIGTERM, waits up to 10 s (then SIGKILL) and returns the exit
// code. The caller checks it; cleanup does not check again.
func (e *Edge) Stop() int {
	e.t.Helper()
	e.stopped = true
	return e.stop()
}

func (e *Edge) stop() int {
	if !e.Exited() {
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
	}
	if code, ok := e.WaitExit(stopTimeout); ok {
		return code
	}
	e.t.Errorf("edge (pid %d) still running %s after SIGTERM; sending SIGKILL", e.cmd.Process.Pid, stopTimeout)
	e.kill()
	return -1
}

// mustCleanShutdown is the cleanup of every started edge: it must still be
// running, exit 0 on SIGTERM, and report no data race.
func (e *Edge) mustCleanShutdown() {
	e.t.Helper()
	for _, c := range e.clients {
		c.CloseIdleConnections()
	}
	if e.stopped {
		e.checkNoRace()
		return
	}
	if e.Exited() {
		e.t.Errorf("edge exited before the end of the test (%s)\n--- edge output ---\n%s", e.cmd.ProcessState, e.Output())
		return
	}
	if code := e.stop(); code != 0 {
		e.t.Errorf("edge exit code after SIGTERM = %d, want 0\n--- edge output ---\n%s", code, e.Output())
	}
	e.checkNoRace()
}

func (e *Edge) checkNoRace() {
	if strings.Contains(e.Output(), "WARNING: DATA RACE") {
		e.t.Errorf("edge reported a data race\n--- edge output ---\n%s", e.Output())
	}
}

// Output is everything the process wrote to stdout and stderr so far.
func (e *Edge) Output() string { return e.all.String() }

// WaitOutput polls the output for substr (bounded by d).
func (e *Edge) WaitOutput(substr string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if strings.Contains(e.Output(), substr) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WriteConfig writes the config for e.Opts.
func (e *Edge) WriteConfig() {
	e.t.Helper()
	e.WriteConfigText(e.ConfigText())
}

// WriteConfigText replaces the config file with text.
func (e *Edge) WriteConfigText(text string) {
	e.t.Helper()
	if err := os.WriteFile(e.Config, []byte(text), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// ConfigText renders e.Opts as TOML.
func (e *Edge) ConfigText() string {
	o := e.Opts
	var b strings.Builder
	https := ""
	if !o.NoHTTPS {
		https = "127.0.0.1:" + e.HTTPSPort
	}
	accessLog := o.AccessLog
	if accessLog == "" {
		accessLog = "stdout"
	}
	fmt.Fprintf(&b, "[server]\nhttp = %q\nhttps = %q\nstate_dir = %q\nadmin_socket = %q\naccess_log = %q\n",
		"127.0.0.1:"+e.HTTPPort, https, e.State, e.Socket, accessLog)
	if o.ShutdownTimeout != "" {
		fmt.Fprintf(&b, "shutdown_timeout = %q\n", o.ShutdownTimeout)
	}
	domains := o.Domains
	if domains == nil {
		domains = []string{domain, wwwDomain}
	}
	fmt.Fprintf(&b, "\n[site]\ndomains = %s\nroot = %q\n", tomlList(domains), e.Site)
	if o.Canonical != "" {
		fmt.Fprintf(&b, "canonical = %q\n", o.Canonical)
	}
	for _, r := range o.Routes {
		fmt.Fprintf(&b, "\n[[route]]\npath = %q\nupstreams = %s\n", r.Path, tomlList(r.Upstreams))
		if r.Timeouts != "" {
			fmt.Fprintf(&b, "timeouts = { %s }\n", r.Timeouts)
		}
		if r.MaxBody != "" {
			fmt.Fprintf(&b, "max_body = %q\n", r.MaxBody)
		}
		if r.RetryWindow != "" {
			fmt.Fprintf(&b, "retry_window = %q\n", r.RetryWindow)
		}
	}
	b.WriteString("\n[tls]\ninternal = true\n")
	if o.CSP != nil {
		fmt.Fprintf(&b, "\n[headers]\ncsp = %q\n", *o.CSP)
	}
	b.WriteString("\n[admin]\nusers = { admin = \"${EDGE_ADMIN_BCRYPT}\" }\n")
	if o.AdminAllow != nil {
		fmt.Fprintf(&b, "allow = %s\n", tomlList(o.AdminAllow))
	}
	b.WriteString(o.AdminExtra)
	if o.ExtraTOML != "" {
		b.WriteString("\n" + o.ExtraTOML)
	}
	return b.String()
}

func tomlList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// RootCAs is the pool holding the internal CA root of e's state dir.
func (e *Edge) RootCAs() *x509.CertPool {
	e.t.Helper()
	return rootPool(e.t, filepath.Join(e.State, "ca", "root.pem"))
}

func rootPool(t testing.TB, path string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read the internal CA root: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", path)
	}
	return pool
}

// loopbackDial connects to 127.0.0.1 on the port of addr, whatever its
// host: names like edge.test resolve to this machine only.
func loopbackDial(ctx context.Context, _, addr string) (net.Conn, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: 2 * time.Second}
	return d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", port))
}

// newClient returns a client that never follows redirects, does not ask
// for compression by itself, dials 127.0.0.1 only and trusts roots.
func newClient(roots *x509.CertPool, h2 bool) *http.Client {
	tr := &http.Transport{
		DialContext:         loopbackDial,
		TLSClientConfig:     &tls.Config{RootCAs: roots},
		ForceAttemptHTTP2:   h2,
		DisableCompression:  true,
		MaxIdleConnsPerHost: 8,
		TLSHandshakeTimeout: 5 * time.Second,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Client is an HTTP/2-capable client trusting e's internal CA (when HTTPS
// is on).
func (e *Edge) Client() *http.Client { return e.client("h2") }

// Client1 is the same over HTTP/1.1 only.
func (e *Edge) Client1() *http.Client { return e.client("h1") }

func (e *Edge) client(kind string) *http.Client {
	e.clientsMu.Lock()
	defer e.clientsMu.Unlock()
	if c := e.clients[kind]; c != nil {
		return c
	}
	var roots *x509.CertPool
	if !e.Opts.NoHTTPS {
		roots = e.RootCAs()
	}
	c := newClient(roots, kind == "h2")
	if e.clients == nil {
		e.clients = map[string]*http.Client{}
	}
	e.clients[kind] = c
	return c
}

// HTTPS is the URL of path on the HTTPS listener for edge.test.
func (e *Edge) HTTPS(path string) string { return "https://" + domain + ":" + e.HTTPSPort + path }

// HTTP is the URL of path on the HTTP listener for edge.test.
func (e *Edge) HTTP(path string) string { return "http://" + domain + ":" + e.HTTPPort + path }

// URL is where the site is served: HTTPS, or HTTP when HTTPS is off.
func (e *Edge) URL(path string) string {
	if e.Opts.NoHTTPS {
		return e.HTTP(path)
	}
	return e.HTTPS(path)
}

// SiteAddr is the loopback address serving the site.
func (e *Edge) SiteAddr() string {
	if e.Opts.NoHTTPS {
		return "127.0.0.1:" + e.HTTPPort
	}
	return "127.0.0.1:" + e.HTTPSPort
}

// DialSite opens a raw connection to the site listener (TLS with SNI
// edge.test and HTTP/1.1 when HTTPS is on).
func (e *Edge) DialSite(t testing.TB) net.Conn {
	t.Helper()
	var conn net.Conn
	var err error
	if e.Opts.NoHTTPS {
		conn, err = net.DialTimeout("tcp", e.SiteAddr(), 2*time.Second)
	} else {
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 2 * time.Second},
			Config: &tls.Config{ServerName: domain, RootCAs: e.RootCAs(), NextProtos: []string{"http/1.1"}}}
		conn, err = d.Dial("tcp", e.SiteAddr())
	}
	if err != nil {
		t.Fatalf("dial %s: %v", e.SiteAddr(), err)
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { conn.Close() })
	return conn
}

// reqOpt changes a request before it is sent.
type reqOpt func(*http.Request)

func header(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

func host(h string) reqOpt { return func(r *http.Request) { r.Host = h } }

func basicAuth(user, pass string) reqOpt { return func(r *http.Request) { r.SetBasicAuth(user, pass) } }

// do sends one request and returns the response with its body read.
func do(t testing.TB, c *http.Client, method, url string, body io.Reader, opts ...reqOpt) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp, b
}

func get(t testing.TB, c *http.Client, url string, opts ...reqOpt) (*http.Response, []byte) {
	t.Helper()
	return do(t, c, http.MethodGet, url, nil, opts...)
}

func wantStatus(t testing.TB, resp *http.Response, body []byte, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body: %.300q", resp.Request.Method, resp.Request.URL, resp.StatusCode, want, body)
	}
}

// runEdge runs the edge binary with args (bounded) and returns stdout,
// stderr and the exit code. The environment is this process's without
// EDGE_CONFIG and EDGE_ADMIN_BCRYPT, plus env.
func runEdge(t testing.TB, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	bin := edgeBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	base := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "EDGE_CONFIG=") && !strings.HasPrefix(kv, "EDGE_ADMIN_BCRYPT=") {
			base = append(base, kv)
		}
	}
	cmd.Env = append(append(base, goraceEnv()), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run edge %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("edge %v did not finish within 30s", args)
	}
	return out.String(), errb.String(), code
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// eventually polls cond every 25 ms until it holds or d passes.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func ptr[T any](v T) *T { return &v }
