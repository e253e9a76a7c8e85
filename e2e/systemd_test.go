package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// activator plays systemd's part: it holds the listening sockets for the
// whole test, passes them to each edge it starts as fds 3 and 4 with
// LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID, and reads sd_notify datagrams.
type activator struct {
	t      *testing.T
	e      *Edge
	files  []*os.File
	notify chan string
	proc   *exec.Cmd
	done   chan struct{}
	out    *syncBuffer
	starts int
}

func newActivator(t *testing.T) *activator {
	t.Helper()
	bin := edgeBinary(t)
	dir := shortTempDir(t)
	e := &Edge{t: t, Bin: bin, Dir: dir, Site: filepath.Join(dir, "site"), State: filepath.Join(dir, "state"),
		Socket: filepath.Join(dir, "admin.sock"), Config: filepath.Join(dir, "edge.toml")}
	writeSite(t, dir)
	a := &activator{t: t, e: e, notify: make(chan string, 1024)}
	for _, name := range []string{"http", "https"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f, err := ln.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		ln.Close() // the dup in f keeps the socket listening
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		if name == "http" {
			e.HTTPPort = port
		} else {
			e.HTTPSPort = port
		}
		a.files = append(a.files, f)
	}
	t.Cleanup(func() {
		for _, f := range a.files {
			f.Close()
		}
	})
	// The config names the same ports: if edge bound them itself instead of
	// using the passed sockets, it would fail with "address already in use".
	e.WriteConfig()
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			a.notify <- string(buf[:n])
		}
	}()
	e.Opts.Env = []string{"NOTIFY_SOCKET=" + sock, "LISTEN_FDS=2", "LISTEN_FDNAMES=http:https"}
	return a
}

// start launches edge with the sockets and waits for READY=1.
func (a *activator) start() {
	a.t.Helper()
	a.starts++
	a.out = &syncBuffer{}
	// LISTEN_PID must be the pid of the process that reads the fds: the
	// shell sets it to its own pid and then execs edge in place.
	a.proc = exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" run -config "$1"`, a.e.Bin, a.e.Config)
	a.proc.Env = a.e.env()
	a.proc.Dir = a.e.Dir
	a.proc.ExtraFiles = a.files
	a.proc.Stdout, a.proc.Stderr = a.out, a.out
	a.proc.WaitDelay = 2 * time.Second
	if err := a.proc.Start(); err != nil {
		a.t.Fatal(err)
	}
	a.done = make(chan struct{})
	go func() { _ = a.proc.Wait(); close(a.done) }()
	proc := a.proc
	a.t.Cleanup(func() {
		select {
		case <-a.done:
		default:
			_ = proc.Process.Signal(syscall.SIGKILL)
		}
	})
	a.expect("READY=1", 15*time.Second)
}

// stop sends SIGTERM by PID, expects STOPPING=1 and exit code 0.
func (a *activator) stop() {
	a.t.Helper()
	if err := a.proc.Process.Signal(syscall.SIGTERM); err != nil {
		a.t.Fatal(err)
	}
	a.expect("STOPPING=1", 10*time.Second)
	select {
	case <-a.done:
	case <-time.After(stopTimeout):
		_ = a.proc.Process.Signal(syscall.SIGKILL)
		a.t.Fatalf("edge did not exit within %s of SIGTERM\n%s", stopTimeout, a.out.String())
	}
	if code := a.proc.ProcessState.ExitCode(); code != 0 {
		a.t.Fatalf("edge exit code %d, want 0\n%s", code, a.out.String())
	}
	if strings.Contains(a.out.String(), "DATA RACE") {
		a.t.Fatalf("edge reported a data race\n%s", a.out.String())
	}
}

// expect reads datagrams until one contains want.
func (a *activator) expect(want string, limit time.Duration) string {
	a.t.Helper()
	deadline := time.After(limit)
	for {
		select {
		case msg := <-a.notify:
			if strings.Contains(msg, want) {
				return msg
			}
		case <-a.done:
			a.t.Fatalf("edge exited while waiting for %q\n%s", want, a.out.String())
		case <-deadline:
			a.t.Fatalf("no %q from edge within %s\n%s", want, limit, a.out.String())
		}
	}
}

func TestSocketActivationAndNotify(t *testing.T) {
	a := newActivator(t)
	a.start()
	e := a.e
	if !strings.Contains(a.out.String(), `"using socket from systemd"`) {
		t.Errorf("edge did not log that it used the passed sockets:\n%s", a.out.String())
	}
	resp, body := do(t, newClient(e.RootCAs(), true), "GET", e.HTTPS("/"), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<title>") {
		t.Errorf("GET / over the passed https socket: %d %.60q", resp.StatusCode, body)
	}
	resp, _ = do(t, newClient(nil, false), "GET", e.HTTP("/x?y=1"), nil)
	if want := "https://" + domain + ":" + e.HTTPSPort + "/x?y=1"; resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Errorf("port-80 socket: got %d Location %q, want 308 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	if err := a.proc.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if msg := a.expect("RELOADING=1", 5*time.Second); !strings.Contains(msg, "MONOTONIC_USEC=") {
		t.Errorf("RELOADING=1 without MONOTONIC_USEC: %q", msg)
	}
	if msg := a.expect("READY=1", 5*time.Second); !strings.Contains(msg, "STATUS=serving 2 domain(s)") {
		t.Errorf("READY after reload without the status line: %q", msg)
	}
	a.stop()
}

