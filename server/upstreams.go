package server

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"
)

// drainPoll is how often a drain looks at the in-flight count.
const drainPoll = 20 * time.Millisecond

// Upstream takes addr out of rotation in every route that lists it
// ("drain") and waits, bounded by ctx, until its requests in flight have
// finished, or puts it back ("enable"). A drain that would leave a route
// without an upstream is refused. It returns the line to print.
func (s *Server) Upstream(ctx context.Context, action, addr string) (string, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", fmt.Errorf("upstream %q is not host:port (fix: as written in [[route]] upstreams, e.g. 127.0.0.1:8001)", addr)
	}
	routes := s.site.Load().routes
	var paths, all []string
	for _, p := range routes {
		if p.HasUpstream(addr) {
			paths = append(paths, p.Path())
		}
		for _, u := range p.Upstreams() {
			all = append(all, u.Addr)
		}
	}
	if len(paths) == 0 {
		return "", fmt.Errorf("no [[route]] lists upstream %s (fix: one of %s)", addr, strings.Join(all, ", "))
	}
	switch action {
	case "enable":
		s.obs.drains.Set(addr, false)
		s.log.Info("upstream enabled", "upstream", addr, "routes", paths)
		return fmt.Sprintf("enabled %s in %s\n", addr, strings.Join(paths, " ")), nil
	case "drain":
	default:
		return "", fmt.Errorf("unknown action %q (fix: drain or enable)", action)
	}
	for _, p := range routes {
		if p.HasUpstream(addr) && !s.obs.drains.Has(addr) && p.Serving() < 2 {
			return "", fmt.Errorf("route %s has no other upstream to serve while %s drains "+
				"(fix: enable another first, or restart it under gitcourse-api.socket, which needs no drain)", p.Path(), addr)
		}
	}
	s.obs.drains.Set(addr, true)
	s.log.Info("upstream draining", "upstream", addr, "routes", paths)
	start := time.Now()
	t := time.NewTicker(drainPoll)
	defer t.Stop()
	for {
		var n int64
		for _, p := range s.site.Load().routes {
			n += p.InFlight(addr)
		}
		if n == 0 {
			s.log.Info("upstream drained", "upstream", addr, "took", time.Since(start).Round(time.Millisecond).String())
			return fmt.Sprintf("drained %s in %s: no request in flight\n", addr, strings.Join(paths, " ")), nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%s is out of rotation but still has %d requests in flight: %w", addr, n, ctx.Err())
		case <-t.C:
		}
	}
}
