package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// newH3Activator is newActivator with a third socket: UDP at the HTTPS
// port, passed as fd 5 named "h3" (edge-h3.socket). The port is held by
// the test, so edge can only serve HTTP/3 on the socket it was given.
func newH3Activator(t *testing.T) *activator {
	t.Helper()
	a := newActivator(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:"+a.e.HTTPSPort)
	if err != nil {
		t.Fatalf("bind UDP at the HTTPS port %s: %v", a.e.HTTPSPort, err)
	}
	f, err := pc.(*net.UDPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	pc.Close() // the dup in f keeps the socket
	a.files = append(a.files, f)
	for i, kv := range a.e.Opts.Env {
		switch {
		case strings.HasPrefix(kv, "LISTEN_FDS="):
			a.e.Opts.Env[i] = "LISTEN_FDS=3"
		case strings.HasPrefix(kv, "LISTEN_FDNAMES="):
			a.e.Opts.Env[i] = "LISTEN_FDNAMES=http:https:h3"
		}
	}
	return a
}

// countingH3 is an HTTP/3 transport to e that counts the QUIC
// connections it dials.
func countingH3(e *Edge, dials *atomic.Int64) *http3.Transport {
	tr := h3Transport(e, "", nil)
	tr.QUICConfig = &quic.Config{HandshakeIdleTimeout: 10 * time.Second}
	tr.Dial = func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
		dials.Add(1)
		tlsCfg.ServerName = domain
		return quic.DialAddrEarly(ctx, "127.0.0.1:"+e.HTTPSPort, tlsCfg, cfg)
	}
	return tr
}

// TestHTTP3SocketActivation: edge serves HTTP/3 on the UDP socket systemd
// passes as "h3"; a reload keeps it, and the client's QUIC connection.
func TestHTTP3SocketActivation(t *testing.T) {
	a := newH3Activator(t)
	a.start()
	e := a.e
	if out := a.out.String(); !strings.Contains(out, `"msg":"using socket from systemd","component":"server","name":"h3"`) ||
		strings.Contains(out, "HTTP/3 is off") {
		t.Fatalf("edge did not take the h3 socket:\n%s", out)
	}
	var dials atomic.Int64
	tr := countingH3(e, &dials)
	defer tr.Close()
	c := h3Client(tr)
	resp, body := get(t, c, e.HTTPS("/"))
	wantStatus(t, resp, body, http.StatusOK)
	if resp.Proto != "HTTP/3.0" {
		t.Fatalf("proto %s, want HTTP/3.0", resp.Proto)
	}
	wantAltSvc(t, resp, e.HTTPSPort)
	if err := a.proc.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	a.expect("RELOADING=1", 5*time.Second)
	a.expect("READY=1", 5*time.Second)
	resp, body = get(t, c, e.HTTPS("/courses/1"))
	wantStatus(t, resp, body, http.StatusOK)
	if n := dials.Load(); n != 1 {
		t.Errorf("%d QUIC connections dialled across the reload, want 1 (the reload dropped it)", n)
	}
	wantAltSvc(t, resp, e.HTTPSPort)
	a.stop()
}

// TestHTTP3DrainDoesNotWaitForIdleClients: a client that vanishes after
// its request (its packets, the closing ones included, no longer arrive)
// does not hold SIGTERM up for the drain timeout (30s here), while a
// request in flight still completes.
func TestHTTP3DrainDoesNotWaitForIdleClients(t *testing.T) {
	e := startEdge(t, Options{ShutdownTimeout: "30s"})
	relay := newEarlyRelay(t, "127.0.0.1:"+e.HTTPSPort, 0)
	tr := h3Transport(e, "", nil)
	tr.Dial = func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
		tlsCfg.ServerName = domain
		return quic.DialAddrEarly(ctx, relay.Addr(), tlsCfg, cfg)
	}
	defer tr.Close()
	resp, body := get(t, h3Client(tr), e.HTTPS("/"))
	wantStatus(t, resp, body, http.StatusOK)
	relay.pc.Close() // the client vanishes
	relay.up.Close()
	start := time.Now()
	if code := e.Stop(); code != 0 {
		t.Fatalf("exit code %d, want 0\n%s", code, e.Output())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("SIGTERM took %s with one vanished HTTP/3 client; want well under the 30s drain timeout", d)
	}
}

// runH3Load sends GETs over HTTP/3 until stop closes, checking each.
func runH3Load(t *testing.T, e *Edge, stop <-chan struct{}, res *loadResult, wg *sync.WaitGroup) {
	const maxRequests = 200000
	for _, path := range []string{"/", "/courses/7"} {
		var dials atomic.Int64
		tr := countingH3(e, &dials)
		t.Cleanup(func() { _ = tr.Close() })
		c := h3Client(tr)
		c.Timeout = 15 * time.Second
		wg.Go(func() {
			for range maxRequests {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := c.Get(e.HTTPS(path))
				if err != nil {
					res.fail(err.Error())
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK || resp.ProtoMajor != 3 || !strings.Contains(string(b), "<title>") {
					res.fail(fmt.Sprintf("%s: %s %d (%v)", path, resp.Proto, resp.StatusCode, err))
					continue
				}
				res.ok.Add(1)
			}
		})
	}
}

// TestHTTP3ZeroLossAcrossRestartsAndReloads: HTTP/3 clients see no failed
// request while edge restarts (SIGTERM drains with GOAWAY, the next edge
// takes the same UDP socket) and reloads.
func TestHTTP3ZeroLossAcrossRestartsAndReloads(t *testing.T) {
	restarts, reloads := 5, 20
	if v := os.Getenv("E2E_RESTARTS"); v != "" {
		fmt.Sscan(v, &restarts)
	}
	a := newH3Activator(t)
	a.start()
	res := &loadResult{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	runH3Load(t, a.e, stop, res, &wg)
	for range restarts {
		res.waitProgress(t, 30)
		a.stop()
		a.start()
	}
	for range reloads {
		res.waitProgress(t, 10)
		if err := a.proc.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		a.expect("RELOADING=1", 5*time.Second)
		a.expect("READY=1", 5*time.Second)
	}
	res.waitProgress(t, 10)
	close(stop)
	wg.Wait()
	a.stop()
	t.Logf("HTTP/3 zero-loss: %d restarts, %d reloads, %d requests answered, %d failed",
		restarts, reloads, res.ok.Load(), res.failed.Load())
	if res.failed.Load() != 0 {
		t.Errorf("%d of %d HTTP/3 requests failed; first: %q", res.failed.Load(), res.ok.Load()+res.failed.Load(), res.firstErrs)
	}
}
