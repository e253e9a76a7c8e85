package preflight

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/quic-go/quic-go"
)

// quicBufferSize is the UDP buffer quic-go asks for; Linux grants up to
// twice net.core.rmem_max (wmem_max) and reports the doubled size.
const quicBufferSize = 7 << 20

// checkHTTP3 wants QUIC to answer on UDP at the HTTPS port of the
// addresses DNS gives, and the kernel's UDP buffer limits to allow what
// quic-go asks for. It applies when server.http3 is on.
func (p *runner) checkHTTP3(ctx context.Context) []Result {
	if !p.cfg.Server.HTTP3Enabled() {
		return []Result{result("http3", Skip, "", "server.http3 is off")}
	}
	out := []Result{udpBufferResult(p.opts.ProcSys)}
	probed := map[netip.AddrPort]bool{}
	for _, d := range p.cfg.Site.Domains {
		for _, a := range p.addrs[d] {
			ap := netip.AddrPortFrom(a, uint16(p.opts.HTTPSPort))
			if !probed[ap] {
				probed[ap] = true
				out = append(out, p.probeQUIC(ctx, d, ap))
			}
		}
	}
	return out
}

// probeQUIC runs a QUIC handshake with ALPN h3 to ap. Any answer from a
// QUIC server counts, even a refused certificate (it may not be issued
// yet): the point is that UDP gets through.
func (p *runner) probeQUIC(ctx context.Context, domain string, ap netip.AddrPort) Result {
	if quicAnswers(ctx, ap.String(), domain, p.opts.Timeout) {
		return result("http3", Pass, "", "%s (%s) answers QUIC (HTTP/3) on UDP", ap, domain)
	}
	local := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ap.Port())))
	if ap.Addr() == netip.MustParseAddr("127.0.0.1") || !quicAnswers(ctx, local, domain, p.opts.Timeout) {
		return result("http3", Warn, "start edge with edge-h3.socket (sudo systemctl start edge-h3.socket edge.service), then run edge preflight again",
			"nothing answers QUIC on UDP port %d on this host yet", ap.Port())
	}
	return result("http3", Fail, fmt.Sprintf("open port %d/udp in the firewall (deploy/firewall) and the provider's security group; browsers fall back to HTTP/2 meanwhile", ap.Port()),
		"%s (%s) does not answer QUIC on UDP, though this host does on port %d", ap, domain, ap.Port())
}

func quicAnswers(ctx context.Context, addr, sni string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := quic.DialAddr(ctx, addr, &tls.Config{ServerName: sni, NextProtos: []string{"h3"}, InsecureSkipVerify: true}, &quic.Config{}) //nolint:gosec // a reachability probe; certificates are checked elsewhere
	if err == nil {
		_ = conn.CloseWithError(0, "")
		return true
	}
	var te *quic.TransportError
	return errors.As(err, &te) && te.Remote
}

// udpBufferResult reads net.core.rmem_max and wmem_max under procSys.
func udpBufferResult(procSys string) Result {
	var low []string
	for _, name := range []string{"rmem_max", "wmem_max"} {
		b, err := os.ReadFile(procSys + "/net/core/" + name)
		if err != nil {
			return result("http3", Skip, "", "UDP buffer limits not read: %v", err)
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return result("http3", Skip, "", "UDP buffer limits not read: net.core.%s is %q", name, strings.TrimSpace(string(b)))
		}
		if 2*n < quicBufferSize {
			low = append(low, fmt.Sprintf("net.core.%s=%d", name, n))
		}
	}
	if len(low) > 0 {
		return result("http3", Warn, "sudo install -m 0644 deploy/sysctl/60-edge.conf /etc/sysctl.d/ && sudo sysctl -p /etc/sysctl.d/60-edge.conf",
			"UDP buffer limits too low for HTTP/3 (%s; QUIC wants 7 MiB per socket)", strings.Join(low, ", "))
	}
	return result("http3", Pass, "", "UDP buffer limits allow the 7 MiB HTTP/3 (QUIC) asks for")
}
