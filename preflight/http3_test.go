package preflight

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"good.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestHTTP3Reachability: a QUIC server on the DNS address passes; a DNS
// address where only this host's loopback answers fails with the
// firewall fix; a port nobody answers on is a warning; low UDP buffer
// limits are a warning with the sysctl file.
func TestHTTP3Reachability(t *testing.T) {
	ln, err := quic.ListenAddr("127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}, NextProtos: []string{"h3"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept(context.Background())
			if err != nil {
				return
			}
			_ = c.CloseWithError(0, "")
		}
	}()
	procSys := t.TempDir()
	if err := os.MkdirAll(filepath.Join(procSys, "net", "core"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"rmem_max": "212992\n", "wmem_max": "7500000\n"} {
		if err := os.WriteFile(filepath.Join(procSys, "net", "core", name), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := testConfig(t, "[site]\ndomains = [\"good.test\", \"other.test\"]\nroot = \"/nonexistent\"\n")
	port := ln.Addr().(interface{ AddrPort() netip.AddrPort }).AddrPort().Port()
	p := newRunner(t, cfg, Options{HTTPSPort: int(port), ProcSys: procSys})
	p.opts.Timeout = 500 * time.Millisecond
	p.addrs = map[string][]netip.Addr{"good.test": {netip.MustParseAddr("127.0.0.1")}, "other.test": {netip.MustParseAddr("127.0.0.2")}}
	got := p.checkHTTP3(context.Background())
	want(t, got, Pass, "127.0.0.1:"+itoa(int(port))+" (good.test) answers QUIC")
	want(t, got, Fail, "127.0.0.2:"+itoa(int(port))+" (other.test) does not answer QUIC on UDP")
	want(t, got, Warn, "UDP buffer limits too low for HTTP/3 (net.core.rmem_max=212992;")

	ln.Close()
	p.addrs = map[string][]netip.Addr{"good.test": {netip.MustParseAddr("127.0.0.1")}}
	want(t, p.checkHTTP3(context.Background()), Warn, "nothing answers QUIC on UDP port "+itoa(int(port)))

	off := testConfig(t, "[server]\nhttp3 = false\n[site]\ndomains = [\"good.test\"]\nroot = \"/nonexistent\"\n")
	want(t, newRunner(t, off, Options{}).checkHTTP3(context.Background()), Skip, "server.http3 is off")
}
