package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCA writes srv's certificate as a PEM CA file.
func writeCA(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	block := &pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}
	if err := os.WriteFile(ca, pem.EncodeToMemory(block), 0o644); err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestRunAgainstTLSServer(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("hello"))
	}))
	defer srv.Close()
	line, err := run(options{
		addr: srv.Listener.Addr().String(), sni: "example.com", path: "/", cacert: writeCA(t, srv),
		curves: "x25519,p256", conns: 4, duration: 300 * time.Millisecond, timeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"errors=0", "non200=0", "bytes=5", "version=TLS1.3", "curve=X25519"} {
		if !strings.Contains(line, want) {
			t.Errorf("output %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "requests=0 ") {
		t.Errorf("no requests: %s", line)
	}
}

func TestRunRefusesUntrustedCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	// A CA file with another self-signed certificate for the same name.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "other.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = run(options{addr: srv.Listener.Addr().String(), sni: "example.com", path: "/", cacert: ca,
		curves: "default", conns: 1, duration: time.Second, timeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate verification error", err)
	}
}

func TestRunWants200(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	_, err := run(options{addr: srv.Listener.Addr().String(), sni: "example.com", path: "/", cacert: writeCA(t, srv),
		curves: "default", conns: 1, duration: time.Second, timeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Fatalf("err = %v, want HTTP 404", err)
	}
}

func TestPct(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	if got := pct(lat, 99); got != 99*time.Millisecond {
		t.Errorf("p99 = %v", got)
	}
	if got := pct(lat, 50); got != 50*time.Millisecond {
		t.Errorf("p50 = %v", got)
	}
	if got := pct(nil, 99); got != 0 {
		t.Errorf("empty p99 = %v", got)
	}
}

func TestParseCurves(t *testing.T) {
	if c, err := parseCurves("default"); err != nil || c != nil {
		t.Errorf("default: %v %v", c, err)
	}
	if c, err := parseCurves("x25519, p256"); err != nil || len(c) != 2 {
		t.Errorf("x25519, p256: %v %v", c, err)
	}
	if _, err := parseCurves("x448"); err == nil {
		t.Error("x448: want an error")
	}
}
