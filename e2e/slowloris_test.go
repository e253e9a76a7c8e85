package e2e

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// TestSlowloris opens connections that send part of a request (or of a TLS
// handshake) and stall; normal requests must still be served promptly.
func TestSlowloris(t *testing.T) {
	t.Parallel()
	e := startEdge(t, Options{})
	const stalled = 20
	partial := map[string][]byte{
		"127.0.0.1:" + e.HTTPPort:  []byte("GET / HTTP/1.1\r\nHost: " + domain + "\r\nX-Slow: "),
		"127.0.0.1:" + e.HTTPSPort: {0x16, 0x03, 0x01, 0x02, 0x00, 0x01}, // a ClientHello cut short
	}
	for addr, prefix := range partial {
		for range stalled {
			conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				t.Fatalf("open stalled connection %d to %s: %v", stalled, addr, err)
			}
			t.Cleanup(func() { conn.Close() })
			if _, err := conn.Write(prefix); err != nil {
				t.Fatal(err)
			}
		}
	}
	c := e.Client()
	for _, tc := range []struct {
		url    string
		status int
	}{
		{e.HTTPS("/"), http.StatusOK},
		{e.HTTPS("/courses/1"), http.StatusOK},
		{e.HTTP("/"), http.StatusPermanentRedirect},
		{e.HTTP("/healthz"), http.StatusOK},
	} {
		start := time.Now()
		resp, body := get(t, c, tc.url)
		wantStatus(t, resp, body, tc.status)
		if d := time.Since(start); d > time.Second {
			t.Errorf("GET %s took %s with %d stalled connections per listener, want under 1s", tc.url, d, stalled)
		}
	}
}
