package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// echoSample is one GET /api/echo: when it was sent and who answered.
type echoSample struct {
	start    time.Time
	instance string
}

// sampleEcho sends GET /api/echo every 50 ms until stop, recording the
// instance that answered each.
func sampleEcho(c *http.Client, e *Edge, stop <-chan struct{}) func() []echoSample {
	var mu sync.Mutex
	var out []echoSample
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for range 2000 {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			start := time.Now()
			resp, err := c.Get(e.URL("/api/echo"))
			if err != nil {
				continue // counted by the main load's checks
			}
			var seen apiEcho
			_ = json.NewDecoder(resp.Body).Decode(&seen)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mu.Lock()
			out = append(out, echoSample{start, seen.Instance})
			mu.Unlock()
		}
	}()
	return func() []echoSample {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return out
	}
}

// edgeUpstream runs "edge upstream ACTION ADDR" against e and returns its
// output and exit code.
func edgeUpstream(t *testing.T, e *Edge, action, addr string) (string, int) {
	t.Helper()
	stdout, stderr, code := runEdge(t, nil, "upstream", action, addr, "-config", e.Config)
	return stdout + stderr, code
}

// TestUpstreamDrainRestart: two uvicorn instances behind edge, each in
// turn drained (edge upstream drain), restarted and enabled while a steady
// load of GETs and POSTs runs: no request fails, every POST answered 201
// is one course, and no request reaches an instance between its drain's
// answer and its enable.
func TestUpstreamDrainRestart(t *testing.T) {
	pg, dbURL := apiDatabase(t)
	apis := []*apiServer{startAPIServer(t, dbURL, "a"), startAPIServer(t, dbURL, "b")}
	route := Route{Path: "/api/", Upstreams: []string{apis[0].Addr(), apis[1].Addr()},
		Timeouts: `connect = "2s", response_header = "90s"`} // retry_window: the default
	e := startEdgeWith(t, Options{NoHTTPS: true, Routes: []Route{route}}, apiHealth, "")

	// Bad input: an address no route lists; the last serving upstream.
	if out, code := edgeUpstream(t, e, "drain", "127.0.0.1:1"); code != 1 || !strings.Contains(out, "no [[route]] lists upstream 127.0.0.1:1") {
		t.Errorf("drain of an unknown upstream: exit %d %q, want 1 naming the problem", code, out)
	}
	if out, code := edgeUpstream(t, e, "drain", apis[0].Addr()); code != 0 || !strings.Contains(out, "drained "+apis[0].Addr()) {
		t.Fatalf("drain a: exit %d %q", code, out)
	}
	if out, code := edgeUpstream(t, e, "drain", apis[1].Addr()); code != 1 || !strings.Contains(out, "no other upstream") {
		t.Errorf("drain of the last serving upstream: exit %d %q, want 1 (refused)", code, out)
	}
	if out, code := edgeUpstream(t, e, "enable", apis[0].Addr()); code != 0 || !strings.Contains(out, "enabled") {
		t.Fatalf("enable a: exit %d %q", code, out)
	}

	stopEcho := make(chan struct{})
	samples := sampleEcho(e.Client1(), e, stopEcho)
	type window struct {
		instance      string
		drained, back time.Time
	}
	var windows []window
	l := restartUnderLoad(t, e, pg, "drain", func() {
		for _, api := range apis {
			if out, code := edgeUpstream(t, e, "drain", api.Addr()); code != 0 {
				t.Fatalf("drain %s: exit %d %q", api.instance, code, out)
			}
			w := window{instance: api.instance, drained: time.Now()}
			api.stopProcess(api.cmd, api.done, syscall.SIGTERM)
			api.Restart(t)
			w.back = time.Now()
			if out, code := edgeUpstream(t, e, "enable", api.Addr()); code != 0 {
				t.Fatalf("enable %s: exit %d %q", api.instance, code, out)
			}
			windows = append(windows, w)
		}
	})
	close(stopEcho)
	if l.failed != 0 {
		t.Errorf("%d requests failed (first: %s), want none\n%s", l.failed, l.firstErr, grepLines(e.Output(), "upstream"))
	}
	var n int
	for _, s := range samples() {
		for _, w := range windows {
			if s.instance == w.instance && s.start.After(w.drained) && s.start.Before(w.back) {
				t.Errorf("GET sent %s after %s was drained was answered by it", s.start.Sub(w.drained), w.instance)
			}
		}
		n++
	}
	if n < 20 {
		t.Errorf("only %d echo samples: the drain was not observed under load", n)
	}
}

