package e2e

import (
	"encoding/json"
	"io"
	"net/http"
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
// load of GETs and POSTs runs: no request fails, with retry_window off,
// every POST answered 201 is one course, and no request reaches an
// instance between its drain's answer and its enable.
func TestUpstreamDrainRestart(t *testing.T) {
	edgeBinary(t)
	requireAPIDeps(t)
	pg := startPGCluster(t)
	dbURL := pg.createDatabase(t, "gitcourse")
	alembic(t, dbURL, "upgrade", "head")
	apis := []*apiServer{startAPIServer(t, dbURL, "a"), startAPIServer(t, dbURL, "b")}
	route := Route{Path: "/api/", Upstreams: []string{apis[0].Addr(), apis[1].Addr()}, RetryWindow: "0s",
		Timeouts: `connect = "1s", response_header = "30s"`}
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
