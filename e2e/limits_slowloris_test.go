package e2e

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLimitsSlowloris: 300 connections from 127.0.0.1 trickle request
// headers (a line every 500ms) over TLS. The default max_conns_per_ip
// (256, over all listeners) refuses the last 44 or so at accept; meanwhile a normal client on
// 127.0.0.2 loads pages with a p99 under 50 ms.
func TestLimitsSlowloris(t *testing.T) {
	e := startEdge(t, Options{})
	const slow, maxPerIP = 300, 256
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 2 * time.Second},
		Config: &tls.Config{ServerName: domain, RootCAs: e.RootCAs(), NextProtos: []string{"http/1.1"}}}
	var conns []net.Conn
	refused := 0
	opened := time.Now()
	for range slow {
		conn, err := d.Dial("tcp", e.SiteAddr())
		if err != nil {
			refused++ // closed at accept: the handshake fails
			continue
		}
		t.Cleanup(func() { conn.Close() })
		if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: " + domain + "\r\n")); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
	}
	t.Logf("opened %d slow connections in %s", len(conns), time.Since(opened))
	// The harness may hold a keep-alive connection or two from 127.0.0.1
	// too: they count against the same cap.
	if len(conns) > maxPerIP || len(conns) < maxPerIP-4 || refused < slow-maxPerIP {
		t.Errorf("%d of %d connections accepted (%d refused), want at most max_conns_per_ip = %d and at least %d",
			len(conns), slow, refused, maxPerIP, maxPerIP-4)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { trickle(conns, stop) })

	c := clientFrom(e, "127.0.0.2")
	var lat []time.Duration
	for i := range 200 {
		path := "/"
		if i%2 == 1 {
			path = "/courses/1"
		}
		start := time.Now()
		resp, body := get(t, c, e.URL(path))
		lat = append(lat, time.Since(start))
		wantStatus(t, resp, body, http.StatusOK)
	}
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	t.Logf("normal client with %d trickling connections: p50 %s, p99 %s", len(conns), p50, p99)
	close(stop)
	wg.Wait()
	if p99 > 50*time.Millisecond {
		t.Errorf("p99 %s with %d trickling connections, want under 50ms", p99, len(conns))
	}
}

// trickle writes one more header line to every connection every 500ms
// until stop; a connection edge closed is dropped.
func trickle(conns []net.Conn, stop <-chan struct{}) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		for _, c := range conns {
			_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			_, _ = c.Write([]byte("X-Trickle: 1\r\n"))
		}
	}
}

// TestLimitsPageLoadNotLimited: with the example config's login rule on,
// three tabs each loading the SPA (its HTML plus 60 assets in parallel
// over 6 connections) are never limited.
func TestLimitsPageLoadNotLimited(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "deploy", "edge.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(example), "# [[limit]]")
	j := strings.Index(string(example), "\n\n[tls]")
	if i < 0 || j < i {
		t.Fatal("deploy/edge.example.toml has no commented [[limit]] before [tls]")
	}
	var rule strings.Builder
	for _, line := range strings.Split(string(example[i:j]), "\n") {
		rule.WriteString(strings.TrimPrefix(line, "# ") + "\n")
	}
	e := startEdge(t, Options{ExtraTOML: rule.String()})
	c := clientFrom(e, "127.0.0.1")
	c.Transport.(*http.Transport).MaxConnsPerHost = 6
	codes := make(chan int, 3*61)
	var wg sync.WaitGroup
	for range 3 { // tabs
		wg.Go(func() {
			codes <- statusOf(c, e.URL("/"))
			var assets sync.WaitGroup
			for k := range 60 {
				path := "/assets/app.css?v=" + strconv.Itoa(k)
				if k%2 == 0 {
					path = assetPath + "?v=" + strconv.Itoa(k)
				}
				assets.Go(func() { codes <- statusOf(c, e.URL(path)) })
			}
			assets.Wait()
		})
	}
	wg.Wait()
	close(codes)
	seen := map[int]int{}
	for code := range codes {
		seen[code]++
	}
	if seen[http.StatusOK] != 3*61 {
		t.Errorf("statuses %v, want %d × 200", seen, 3*61)
	}
	if strings.Contains(e.Output(), `"limited"`) {
		t.Error("the access log marks a page load as limited")
	}
}

// statusOf GETs url and returns the status, -1 on a transport error (safe
// outside the test goroutine).
func statusOf(c *http.Client, url string) int {
	resp, err := c.Get(url)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
