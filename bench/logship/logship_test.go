// Package logship_test measures what [logs] costs: CPU per access line on
// the request path with and without shipping, and how fast a spool is
// replayed. The collector is this test binary run again as a TLS sink in
// its own process, so its CPU is not counted.
//
//	go test ./bench/logship -run '^$' -bench . -benchtime 200000x
//	REPLAY_MB=1000 go test ./bench/logship -run '^$' -bench Replay -benchtime 1x
package logship_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitcourse/edge/accesslog"
	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/logging"
	"github.com/gitcourse/edge/logship"
)

func TestMain(m *testing.M) {
	if os.Getenv("LOGSHIP_SINK_CERT") != "" {
		runSink()
		return
	}
	os.Exit(m.Run())
}

// runSink accepts TLS connections and discards what they send; it prints
// its address and runs until stdin closes.
func runSink() {
	cert, err := tls.LoadX509KeyPair(os.Getenv("LOGSHIP_SINK_CERT"), os.Getenv("LOGSHIP_SINK_KEY"))
	if err != nil {
		panic(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		panic(err)
	}
	fmt.Println(ln.Addr().String())
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// startSink runs the sink process and returns its address and CA file.
func startSink(b *testing.B) (addr, caFile string) {
	b.Helper()
	dir := b.TempDir()
	certFile, keyFile := selfSigned(b, dir)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "LOGSHIP_SINK_CERT="+certFile, "LOGSHIP_SINK_KEY="+keyFile)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("sink: %v", err)
	}
	return strings.TrimSpace(line), certFile
}

func selfSigned(b *testing.B, dir string) (certFile, keyFile string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sink"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		b.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

func newShipper(b *testing.B, dir, addr, caFile string, spool int64) *logship.Shipper {
	cfg := &config.Logs{Remote: "tls://" + addr, CAFile: caFile, MinLevel: "info"}
	cfg.Spool.Bytes = spool
	s, err := logship.New(cfg, logship.Options{StateDir: dir, Hostname: "bench", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAccessLine: one request through the access log middleware
// (journald JSON output to a discarded writer), without and with [logs]
// shipping the line over TLS. cpu-ns/op is the process CPU per request,
// the sender goroutine included (it is waited for).
func BenchmarkAccessLine(b *testing.B) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	journal := logging.NewHandler(io.Discard, nil)
	b.Run("without-logs", func(b *testing.B) {
		serve(b, accesslog.Middleware(slog.New(journal).With("component", "access"), nil)(ok), nil)
	})
	b.Run("with-logs", func(b *testing.B) {
		addr, ca := startSink(b)
		s := newShipper(b, b.TempDir(), addr, ca, 64e6)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		defer func() { cancel(); s.CloseInput(); <-done; _ = s.Close() }()
		log := slog.New(logging.NewTeeHandler(io.Discard, s.AccessWriter(), nil)).With("component", "access")
		serve(b, accesslog.Middleware(log, nil)(ok), func(n int) {
			deadline := time.Now().Add(time.Minute)
			for s.Stats().Shipped < uint64(n) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if got := s.Stats().Shipped; got < uint64(n) {
				b.Fatalf("shipped %d of %d lines", got, n)
			}
		})
	})
}

// serve runs b.N requests through h, then wait (the shipper's catch-up),
// and reports the process CPU per request.
func serve(b *testing.B, h http.Handler, wait func(n int)) {
	r := httptest.NewRequest("GET", "http://edge.test/assets/app-3f9a1c.js", nil)
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36")
	w := httptest.NewRecorder()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		h.ServeHTTP(w, r)
	}
	if wait != nil {
		wait(b.N)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkSpoolReplay fills a spool of REPLAY_MB (default 64) while the
// collector is away, then measures sending it all once the collector is
// there: MB/s of spool replayed.
func BenchmarkSpoolReplay(b *testing.B) {
	mb := 64
	if v, err := strconv.Atoi(os.Getenv("REPLAY_MB")); err == nil && v > 0 {
		mb = v
	}
	addr, ca := startSink(b)
	dir := b.TempDir()
	line := []byte(`{"time":"2026-12-06T15:00:00.000000Z","level":"INFO","msg":"request","component":"access","request_id":"01JEXAMPLE0000000000000000","client_ip":"203.0.113.7","method":"GET","host":"edge.test","path":"/assets/app-3f9a1c.js","status":200,"bytes":204800,"duration_ms":0.412,"route":"static","proto":"HTTP/2.0","user_agent":"Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0"}` + "\n")
	for range b.N {
		b.StopTimer()
		fill := newShipper(b, dir, "127.0.0.1:1", "", int64(mb)<<21) // nothing listens on port 1
		for written := 0; written < mb<<20; written += len(line) + 100 {
			fill.Write(logship.Access, line)
		}
		_ = fill.Close()
		s := newShipper(b, dir, addr, ca, int64(mb)<<21)
		spooled := s.Stats().SpooledBytes
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		b.StartTimer()
		start := time.Now()
		go func() { done <- s.Run(ctx) }()
		for s.Stats().SpooledBytes > 0 && time.Since(start) < 5*time.Minute {
			time.Sleep(time.Millisecond)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		cancel()
		s.CloseInput()
		<-done
		_ = s.Close()
		if s.Stats().SpooledBytes != 0 {
			b.Fatalf("spool not drained after %s", elapsed)
		}
		b.ReportMetric(float64(spooled)/1e6/elapsed.Seconds(), "MB/s")
		b.ReportMetric(float64(spooled)/1e6, "MB")
	}
}