// apiRestartShim stands in for systemctl on a machine without systemd: it
// lists the test's uvicorn instances as gitcourse-api@PORT.service and
// restarts one as systemd would (SIGTERM, wait, start again on its port),
// keeping each instance's PID in DIR/PORT.pid.
const apiRestartShim = `#!/bin/sh
set -eu
dir=$(dirname "$0")
case "$1" in
list-units)
	for f in "$dir"/*.pid; do p=$(basename "$f" .pid); echo "gitcourse-api@$p.service loaded active running API"; done ;;
is-active)
	exit 3 ;;
restart)
	p=${2#gitcourse-api@}; p=${p%.service}
	old=$(cat "$dir/$p.pid")
	kill -TERM "$old"
	i=0; while kill -0 "$old" 2>/dev/null; do i=$((i+1)); [ $i -lt 200 ] || exit 1; sleep 0.05; done
	cd "$API_DIR"
	INSTANCE=$p nohup /usr/bin/python3 -m uvicorn app:app --host 127.0.0.1 --port "$p" --timeout-keep-alive 120 >>"$dir/$p.log" 2>&1 &
	echo $! >"$dir/$p.pid" ;;
*)
	echo "shim: $*" >&2; exit 2 ;;
esac
`

// TestAPIRestartScript runs deploy/api-restart.sh (the restart step of
// deploy.sh) against two uvicorn instances under load, with a systemctl
// stand-in: it drains, restarts and enables each in turn; no request fails.
func TestAPIRestartScript(t *testing.T) {
	pg, dbURL := apiDatabase(t)
	apis := []*apiServer{startAPIServer(t, dbURL, "a"), startAPIServer(t, dbURL, "b")}
	shim := t.TempDir()
	writeFile(t, shim+"/systemctl", apiRestartShim, 0o755)
	for _, api := range apis {
		writeFile(t, shim+"/"+api.Port+".pid", fmt.Sprint(api.cmd.Process.Pid), 0o644)
	}
	t.Cleanup(func() { // the instances the shim started, by PID
		for _, api := range apis {
			b, _ := os.ReadFile(shim + "/" + api.Port + ".pid")
			var pid int
			if _, err := fmt.Sscan(string(b), &pid); err == nil && pid != api.cmd.Process.Pid {
				stopOrphan(pid)
			}
		}
	})
	route := Route{Path: "/api/", Upstreams: []string{apis[0].Addr(), apis[1].Addr()},
		Timeouts: `connect = "2s", response_header = "90s"`} // retry_window: the default
	e := startEdgeWith(t, Options{NoHTTPS: true, Routes: []Route{route}}, apiHealth, "")
	var out []byte
	var err error
	l := restartUnderLoad(t, e, pg, "script", func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", repoRoot(t)+"/deploy/api-restart.sh")
		cmd.Env = append(os.Environ(), "EDGE="+edgeBinary(t), "EDGE_CONFIG="+e.Config, "SYSTEMCTL="+shim+"/systemctl",
			"RESTART="+shim+"/systemctl restart", "API_DIR="+apiDir(t), "DATABASE_URL="+dbURL, "HEALTH_TIMEOUT=90",
			"PYTHONDONTWRITEBYTECODE=1")
		out, err = cmd.CombinedOutput()
	})
	if err != nil || !strings.Contains(string(out), "restarted 2 instances one at a time") {
		t.Fatalf("api-restart.sh: %v\n%s", err, out)
	}
	for _, want := range []string{"drained " + apis[0].Addr(), "enabled " + apis[1].Addr()} {
		if !strings.Contains(string(out), want) {
			t.Errorf("api-restart.sh output lacks %q:\n%s", want, out)
		}
	}
	for _, api := range apis {
		if b, _ := os.ReadFile(shim + "/" + api.Port + ".pid"); string(b) == fmt.Sprint(api.cmd.Process.Pid) {
			t.Errorf("instance %s was not restarted", api.instance)
		}
	}
	if l.failed != 0 {
		t.Errorf("%d requests failed (first: %s), want none\n%s", l.failed, l.firstErr, grepLines(e.Output(), "upstream"))
	}
}

// stopOrphan ends a process the test did not start itself (bounded).
func stopOrphan(pid int) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for range 100 {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}
