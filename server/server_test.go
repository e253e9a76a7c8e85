package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/config"
)

// testConfig is a plain-HTTP config on a free loopback port with a tiny site.
func testConfig(t *testing.T) *config.Config { return testConfigTB(t) }

// testConfigTB is testConfig for tests and benchmarks.
func testConfigTB(t testing.TB) *config.Config {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "site")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte("<h1>hi</h1>"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config.Local()
	cfg.Server.HTTP, cfg.Server.HTTPS = "127.0.0.1:0", ""
	cfg.Server.StateDir = filepath.Join(dir, "state")
	cfg.Server.AdminSocket = filepath.Join(dir, "admin.sock")
	cfg.Server.AccessLog = "off"
	cfg.Site.Root = root
	cfg.Routes = nil
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// notifySocket listens where sd_notify datagrams go and returns them on a channel.
func notifySocket(t *testing.T) <-chan string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	ch := make(chan string, 256)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(ch)
				return
			}
			ch <- string(buf[:n])
		}
	}()
	return ch
}

// waitFor reads datagrams until one contains want, within limit.
func waitFor(t *testing.T, ch <-chan string, want string, limit time.Duration) string {
	t.Helper()
	deadline := time.After(limit)
	for {
		select {
		case msg, ok := <-ch:
			if !ok {
				t.Fatalf("notify socket closed while waiting for %q", want)
			}
			if strings.Contains(msg, want) {
				return msg
			}
		case <-deadline:
			t.Fatalf("no %q notification within %s", want, limit)
		}
	}
}

// countWithin counts datagrams containing want that arrive within d.
func countWithin(ch <-chan string, want string, d time.Duration) int {
	n := 0
	deadline := time.After(d)
	for {
		select {
		case msg := <-ch:
			if strings.Contains(msg, want) {
				n++
			}
		case <-deadline:
			return n
		}
	}
}

func startServer(t *testing.T, cfg *config.Config, load func() (*config.Config, error)) (*Server, context.CancelFunc, <-chan error) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(cfg, Options{Version: "test", Logger: log, Stdout: io.Discard, Load: load})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		done <- s.Run(ctx)
		close(finished)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(15 * time.Second):
			t.Error("server did not stop")
		}
	})
	return s, cancel, done
}

func TestNotifyLifecycle(t *testing.T) {
	ch := notifySocket(t)
	cfg := testConfig(t)
	s, cancel, done := startServer(t, cfg, func() (*config.Config, error) { return cfg, nil })

	ready := waitFor(t, ch, "READY=1", 5*time.Second)
	if !strings.Contains(ready, "STATUS=serving 1 domain") && !strings.Contains(ready, "STATUS=serving 3 domain") {
		t.Errorf("READY without a status line: %q", ready)
	}
	resp, err := http.Get("http://" + s.HTTPAddr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	if err := s.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	reloading := waitFor(t, ch, "RELOADING=1", 2*time.Second)
	if !strings.Contains(reloading, "MONOTONIC_USEC=") {
		t.Errorf("RELOADING without MONOTONIC_USEC: %q", reloading)
	}
	waitFor(t, ch, "READY=1", 2*time.Second)

	cancel()
	waitFor(t, ch, "STOPPING=1", 5*time.Second)
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v, want nil", err)
	}
}

func TestWatchdogStopsWhenServingLoopWedges(t *testing.T) {
	ch := notifySocket(t)
	t.Setenv("WATCHDOG_USEC", "200000") // pet every 100 ms
	t.Setenv("WATCHDOG_PID", "")
	s, _, _ := startServer(t, testConfig(t), nil)

	waitFor(t, ch, "READY=1", 5*time.Second)
	waitFor(t, ch, "WATCHDOG=1", 2*time.Second)

	s.frozen.Store(true)
	time.Sleep(250 * time.Millisecond) // let a probe already in flight finish
	if n := countWithin(ch, "WATCHDOG=1", 800*time.Millisecond); n != 0 {
		t.Errorf("got %d watchdog pets while the serving loop was wedged, want 0", n)
	}

	s.frozen.Store(false)
	waitFor(t, ch, "WATCHDOG=1", 2*time.Second)
}

func TestReloadRejectsBadConfigAndKeepsServing(t *testing.T) {
	cfg := testConfig(t)
	bad := func() (*config.Config, error) { return config.Load(filepath.Join(t.TempDir(), "missing.toml")) }
	s, _, _ := startServer(t, cfg, bad)
	if err := s.Reload(t.Context()); err == nil {
		t.Fatal("reload with a missing config file succeeded")
	}
	resp, err := http.Get("http://" + s.HTTPAddr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "hi") {
		t.Errorf("after a rejected reload got %d %q, want 200 with the old site", resp.StatusCode, body)
	}
	if st := s.Status(); st.LastError == "" {
		t.Error("status does not show the rejected reload")
	}
}
