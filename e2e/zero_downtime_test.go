package e2e

// Zero-downtime API restarts: edge in front of the real GitCourse API on
// Debian's uvicorn and PostgreSQL, a client sending a steady stream of GETs
// and POSTs while uvicorn is stopped (SIGTERM, as systemctl restart does)
// and started again.

import (
	"fmt"
	"github.com/gitcourse/edge/internal/testutil"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Load of the restart tests: an open loop (like many users) that starts one
// request every restartTick whether or not earlier ones have finished,
// GETs and POSTs in turn: about 50 requests a second, at most
// restartMaxOutstanding at once (a starved CI machine must not turn the
// test into an overload test).
const (
	restartTick           = 20 * time.Millisecond
	restartMaxOutstanding = 200
	// restartMaxRequests bounds the requests of one run whatever happens.
	restartMaxRequests = 5000
)

// loadRun is what a steady client saw during one restart.
type loadRun struct {
	mu                 sync.Mutex
	sent, failed       int
	posts, created     int // POSTs sent, POSTs answered 201
	codes              map[int]int
	firstErr           string
	maxLatency         time.Duration
	restartFrom, until time.Time // the restart: stop sent .. new process ready
	maxDuring          time.Duration
	sentDuring         int
	failures           []failure
}

// failure is one request that did not get its 200/201.
type failure struct {
	post bool
	code int
	took time.Duration
	err  string
}

func (l *loadRun) String() string {
	return fmt.Sprintf("%d requests (%d POSTs, %d answered 201), %d failed %v, max latency %s; "+
		"during the %s restart: %d requests, max latency %s",
		l.sent, l.posts, l.created, l.failed, l.codes, l.maxLatency.Round(time.Millisecond),
		l.until.Sub(l.restartFrom).Round(time.Millisecond), l.sentDuring, l.maxDuring.Round(time.Millisecond))
}

// record adds one finished request started at start.
func (l *loadRun) record(start time.Time, took time.Duration, post bool, code int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent++
	if post {
		l.posts++
	}
	want := http.StatusOK
	if post {
		want = http.StatusCreated
	}
	if err == nil && code != want {
		err = fmt.Errorf("status %d", code)
	}
	if err != nil {
		l.failed++
		if l.firstErr == "" {
			l.firstErr = err.Error()
		}
		l.failures = append(l.failures, failure{post, code, took, err.Error()})
	} else if post {
		l.created++
	}
	l.codes[code]++
	l.maxLatency = max(l.maxLatency, took)
	end := start.Add(took)
	if !l.restartFrom.IsZero() && end.After(l.restartFrom) && (l.until.IsZero() || start.Before(l.until)) {
		l.sentDuring++
		l.maxDuring = max(l.maxDuring, took)
	}
}

func (l *loadRun) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sent
}

// mark sets the start (end false) or the end of the restart.
func (l *loadRun) mark(end bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if end {
		l.until = time.Now()
	} else {
		l.restartFrom = time.Now()
	}
}

// runRestartLoad sends GET /api/courses and POST /api/courses (slugs
// prefix-N), one every restartTick, until stop is closed or
// restartMaxRequests were started.
func runRestartLoad(c *http.Client, e *Edge, prefix string, stop <-chan struct{}) (*loadRun, *sync.WaitGroup) {
	l := &loadRun{codes: map[int]int{}}
	var wg sync.WaitGroup
	slots := make(chan struct{}, restartMaxOutstanding)
	wg.Go(func() {
		tick := time.NewTicker(restartTick)
		defer tick.Stop()
		for i := range restartMaxRequests {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			select {
			case <-stop:
				return
			case slots <- struct{}{}:
			}
			wg.Go(func() {
				defer func() { <-slots }()
				post := i%2 == 1
				start := time.Now()
				code, err := restartLoadRequest(c, e, post, fmt.Sprintf("%s-%d", prefix, i))
				l.record(start, time.Since(start), post, code, err)
			})
		}
	})
	return l, &wg
}

// restartLoadRequest sends one GET or POST and returns its status.
func restartLoadRequest(c *http.Client, e *Edge, post bool, slug string) (int, error) {
	var resp *http.Response
	var err error
	if post {
		body := fmt.Sprintf(`{"slug":%q,"title":"Created during a restart"}`, slug)
		resp, err = c.Post(e.URL("/api/courses"), "application/json", strings.NewReader(body))
	} else {
		resp, err = c.Get(e.URL("/api/courses?limit=1"))
	}
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// waitRestartLoad waits (bounded) until the load has sent n requests.
func waitRestartLoad(t *testing.T, l *loadRun, n int) {
	t.Helper()
	if !eventually(60*time.Second, func() bool { return l.count() >= n }) {
		t.Fatalf("only %d of %d requests sent within 60s", l.count(), n)
	}
}

// restartUnderLoad runs the load, restarts the API with restart (which
// returns once the new process serves) and returns what the client saw.
// It checks that every POST answered 201 created exactly one course.
func restartUnderLoad(t *testing.T, e *Edge, pg *pgCluster, prefix string, restart func()) *loadRun {
	t.Helper()
	stop := make(chan struct{})
	// A patient client: a request that times out on the client may still be
	// applied, which would spoil the course count.
	c := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{DialContext: loopbackDial, MaxIdleConnsPerHost: 64}}
	defer c.CloseIdleConnections()
	l, wg := runRestartLoad(c, e, prefix, stop)
	var once sync.Once
	halt := func() {
		once.Do(func() { close(stop) })
		wg.Wait()
	}
	defer halt()
	waitRestartLoad(t, l, 60)
	l.mark(false)
	restart()
	l.mark(true)
	waitRestartLoad(t, l, l.count()+60)
	halt()
	rows := pg.psql(t, "gitcourse", "gitcourse", "pw-gitcourse",
		fmt.Sprintf("SELECT count(*) FROM courses WHERE slug LIKE '%s-%%'", prefix))
	if rows != fmt.Sprint(l.created) {
		t.Errorf("%s courses in PostgreSQL, want %d (one per POST answered 201: none lost or doubled)", rows, l.created)
	}
	t.Logf("%s: %s", prefix, l)
	return l
}

