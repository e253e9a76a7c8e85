package config

import "net/netip"

// TrustedNetworks returns server.trusted_proxies parsed (see ParseNetwork);
// entries that do not parse are left out, as Validate has reported them.
func (s Server) TrustedNetworks() []netip.Prefix {
	var out []netip.Prefix
	for _, n := range s.TrustedProxies {
		if p, err := ParseNetwork(n); err == nil {
			out = append(out, p)
		}
	}
	return out
}
