// Command h3load is the keep-alive load generator of bench/h3.sh for
// HTTP/3 and, for the comparison on the same terms, HTTP/2: -conns
// connections opened once, -c workers sending GETs over them (requests
// multiplexed as streams), for -d after -warmup.
//
//	h3load -proto h3 -addr 127.0.0.1:8443 -sni localhost -cacert cert.pem -c 50 -conns 10 -d 10s -pid 1234
//
// Every response must be 200 with the body size of the first (verified)
// one. With -pid it also reads the server's CPU time (utime+stime of
// /proc/PID/stat) before and after the measured run and prints the server
// CPU per request. It prints one line of key=value pairs: requests per
// second, latency percentiles, errors, server_cpu_us_per_req, and
// client_cpu, this process's CPU time divided by the wall time (near the
// number of CPUs it may use means the client, not the server, was the
// limit).
package main

import (
	"context"
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

type options struct {
	proto, addr, sni, path, cacert string
	workers, conns, pid            int
	duration, warmup               time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.proto, "proto", "h3", "h3 (QUIC) or h2 (TLS over TCP)")
	flag.StringVar(&o.addr, "addr", "127.0.0.1:8443", "host:port to dial (UDP for h3, TCP for h2)")
	flag.StringVar(&o.sni, "sni", "localhost", "TLS server name and Host")
	flag.StringVar(&o.path, "path", "/", "request path")
	flag.StringVar(&o.cacert, "cacert", "", "PEM file of the CA to verify the server against (required)")
	flag.IntVar(&o.workers, "c", 50, "concurrent requests")
	flag.IntVar(&o.conns, "conns", 10, "connections the requests are spread over")
	flag.IntVar(&o.pid, "pid", 0, "server process whose CPU time is measured (0: none)")
	flag.DurationVar(&o.duration, "d", 10*time.Second, "measured duration")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured load before the measured run")
	flag.Parse()
	line, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "h3load:", err)
		os.Exit(1)
	}
	fmt.Println(line)
}

func run(o options) (string, error) {
	if o.cacert == "" || o.workers < 1 || o.conns < 1 || o.duration <= 0 {
		return "", errors.New("-cacert is required; -c and -conns must be >= 1, -d > 0")
	}
	pem, err := os.ReadFile(o.cacert)
	if err != nil {
		return "", err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return "", fmt.Errorf("no certificate in %s", o.cacert)
	}
	clients := make([]*http.Client, o.conns)
	for i := range clients {
		clients[i] = newClient(o, roots)
	}
	url := "https://" + o.sni + o.path
	size, err := first(clients[0], url, o.proto)
	if err != nil {
		return "", err
	}
	if o.warmup > 0 {
		load(clients, url, size, o.workers, o.warmup)
	}
	cpu0, err := serverCPU(o.pid)
	if err != nil {
		return "", err
	}
	self0, start := selfCPU(), time.Now()
	res := load(clients, url, size, o.workers, o.duration)
	wall := time.Since(start)
	self1 := selfCPU()
	cpu1, err := serverCPU(o.pid)
	if err != nil {
		return "", err
	}
	return res.line(o, wall, cpu1-cpu0, self1-self0), nil
}

// newClient returns a client with its own connection (HTTP/3: its own
// QUIC connection; HTTP/2: one TCP connection) to o.addr.
func newClient(o options, roots *x509.CertPool) *http.Client {
	tlsCfg := &tls.Config{RootCAs: roots, ServerName: o.sni}
	if o.proto == "h3" {
		return &http.Client{Transport: &http3.Transport{
			TLSClientConfig: tlsCfg,
			QUICConfig:      &quic.Config{},
			Dial: func(ctx context.Context, _ string, tc *tls.Config, qc *quic.Config) (*quic.Conn, error) {
				return quic.DialAddrEarly(ctx, o.addr, tc, qc)
			},
		}, Timeout: 10 * time.Second}
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:   tlsCfg,
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", o.addr)
		},
		DisableCompression: true,
	}, Timeout: 10 * time.Second}
}

// first makes one request and returns the body size later answers must
// match.
func first(c *http.Client, url, proto string) (int64, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, fmt.Errorf("first request: %w", err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("first request: %s (%v)", resp.Status, err)
	}
	if want := map[string]int{"h2": 2, "h3": 3}[proto]; resp.ProtoMajor != want {
		return 0, fmt.Errorf("first request spoke %s, want %s", resp.Proto, proto)
	}
	return n, nil
}

type result struct {
	ok, errs  atomic.Int64
	mu        sync.Mutex
	latencies []time.Duration
	firstErr  string
}

// load runs workers for d, each on clients[i % len(clients)].
func load(clients []*http.Client, url string, size int64, workers int, d time.Duration) *result {
	res := &result{}
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := range workers {
		c := clients[i%len(clients)]
		wg.Go(func() {
			var lat []time.Duration
			for time.Now().Before(deadline) {
				t0 := time.Now()
				err := get(c, url, size)
				if err != nil {
					res.errs.Add(1)
					res.mu.Lock()
					if res.firstErr == "" {
						res.firstErr = err.Error()
					}
					res.mu.Unlock()
					continue
				}
				lat = append(lat, time.Since(t0))
				res.ok.Add(1)
			}
			res.mu.Lock()
			res.latencies = append(res.latencies, lat...)
			res.mu.Unlock()
		})
	}
	wg.Wait()
	return res
}

func get(c *http.Client, url string, size int64) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || n != size {
		return fmt.Errorf("%s, %d bytes (want %d): %v", resp.Status, n, size, err)
	}
	return nil
}

func (r *result) line(o options, wall, server, self time.Duration) string {
	slices.Sort(r.latencies)
	pct := func(p float64) string {
		if len(r.latencies) == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f", float64(r.latencies[int(p*float64(len(r.latencies)-1))].Microseconds())/1000)
	}
	ok := r.ok.Load()
	perReq := "n/a"
	if o.pid != 0 && ok > 0 {
		perReq = fmt.Sprintf("%.1f", float64(server.Microseconds())/float64(ok))
	}
	s := fmt.Sprintf("proto=%s rps=%.0f requests=%d errors=%d p50_ms=%s p99_ms=%s server_cpu_us_per_req=%s client_cpu=%.2f",
		o.proto, float64(ok)/wall.Seconds(), ok, r.errs.Load(), pct(0.50), pct(0.99), perReq, self.Seconds()/wall.Seconds())
	if r.firstErr != "" {
		s += " first_error=" + strconv.Quote(r.firstErr)
	}
	return s
}

// serverCPU is utime+stime of pid from /proc (0 when pid is 0).
func serverCPU(pid int) (time.Duration, error) {
	if pid == 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read server CPU: %w", err)
	}
	// Fields after the ")" that ends the command name; utime, stime are 14, 15.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / ticks, nil
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
