package tlsmgr

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/internal/testutil"
)

// TestStopWaitsForLoops: with an ACME CA that accepts connections and
// never answers, the per-name loops hang in their first request; once
// Stop returns, no
// goroutine of the manager or of certmagic's cache maintenance is left
// (no settling time is allowed), and within a few seconds the count is
// back (certmagic's lock-file refreshers end 5s after their unlock).
func TestStopWaitsForLoops(t *testing.T) {
	ca := hangingCA(t)
	before := testutil.WaitGoroutines(0, 0)
	for round := range 3 {
		cfg := config.Local()
		cfg.Server.StateDir = t.TempDir()
		cfg.Site.Domains = []string{"a.test", "b.test"}
		cfg.TLS.Internal = false
		cfg.TLS.Email = "stop@example.com"
		cfg.TLS.ACMECA = "https://" + ca + "/directory"
		m, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LogWriter: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		m.Start(context.Background())
		// Wait (bounded) until both loops are in their request.
		deadline := time.Now().Add(10 * time.Second)
		for len(testutil.StacksWith("edge/tlsmgr.(*acme).manage")) < 2 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the manage loops did not start within 10s", round)
			}
			time.Sleep(10 * time.Millisecond)
		}
		m.Stop()
		for _, fn := range []string{"edge/tlsmgr.(*acme)", "certmagic.(*Cache).maintainAssets"} {
			if left := testutil.StacksWith(fn); len(left) > 0 {
				t.Fatalf("round %d: %d goroutines of %s still run after Stop returned:\n%s", round, len(left), fn, strings.Join(left, "\n\n"))
			}
		}
	}
	// Then nothing of certmagic is left either, but for its lock-file
	// refreshers, which end on their own 5s after the unlock.
	if n := testutil.WaitGoroutines(before, 10*time.Second); n > before {
		for _, g := range testutil.StacksWith("certmagic") {
			if !strings.Contains(g, "keepLockfileFresh") {
				t.Errorf("%d goroutines 10s after the last Stop, %d before; certmagic still runs:\n%s", n, before, g)
			}
		}
	}
}

// hangingCA listens on a loopback port, accepts connections and never
// answers, and returns its address; everything is closed when t ends.
func hangingCA(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}
