// Command tlsload is the full-handshake load generator of bench/run.sh: every
// request opens a new TCP connection and a new TLS session (no session
// cache, no tickets, so no resumption), sends one GET with
// "Connection: close", reads the response and closes. wrk cannot be told to
// skip resumption, hence this program.
//
//	tlsload -addr 127.0.0.1:8443 -sni localhost -cacert cert.pem -c 50 -d 10s
//
// Before the load it makes one fully verified request (-cacert, -sni) and
// remembers the server's leaf certificate; under load the chain is not built
// again (that would measure the client), but every handshake must present
// the same leaf. It prints one line of key=value pairs: handshakes (= requests)
// per second, latency percentiles of the whole request (connect, handshake,
// request, response), errors, the negotiated version, key exchange and
// cipher, and client_cpu, the CPU time this process used divided by the wall
// time (near 1 with GOMAXPROCS=1 means the client, not the server, was the
// limit).
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:8443", "host:port to dial")
	flag.StringVar(&o.sni, "sni", "localhost", "TLS server name (SNI) and Host header")
	flag.StringVar(&o.path, "path", "/", "request path")
	flag.StringVar(&o.cacert, "cacert", "", "PEM file of the CA (or self-signed certificate) to verify the first handshake against (required)")
	flag.StringVar(&o.curves, "curves", "x25519", `key exchanges the client offers, comma-separated (x25519mlkem768, x25519, p256), or "default" for Go's defaults`)
	flag.IntVar(&o.conns, "c", 50, "concurrent connections")
	flag.DurationVar(&o.duration, "d", 10*time.Second, "measured duration")
	flag.DurationVar(&o.warmup, "warmup", 0, "unmeasured load before the measured run")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Second, "per-request timeout")
	flag.Parse()
	line, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlsload:", err)
		os.Exit(1)
	}
	fmt.Println(line)
}

type options struct {
	addr, sni, path, cacert, curves string
	conns                           int
	duration, warmup, timeout       time.Duration
}

func run(o options) (string, error) {
	if o.cacert == "" {
		return "", errors.New("-cacert is required")
	}
	if o.conns < 1 || o.duration <= 0 {
		return "", errors.New("-c must be >= 1 and -d > 0")
	}
	curves, err := parseCurves(o.curves)
	if err != nil {
		return "", err
	}
	pem, err := os.ReadFile(o.cacert)
	if err != nil {
		return "", err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return "", fmt.Errorf("%s: no PEM certificate", o.cacert)
	}
	base := &tls.Config{
		ServerName:             o.sni,
		MinVersion:             tls.VersionTLS12,
		CurvePreferences:       curves,
		ClientSessionCache:     nil,
		SessionTicketsDisabled: true,
	}

	// One fully verified request first.
	first := base.Clone()
	first.RootCAs = roots
	c := &client{o: o, cfg: first}
	res := c.do()
	if res.err != nil {
		return "", fmt.Errorf("first request to %s (SNI %s): %w", o.addr, o.sni, res.err)
	}
	if res.status != http.StatusOK {
		return "", fmt.Errorf("first request to %s%s: HTTP %d, want 200", o.addr, o.path, res.status)
	}
	st := res.state
	leaf := st.PeerCertificates[0].Raw

	load := base.Clone()
	load.InsecureSkipVerify = true // verified above; only the leaf is compared below
	load.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, leaf) {
			return errors.New("server presented a different certificate than on the first request")
		}
		return nil
	}
	c = &client{o: o, cfg: load}
	if o.warmup > 0 {
		c.load(o.warmup)
	}
	cpu0 := cpuTime()
	s := c.load(o.duration)
	cpu := cpuTime() - cpu0

	secs := s.wall.Seconds()
	lat := s.latencies
	slices.Sort(lat)
	return fmt.Sprintf("requests=%d errors=%d non200=%d seconds=%.2f handshakes_per_sec=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f bytes=%d version=%s curve=%s cipher=%s client_cpu=%.2f first_error=%q",
		len(lat), s.errors, s.non200, secs, float64(len(lat))/secs,
		ms(pct(lat, 50)), ms(pct(lat, 99)), ms(pct(lat, 100)), res.bytes,
		strings.ReplaceAll(tls.VersionName(st.Version), " ", ""), st.CurveID, tls.CipherSuiteName(st.CipherSuite),
		cpu.Seconds()/secs, s.firstErr), nil
}

func parseCurves(s string) ([]tls.CurveID, error) {
	if s == "default" {
		return nil, nil
	}
	names := map[string]tls.CurveID{"x25519mlkem768": tls.X25519MLKEM768, "x25519": tls.X25519, "p256": tls.CurveP256, "p384": tls.CurveP384}
	var out []tls.CurveID
	for _, n := range strings.Split(s, ",") {
		id, ok := names[strings.ToLower(strings.TrimSpace(n))]
		if !ok {
			return nil, fmt.Errorf("-curves: unknown %q", n)
		}
		out = append(out, id)
	}
	return out, nil
}

type client struct {
	o   options
	cfg *tls.Config
}

type result struct {
	status int
	bytes  int64
	state  tls.ConnectionState
	err    error
}

// do makes one request on a new connection with a new TLS session.
func (c *client) do() (r result) {
	deadline := time.Now().Add(c.o.timeout)
	conn, err := net.DialTimeout("tcp", c.o.addr, c.o.timeout)
	if err != nil {
		return result{err: err}
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline)
	tc := tls.Client(conn, c.cfg)
	if err := tc.Handshake(); err != nil {
		return result{err: fmt.Errorf("handshake: %w", err)}
	}
	if _, err := fmt.Fprintf(tc, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tlsload\r\nConnection: close\r\n\r\n", c.o.path, c.o.sni); err != nil {
		return result{err: err}
	}
	resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
	if err != nil {
		return result{err: fmt.Errorf("read response: %w", err)}
	}
	n, err := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return result{err: fmt.Errorf("read body: %w", err)}
	}
	return result{status: resp.StatusCode, bytes: n, state: tc.ConnectionState()}
}

type stats struct {
	latencies []time.Duration
	errors    int
	non200    int
	firstErr  string
	wall      time.Duration
}

// load runs c.o.conns loops of requests for d; requests still running at the
// end are not counted.
func (c *client) load(d time.Duration) stats {
	var (
		mu  sync.Mutex
		all stats
		wg  sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(d)
	for range c.o.conns {
		wg.Go(func() {
			var s stats
			for {
				t0 := time.Now()
				if !t0.Before(end) {
					break
				}
				r := c.do()
				t1 := time.Now()
				if t1.After(end) {
					break
				}
				switch {
				case r.err != nil:
					s.errors++
					if s.firstErr == "" {
						s.firstErr = r.err.Error()
					}
				case r.status != http.StatusOK:
					s.non200++
				default:
					s.latencies = append(s.latencies, t1.Sub(t0))
				}
			}
			mu.Lock()
			all.latencies = append(all.latencies, s.latencies...)
			all.errors += s.errors
			all.non200 += s.non200
			if all.firstErr == "" {
				all.firstErr = s.firstErr
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	all.wall = d
	return all
}

// pct returns the p-th percentile (nearest rank) of sorted latencies.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
