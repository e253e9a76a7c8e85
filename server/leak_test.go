package server

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/internal/testutil"
)

// TestNoGoroutineLeakAcrossReloads starts a server with HTTPS whose ACME
// CA refuses connections (so certificate loops are running and retrying),
// reloads it 20 times, stops it, and checks that the goroutine count is
// back where it was: every reload stops the old site's workers and TLS
// manager and waits for them.
func TestNoGoroutineLeakAcrossReloads(t *testing.T) {
	cfg := acmeConfig(t)
	load := func() (*config.Config, error) { return acmeConfig(t), nil }
	checkLeaks := testutil.CheckGoroutines(t, 0)
	s, cancel, done := startServer(t, cfg, load)
	client := &http.Client{Timeout: 5 * time.Second}
	get := func() {
		t.Helper()
		resp, err := client.Get("http://" + s.HTTPAddr() + "/")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get()
	for i := range 20 {
		if err := s.Reload(t.Context()); err != nil {
			t.Fatalf("reload %d: %v", i+1, err)
		}
		get()
	}
	if got := s.Status().Reloads; got != 20 {
		t.Errorf("status counts %d reloads, want 20", got)
	}
	client.CloseIdleConnections()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop within 15s")
	}
	checkLeaks()
}

// acmeConfig is testConfig with HTTPS on and one name to obtain from an
// ACME CA that refuses connections.
func acmeConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg := testConfig(t)
	cfg.Server.HTTPS = "localhost:0" // "127.0.0.1:0" is server.http
	cfg.Site.Domains = []string{"leak.test"}
	cfg.TLS.Internal = false
	cfg.TLS.Email = "leak@example.com"
	cfg.TLS.ACMECA = "https://127.0.0.1:1/directory"
	cfg.TLS.ReadyTimeout = config.Duration{Duration: 100 * time.Millisecond}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}
