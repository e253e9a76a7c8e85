package preflight

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/gitcourse/edge/config"
)

// httpClient trusts the system roots plus tls.acme_ca_root.
func httpClient(cfg *config.Config, timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.TLS.ACMECARoot != "" {
		if pem, err := os.ReadFile(cfg.TLS.ACMECARoot); err == nil {
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			pool.AppendCertsFromPEM(pem)
			tr.TLSClientConfig = &tls.Config{RootCAs: pool}
		}
	}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// checkPorts wants 80 and 443 to accept connections on the addresses DNS
// gives, as clients and the ACME CA will connect. Nothing listening on
// this host at all is a warning: edge may not run yet.
func (p *runner) checkPorts(ctx context.Context) []Result {
	var out []Result
	probed := map[netip.AddrPort]bool{}
	for _, d := range p.cfg.Site.Domains {
		for _, a := range p.addrs[d] {
			for _, port := range []int{p.opts.HTTPPort, p.opts.HTTPSPort} {
				ap := netip.AddrPortFrom(a, uint16(port))
				if probed[ap] {
					continue
				}
				probed[ap] = true
				out = append(out, p.probe(ctx, d, ap))
			}
		}
	}
	if len(out) == 0 {
		out = append(out, result("ports", Skip, "", "no domain resolved, so no address to probe"))
	}
	return out
}

func (p *runner) probe(ctx context.Context, domain string, ap netip.AddrPort) Result {
	if err := dial(ctx, ap.String(), p.opts.Timeout); err == nil {
		return result("ports", Pass, "", "%s (%s) accepts connections", ap, domain)
	}
	local := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ap.Port())))
	if err := dial(ctx, local, p.opts.Timeout); err != nil {
		return result("ports", Warn, "start edge (sudo systemctl start edge-http.socket edge-https.socket), then run edge preflight again",
			"nothing listens on port %d on this host yet", ap.Port())
	}
	return result("ports", Fail, fmt.Sprintf("open port %d/tcp in the firewall (deploy/firewall) and the provider's security group", ap.Port()),
		"%s (%s) does not accept connections, though this host listens on port %d", ap, domain, ap.Port())
}

func dial(ctx context.Context, addr string, timeout time.Duration) error {
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		c.Close()
	}
	return err
}

// checkACME wants the ACME directory to answer with a newAccount URL, and
// says whether an account is stored.
func (p *runner) checkACME(ctx context.Context) []Result {
	if p.cfg.TLS.Internal {
		return []Result{result("acme", Skip, "", "certificates come from edge's internal CA (tls.internal)")}
	}
	dir := p.cfg.TLS.ACMECA
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, dir, nil)
	if err != nil {
		return []Result{result("acme", Fail, "fix tls.acme_ca", "tls.acme_ca %q: %v", dir, err)}
	}
	resp, err := p.opts.HTTPClient.Do(req)
	if err != nil {
		return []Result{result("acme", Fail, "check outgoing HTTPS from this host (firewall, proxy), and tls.acme_ca_root for a private CA",
			"ACME directory %s: %v", dir, err)}
	}
	defer resp.Body.Close()
	var d struct {
		NewAccount string `json:"newAccount"`
		NewOrder   string `json:"newOrder"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &d) != nil || d.NewAccount == "" || d.NewOrder == "" {
		return []Result{result("acme", Fail, "check tls.acme_ca: it must be an ACME directory URL",
			"ACME directory %s: %s, not an ACME directory", dir, resp.Status)}
	}
	if p.cfg.TLS.Email == "" {
		return []Result{result("acme", Warn, "set tls.email: the CA writes there before certificates expire",
			"ACME directory %s answers; no tls.email for the account", dir)}
	}
	return []Result{result("acme", Pass, "", "ACME directory %s answers; the account (%s) is registered at edge's first start", dir, p.cfg.TLS.Email)}
}

// checkUpstreams wants each upstream of each route to pass its health
// path (2xx or 3xx), as edge's own probes will.
func (p *runner) checkUpstreams(ctx context.Context) []Result {
	var out []Result
	for _, r := range p.cfg.Routes {
		path := r.Health.Path
		if path == "" {
			path = "/"
		}
		for _, u := range r.Upstreams {
			out = append(out, p.upstream(ctx, r.Path, u, path))
		}
	}
	if len(out) == 0 {
		out = append(out, result("upstream", Skip, "", "no [[route]]"))
	}
	return out
}

func (p *runner) upstream(ctx context.Context, route, upstream, path string) Result {
	url := "http://" + upstream + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return result("upstream", Fail, "fix the route's upstreams", "route %s: %s: %v", route, url, err)
	}
	resp, err := p.opts.HTTPClient.Do(req)
	if err != nil {
		return result("upstream", Fail, "start the API (sudo systemctl start gitcourse-api.service) and check its port",
			"route %s: %s: %v", route, url, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return result("upstream", Fail, "see the API's log: journalctl -u gitcourse-api -n 50", "route %s: %s answers %s", route, url, resp.Status)
	}
	return result("upstream", Pass, "", "route %s: %s answers %s", route, url, resp.Status)
}
