package server

import (
	"log/slog"
	"net/http"
	"net/netip"

	"github.com/gitcourse/edge/clientaddr"
	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/limits"
)

// buildLimits builds the [[limit]] middleware for cfg over the router's
// routes (so it knows the route of a path: the in-flight gauge and the
// JSON-or-page shape of a rejection). prev is the running site's, whose
// unchanged rules keep their counters and bans.
func buildLimits(cfg *config.Config, log *slog.Logger, routes []route, prev *limits.Set) (*limits.Set, error) {
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
		Rules: cfg.Limits, ClientAddr: clientAddr, Routes: infos, Route: routeOf,
		Logger: log, Prev: prev,
	})
}

// clientAddr is the client address of package clientaddr: the one a
// trusted proxy forwarded, else the peer.
func clientAddr(r *http.Request) netip.Addr {
	return clientaddr.Client(r)
}