// checkNoFailures fails the test for any GET that failed, and for any POST
// that failed otherwise than with an immediate 502. Those are the POSTs a
// shutting-down uvicorn reset unread: it closes the connections it has not
// read a request from yet (idle keep-alive ones, and with its own listener
// also those in its accept queue). edge never resends a POST that was sent;
// restartUnderLoad's course count proves that none of them was applied.
func checkNoFailures(t *testing.T, l *loadRun, e *Edge) {
	t.Helper()
	reset := 0
	for _, f := range l.failures {
		if f.post && f.code == http.StatusBadGateway && f.took < time.Second {
			reset++
			continue
		}
		t.Errorf("request failed: POST %v, %s after %s", f.post, f.err, f.took)
	}
	if t.Failed() {
		t.Logf("edge log:\n%s", grepLines(e.Output(), "upstream"))
	}
	t.Logf("%d of %d POSTs reset unread by the stopping uvicorn (immediate 502, not applied)", reset, l.posts)
}

// sigtermRestart stops uvicorn as systemctl restart does (SIGTERM, wait
// for it to exit) and starts it again on the same port.
func sigtermRestart(t *testing.T, api *apiServer) func() {
	return func() {
		api.stopProcess(api.cmd, api.done, syscall.SIGTERM)
		api.Restart(t)
	}
}

// zeroDowntimeEdge starts edge with one API route to addr; retryWindow is
// its retry_window.
func zeroDowntimeEdge(t *testing.T, addr, retryWindow string) *Edge {
	t.Helper()
	route := Route{Path: "/api/", Upstreams: []string{addr}, RetryWindow: retryWindow,
		Timeouts: `connect = "1s", response_header = "90s"`}
	return startEdgeWith(t, Options{NoHTTPS: true, Routes: []Route{route}}, apiHealth, "")
}

// TestZeroDowntimeRestart measures a uvicorn restart under a steady load
// of GETs and POSTs: without retry_window (failures, the baseline), with
// it (none), with the socket held across the restart as systemd's
// gitcourse-api.socket does (none, and nothing waits), and past the window
// (502 in time). It is not parallel: it measures latencies.
func TestZeroDowntimeRestart(t *testing.T) {
	pg, dbURL := apiDatabase(t)

	t.Run("before-no-retry-window", func(t *testing.T) {
		api := startAPIServer(t, dbURL, "a")
		e := zeroDowntimeEdge(t, api.Addr(), "0s")
		l := restartUnderLoad(t, e, pg, "before", sigtermRestart(t, api))
		if l.failed == 0 || l.codes[http.StatusBadGateway] == 0 {
			t.Errorf("no request failed during a restart without retry_window (%s): the restart was not observed", l)
		}
	})
	t.Run("retry-window", func(t *testing.T) {
		api := startAPIServer(t, dbURL, "a")
		e := zeroDowntimeEdge(t, api.Addr(), "60s") // a restart on a loaded CI machine can take 10 s
		l := restartUnderLoad(t, e, pg, "window", sigtermRestart(t, api))
		checkNoFailures(t, l, e)
		if l.maxDuring < 200*time.Millisecond {
			t.Errorf("max latency during the restart %s: no request waited, the restart was not observed", l.maxDuring)
		}
		if !strings.Contains(e.Output(), "served after waiting for an upstream") {
			t.Errorf("edge logged no request served after waiting\n%s", grepLines(e.Output(), "upstream"))
		}
	})
	t.Run("socket-held", func(t *testing.T) {
		api := startHeldSocketAPI(t, dbURL)
		e := zeroDowntimeEdge(t, api.Addr(), "60s")
		l := restartUnderLoad(t, e, pg, "socket", api.restart)
		checkNoFailures(t, l, e)
		// The first request served after waiting is always logged.
		if out := e.Output(); strings.Contains(out, "served after waiting") || strings.Contains(out, "connection refused") {
			t.Errorf("a request waited for retry_window although the socket was held\n%s", grepLines(out, "upstream"))
		}
	})
	t.Run("window-expires-502", func(t *testing.T) { testWindowExpires(t, dbURL) })
}

