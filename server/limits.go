package server

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/limits"
	"github.com/gitcourse/edge/proxy"
)

// buildLimits builds the [[limit]] middleware for cfg over the router's
// routes (so it knows the route of a path: the in-flight gauge and the
// JSON-or-page shape of a rejection). prev is the running site's, whose
// unchanged rules keep their counters and bans.
func buildLimits(cfg *config.Config, log *slog.Logger, routes []route, trusted *proxy.Trusted, prev *limits.Set) (*limits.Set, error) {
	infos := make([]limits.RouteInfo, 0, len(routes)+1)
	for _, rt := range routes {
		infos = append(infos, limits.RouteInfo{Name: rt.name, Proxy: rt.name != "admin"})
	}
	static := len(infos)
	infos = append(infos, limits.RouteInfo{Name: "static"})
	routeOf := func(p string) int {
		for i, rt := range routes {
			if matchPrefix(p, rt.prefix) {
				return i
			}
		}
		return static
	}
	return limits.New(limits.Options{
		Rules: cfg.Limits, ClientAddr: clientAddr(trusted), Routes: infos, Route: routeOf,
		Logger: log, Prev: prev,
	})
}

// clientAddr returns the client address of a request: the peer, or behind
// trusted proxies the right-most X-Forwarded-For entry that is not one of
// them (the proxy's own rule).
//
// client address: replaced by the shared request-context seam
func clientAddr(trusted *proxy.Trusted) func(*http.Request) netip.Addr {
	return func(r *http.Request) netip.Addr {
		peer := peerAddr(r.RemoteAddr)
		if !trusted.Contains(peer) {
			return peer
		}
		xff := r.Header.Values("X-Forwarded-For")
		client := peer
		for i := len(xff) - 1; i >= 0; i-- {
			hops := strings.Split(xff[i], ",")
			for j := len(hops) - 1; j >= 0; j-- {
				a, err := netip.ParseAddr(strings.TrimSpace(hops[j]))
				if err != nil {
					return client // garbage from before the trusted chain
				}
				client = a.Unmap()
				if !trusted.Contains(client) {
					return client
				}
			}
		}
		return client
	}
}

// peerAddr parses "ip:port"; the zero Addr for anything else.
func peerAddr(remote string) netip.Addr {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
