package preflight

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// resolver returns the DNS server to ask.
func (p *runner) resolver() (string, error) {
	if p.opts.Resolver != "" {
		return p.opts.Resolver, nil
	}
	conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil || len(conf.Servers) == 0 {
		return "", fmt.Errorf("no nameserver in /etc/resolv.conf (fix: pass -resolver HOST:PORT): %v", err)
	}
	return net.JoinHostPort(conf.Servers[0], conf.Port), nil
}

// query asks the resolver for name's records of type qtype, following
// nothing itself (the resolver recurses).
func (p *runner) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	server, err := p.resolver()
	if err != nil {
		return nil, err
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	c := &dns.Client{Timeout: p.opts.Timeout}
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	in, _, err := c.ExchangeContext(ctx, m, server)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, m, server)
	}
	if err != nil {
		return nil, fmt.Errorf("ask %s for %s %s: %w", server, name, dns.TypeToString[qtype], err)
	}
	if in.Rcode != dns.RcodeSuccess && in.Rcode != dns.RcodeNameError {
		return nil, fmt.Errorf("ask %s for %s %s: %s", server, name, dns.TypeToString[qtype], dns.RcodeToString[in.Rcode])
	}
	return in.Answer, nil
}

// hostAddrs are this host's addresses: Options.PublicIPs, else the global
// unicast addresses of its interfaces.
func (p *runner) hostAddrs() []netip.Addr {
	if len(p.opts.PublicIPs) > 0 {
		return p.opts.PublicIPs
	}
	var out []netip.Addr
	ifaddrs, _ := net.InterfaceAddrs()
	for _, a := range ifaddrs {
		if pfx, err := netip.ParsePrefix(a.String()); err == nil && pfx.Addr().IsGlobalUnicast() {
			out = append(out, pfx.Addr().Unmap())
		}
	}
	return out
}

// skipDomain reports why a domain has no public DNS to check, or "".
func skipDomain(d string) string {
	switch {
	case strings.HasPrefix(d, "*."):
		return "a wildcard name"
	case d == "localhost" || strings.HasSuffix(d, ".localhost"):
		return "a local name"
	}
	if ip, err := netip.ParseAddr(d); err == nil && ip.IsLoopback() {
		return "a loopback address"
	}
	return ""
}

// checkDNS wants every A/AAAA record of each domain to be this host.
func (p *runner) checkDNS(ctx context.Context) []Result {
	p.addrs = map[string][]netip.Addr{}
	mine := p.hostAddrs()
	var out []Result
	for _, d := range p.cfg.Site.Domains {
		if why := skipDomain(d); why != "" {
			out = append(out, result("dns", Skip, "", "%s: %s, not checked", d, why))
			continue
		}
		addrs, err := p.lookup(ctx, d)
		if err != nil {
			out = append(out, result("dns", Fail, "check -resolver and the network", "%s: %v", d, err))
			continue
		}
		for _, a := range addrs { // probed by checkPorts: the ones that are this host
			if slices.Contains(mine, a) {
				p.addrs[d] = append(p.addrs[d], a)
			}
		}
		out = append(out, judgeAddrs(d, addrs, mine))
	}
	return out
}

func (p *runner) lookup(ctx context.Context, d string) ([]netip.Addr, error) {
	var addrs []netip.Addr
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, err := p.query(ctx, d, qt)
		if err != nil {
			return nil, err
		}
		for _, rr := range rrs {
			switch r := rr.(type) {
			case *dns.A:
				addrs = append(addrs, netip.AddrFrom4([4]byte(r.A.To4())))
			case *dns.AAAA:
				addrs = append(addrs, netip.AddrFrom16([16]byte(r.AAAA.To16())))
			}
		}
	}
	return addrs, nil
}

func judgeAddrs(d string, addrs, mine []netip.Addr) Result {
	fix := fmt.Sprintf("point the A/AAAA records of %s at %s (or pass -public-ip behind NAT)", d, joinAddrs(mine))
	if len(addrs) == 0 {
		return result("dns", Fail, fix, "%s has no A or AAAA record", d)
	}
	var here, elsewhere []netip.Addr
	for _, a := range addrs {
		if slices.Contains(mine, a) {
			here = append(here, a)
		} else {
			elsewhere = append(elsewhere, a)
		}
	}
	switch {
	case len(here) == 0:
		return result("dns", Fail, fix, "%s points at %s, not at this host (%s)", d, joinAddrs(addrs), joinAddrs(mine))
	case len(elsewhere) > 0:
		return result("dns", Warn, "remove the records that are not this host, unless another edge serves them",
			"%s points at this host (%s) and elsewhere (%s)", d, joinAddrs(here), joinAddrs(elsewhere))
	}
	return result("dns", Pass, "", "%s points at this host (%s)", d, joinAddrs(here))
}