// testWindowExpires: an API that does not come back gets 502 once
// retry_window is over, not at once and not much later.
func testWindowExpires(t *testing.T, dbURL string) {
	api := startAPIServer(t, dbURL, "a")
	e := zeroDowntimeEdge(t, api.Addr(), "2s")
	api.stopProcess(api.cmd, api.done, syscall.SIGTERM)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		start := time.Now()
		resp, b := do(t, e.Client1(), method, e.URL("/api/courses"), strings.NewReader(`{"slug":"never","title":"x"}`),
			header("Content-Type", "application/json"))
		took := time.Since(start)
		wantStatus(t, resp, b, http.StatusBadGateway)
		checkErrorJSON(t, resp, b, "upstream unavailable")
		if took < 2*time.Second || took > 4*time.Second {
			t.Errorf("%s: 502 after %s, want soon after retry_window (2s)", method, took)
		}
	}
	if !e.WaitOutput("no upstream accepted a connection within retry_window 2s", 5*time.Second) {
		t.Errorf("edge did not log the expired window\n%s", grepLines(e.Output(), "upstream"))
	}
}

// ------------------------------------------------- held socket (fd 3) ---

// heldSocketAPI is uvicorn serving on a listening socket that the test
// holds, passed as fd 3 (uvicorn --fd 3), as systemd passes the socket of
// gitcourse-api.socket: connections made while no uvicorn runs wait in the
// kernel's accept queue.
type heldSocketAPI struct {
	t     *testing.T
	dbURL string
	ln    *net.TCPListener
	file  *os.File
	*apiServer
}

func startHeldSocketAPI(t *testing.T, dbURL string) *heldSocketAPI {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	h := &heldSocketAPI{t: t, dbURL: dbURL, ln: ln.(*net.TCPListener), file: f,
		apiServer: &apiServer{t: t, Port: port, dbURL: dbURL, instance: "fd"}}
	if err := h.start(); err != nil {
		t.Fatalf("start uvicorn --fd 3: %v\n%s", err, h.out)
	}
	return h
}

// start runs uvicorn on fd 3 and waits until it serves.
func (h *heldSocketAPI) start() error {
	return h.launch([]string{"--fd", "3"}, []*os.File{h.file})
}

// restart stops uvicorn with SIGTERM and starts a new one on the same
// socket, as systemctl restart gitcourse-api.service does.
func (h *heldSocketAPI) restart() {
	h.stopProcess(h.cmd, h.done, syscall.SIGTERM)
	if err := h.start(); err != nil {
		h.t.Fatalf("restart uvicorn --fd 3: %v\n%s", err, h.out)
	}
}

// TestAPIUnitSocketActivation runs the ExecStart of the shipped
// gitcourse-api.service (the test app's module in place of app.main)
// under systemd-socket-activate, which holds 127.0.0.1:PORT and starts the
// command on the first connection with the socket as fd 3: uvicorn serves
// that first request on the passed socket.
func TestAPIUnitSocketActivation(t *testing.T) {
	requireAPIDeps(t)
	tool, err := exec.LookPath("systemd-socket-activate")
	testutil.RequireOrSkip(t, "systemd-socket-activate (Debian package systemd)", err)
	unit, err := os.ReadFile(repoRoot(t) + "/deploy/systemd/gitcourse-api.service")
	if err != nil {
		t.Fatal(err)
	}
	var argv []string
	for _, line := range strings.Split(string(unit), "\n") {
		if cmd, ok := strings.CutPrefix(line, "ExecStart="); ok {
			argv = strings.Fields(strings.ReplaceAll(cmd, "app.main:app", "app:app"))
		}
	}
	if len(argv) == 0 || !strings.Contains(strings.Join(argv, " "), " --fd 3") {
		t.Fatalf("gitcourse-api.service ExecStart %q, want uvicorn with --fd 3", argv)
	}
	port := freePort(t)
	out := &syncBuffer{}
	cmd := exec.Command(tool, append([]string{"-l", "127.0.0.1:" + port, "-E", "INSTANCE=activated",
		"-E", "PYTHONDONTWRITEBYTECODE=1"}, argv...)...)
	cmd.Dir = apiDir(t)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	c := &http.Client{Timeout: 30 * time.Second}
	var resp *http.Response
	ok := eventually(10*time.Second, func() bool { // until the tool has bound the port
		resp, err = c.Get("http://127.0.0.1:" + port + "/api/echo")
		return err == nil
	})
	if !ok {
		t.Fatalf("GET /api/echo: %v\n--- output ---\n%s", err, out)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"instance":"activated"`) {
		t.Fatalf("GET /api/echo: %d %s, want 200 from the activated uvicorn\n%s", resp.StatusCode, body, out)
	}
	// The log line and the first answer race through different pipes:
	// wait (bounded) for the line rather than expect it already read.
	want := "Uvicorn running on socket ('127.0.0.1', " + port + ")"
	if !eventually(5*time.Second, func() bool { return strings.Contains(out.String(), want) }) {
		t.Errorf("uvicorn did not report serving on the passed socket:\n%s", out)
	}
}