func TestSocketActivationRejectsNonTCPSocket(t *testing.T) {
	a := newActivator(t)
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	f, err := udp.(*net.UDPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a.files[0] = f
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" run -config "$1"`, a.e.Bin, a.e.Config)
	cmd.Env, cmd.Dir, cmd.ExtraFiles = a.e.env(), a.e.Dir, a.files
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); err == nil || code != 1 {
		t.Fatalf("edge with a UDP socket named http: exit %d (%v), want 1\n%s", code, err, out)
	}
	if !strings.Contains(string(out), `socket "http" passed by systemd`) {
		t.Errorf("error does not name the bad socket:\n%s", out)
	}
}

// loadResult counts what a load worker saw.
type loadResult struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	firstErrs  []string
}

func (r *loadResult) fail(msg string) {
	r.failed.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.firstErrs) < 5 {
		r.firstErrs = append(r.firstErrs, msg)
	}
}

// waitProgress waits (bounded) until n more requests were answered, so
// that every restart and reload happens under load.
func (r *loadResult) waitProgress(t *testing.T, n int64) {
	t.Helper()
	target := r.ok.Load() + r.failed.Load() + n
	for i := 0; i < 1000; i++ {
		if r.ok.Load()+r.failed.Load() >= target {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("load made no progress (%d ok, %d failed)", r.ok.Load(), r.failed.Load())
}

// runLoad sends requests until stop closes (or maxRequests): over HTTP/2
// to the site (200 with the page) and over fresh HTTP/1.1 connections to
// the port-80 socket (308). Every answer is checked.
func runLoad(e *Edge, stop <-chan struct{}, res *loadResult, wg *sync.WaitGroup) {
	const maxRequests = 200000
	h2 := newClient(e.RootCAs(), true)
	plainTr := &http.Transport{DialContext: loopbackDial, DisableKeepAlives: true}
	plain := &http.Client{Transport: plainTr, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	check := func(c *http.Client, url string, want int, marker string) {
		resp, err := c.Get(url)
		if err != nil {
			res.fail(err.Error())
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != want || !strings.Contains(string(body), marker) {
			res.fail(fmt.Sprintf("%s: %d (%v)", url, resp.StatusCode, err))
			return
		}
		res.ok.Add(1)
	}
	for _, w := range []struct {
		c      *http.Client
		url    string
		want   int
		marker string
	}{
		{h2, e.HTTPS("/"), http.StatusOK, "<title>"},
		{h2, e.HTTPS("/courses/7"), http.StatusOK, "<title>"},
		{plain, e.HTTP("/a"), http.StatusPermanentRedirect, ""},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < maxRequests; i++ {
				select {
				case <-stop:
					return
				default:
				}
				check(w.c, w.url, w.want, w.marker)
			}
		}()
	}
}

func TestZeroLossAcrossRestartsAndReloads(t *testing.T) {
	restarts, reloads := 20, 50
	if v := os.Getenv("E2E_RESTARTS"); v != "" {
		fmt.Sscan(v, &restarts)
	}
	if v := os.Getenv("E2E_RELOADS"); v != "" {
		fmt.Sscan(v, &reloads)
	}
	if testing.Short() {
		restarts, reloads = 3, 5
	}
	a := newActivator(t)
	a.start()
	res := &loadResult{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	runLoad(a.e, stop, res, &wg)
	for i := 0; i < restarts; i++ {
		res.waitProgress(t, 30)
		a.stop()
		a.start()
	}
	for i := 0; i < reloads; i++ {
		res.waitProgress(t, 10)
		if err := a.proc.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		a.expect("RELOADING=1", 5*time.Second)
		a.expect("READY=1", 5*time.Second)
	}
	close(stop)
	wg.Wait()
	a.stop()
	t.Logf("zero-loss: %d restarts, %d reloads, %d requests answered correctly, %d failed",
		restarts, reloads, res.ok.Load(), res.failed.Load())
	if res.failed.Load() != 0 {
		t.Errorf("%d of %d requests failed across restarts/reloads; first: %q",
			res.failed.Load(), res.ok.Load()+res.failed.Load(), res.firstErrs)
	}
	if res.ok.Load() < int64(restarts) {
		t.Errorf("only %d requests completed: the load did not run", res.ok.Load())
	}
}