func joinAddrs(as []netip.Addr) string {
	if len(as) == 0 {
		return "no address found"
	}
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// caIdentities maps ACME directory hosts to the name CAs publish for CAA
// (RFC 8659 "issuer domain names").
var caIdentities = map[string]string{
	"acme-v02.api.letsencrypt.org":         "letsencrypt.org",
	"acme-staging-v02.api.letsencrypt.org": "letsencrypt.org",
	"acme.zerossl.com":                     "sectigo.com",
	"dv.acme-v02.api.pki.goog":             "pki.goog",
	"dv.acme-v02.test-api.pki.goog":        "pki.goog",
	"api.buypass.com":                      "buypass.com",
	"api.test4.buypass.no":                 "buypass.com",
}

// errNoCAA means no CAA record up the tree: any CA may issue.
var errNoCAA = errors.New("no CAA record")

// checkCAA wants the CAA records of each domain (the closest set up the
// tree) to allow the configured ACME CA.
func (p *runner) checkCAA(ctx context.Context) []Result {
	if p.cfg.TLS.Internal {
		return []Result{result("caa", Skip, "", "certificates come from edge's internal CA (tls.internal)")}
	}
	u, err := url.Parse(p.cfg.TLS.ACMECA)
	if err != nil || u.Host == "" {
		return []Result{result("caa", Skip, "", "tls.acme_ca %q is not a URL", p.cfg.TLS.ACMECA)}
	}
	ident := caIdentities[u.Hostname()]
	var out []Result
	for _, d := range p.cfg.Site.Domains {
		if why := skipDomain(d); why != "" && !strings.HasPrefix(d, "*.") {
			continue
		}
		owner, values, err := p.caa(ctx, d)
		switch {
		case errors.Is(err, errNoCAA):
			out = append(out, result("caa", Pass, "", "%s: no CAA record, any CA may issue", d))
		case err != nil:
			out = append(out, result("caa", Warn, "check -resolver", "%s: CAA lookup: %v", d, err))
		case ident == "":
			out = append(out, result("caa", Warn, "check by hand that the CA of tls.acme_ca is listed",
				"%s: CAA at %s allows %s; the CAA name of %s is not known to edge", d, owner, strings.Join(values, ", "), u.Host))
		case slices.Contains(values, ident):
			out = append(out, result("caa", Pass, "", "%s: CAA at %s allows %s", d, owner, ident))
		default:
			out = append(out, result("caa", Fail, fmt.Sprintf(`add a record: %s. CAA 0 issue "%s"`, owner, ident),
				"%s: CAA at %s allows only %s, not %s", d, owner, orNone(values), ident))
		}
	}
	return out
}

// caa returns the owner and issuer names of the closest CAA record set of
// d, climbing to the parent domains (RFC 8659 §3).
func (p *runner) caa(ctx context.Context, d string) (string, []string, error) {
	wild := strings.HasPrefix(d, "*.")
	name := strings.TrimPrefix(d, "*.")
	for labels := dns.SplitDomainName(name); len(labels) > 0; labels = labels[1:] {
		owner := strings.Join(labels, ".")
		rrs, err := p.query(ctx, owner, dns.TypeCAA)
		if err != nil {
			return "", nil, err
		}
		var issue, issueWild []string
		found := false
		for _, rr := range rrs {
			c, ok := rr.(*dns.CAA)
			if !ok {
				continue
			}
			found = true
			v := strings.TrimSpace(strings.SplitN(c.Value, ";", 2)[0])
			switch strings.ToLower(c.Tag) {
			case "issue":
				issue = appendNonEmpty(issue, v)
			case "issuewild":
				issueWild = appendNonEmpty(issueWild, v)
			}
		}
		if found {
			if wild && issueWild != nil {
				return owner, issueWild, nil
			}
			return owner, issue, nil
		}
	}
	return "", nil, errNoCAA
}

func appendNonEmpty(list []string, v string) []string {
	if list == nil {
		list = []string{}
	}
	if v != "" {
		list = append(list, strings.ToLower(v))
	}
	return list
}

func orNone(vs []string) string {
	if len(vs) == 0 {
		return "no CA"
	}
	return strings.Join(vs, ", ")
}
