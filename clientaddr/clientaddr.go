// Package clientaddr works out, once per request, which address the client
// has, and keeps it in the request context for everything after it: the
// access log, the proxy's X-Forwarded-For and X-Real-IP, rate limits and
// log shipping read it with From instead of looking at the request again.
//
// The rule is the one of nginx's real_ip module with real_ip_recursive on
// and of Caddy's trusted_proxies: the client is the TCP peer, unless the
// peer is a trusted proxy (server.trusted_proxies); then it is the
// right-most address of X-Forwarded-For that is not a trusted proxy. An
// entry that is not an address ends the walk: what stands left of it was
// written by someone edge does not trust.
//
// Middleware runs right after the request id, before anything that logs
// or limits. Only a request that came straight from a trusted proxy needs
// anything kept: for every other request the client is the TCP peer, and
// Middleware leaves the request as it is (no copy, no allocation). Client
// answers for both. A handler that runs without Middleware gets the peer
// from Client and false from ViaTrustedProxy, so forwarding headers are
// replaced, never kept, when the middleware is missing.
package clientaddr

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
)

// Trusted is the set of proxies in front of edge whose forwarding headers
// are believed (server.trusted_proxies). The nil *Trusted trusts no one.
type Trusted struct{ nets []netip.Prefix }

// NewTrusted returns the set of the given networks (as parsed by config).
func NewTrusted(nets []netip.Prefix) *Trusted {
	return &Trusted{nets: append([]netip.Prefix(nil), nets...)}
}

// Contains reports whether a belongs to a trusted network.
func (t *Trusted) Contains(a netip.Addr) bool {
	if t == nil || !a.IsValid() {
		return false
	}
	a = a.Unmap()
	for _, p := range t.nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Peer reports whether r comes straight from a trusted proxy. It fits
// reqid.Trusting, which runs before Middleware.
func (t *Trusted) Peer(r *http.Request) bool {
	if t == nil || len(t.nets) == 0 {
		return false
	}
	return t.Contains(PeerOf(r))
}

// Client returns the client address of a request from peer that carried
// the X-Forwarded-For header values xff (see the package doc).
func (t *Trusted) Client(peer netip.Addr, xff []string) netip.Addr {
	client := peer
	if !t.Contains(peer) {
		return client
	}
	hops := strings.Split(strings.Join(xff, ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return client // garbage from before the trusted chain
		}
		client = a.Unmap()
		if !t.Contains(client) {
			return client
		}
	}
	return client
}

// PeerOf is the TCP peer of r without its port, IPv4-mapped IPv6 unmapped;
// the zero Addr when RemoteAddr is not "ip:port" (a unix socket peer).
func PeerOf(r *http.Request) netip.Addr { return ParsePeer(r.RemoteAddr) }

// ParsePeer parses a peer address "ip:port" (a RemoteAddr) without its
// port, IPv4-mapped IPv6 unmapped; the zero Addr for anything else.
func ParsePeer(remote string) netip.Addr {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// info is what Middleware keeps in the request context.
type info struct {
	client  netip.Addr
	trusted bool // the peer is a trusted proxy
}

type ctxKey struct{}

// Middleware computes the client address of each request from a trusted
// proxy with t's rule and keeps it in the request context for Client,
// From and ViaTrustedProxy. Other requests pass unchanged: their client
// is their peer.
func Middleware(t *Trusted) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if t == nil || len(t.nets) == 0 {
			return next // nobody is trusted: every client is its peer
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			peer := PeerOf(r)
			if !t.Contains(peer) {
				next.ServeHTTP(w, r)
				return
			}
			in := &info{client: t.Client(peer, r.Header["X-Forwarded-For"]), trusted: true}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, in)))
		})
	}
}

// Client returns the client address of r: the one Middleware worked out
// for a request from a trusted proxy, else the TCP peer (the zero Addr
// for a unix socket peer).
func Client(r *http.Request) netip.Addr {
	if a := From(r.Context()); a.IsValid() {
		return a
	}
	return PeerOf(r)
}

// From returns the client address Middleware kept for a request from a
// trusted proxy whose context is ctx; the zero Addr for every other
// request (use Client when the request is at hand).
func From(ctx context.Context) netip.Addr {
	if in, ok := ctx.Value(ctxKey{}).(*info); ok {
		return in.client
	}
	return netip.Addr{}
}

// ViaTrustedProxy reports whether the request whose context is ctx came
// straight from a trusted proxy, so that the forwarding headers it carries
// (X-Forwarded-Proto, X-Forwarded-Host, the chain of X-Forwarded-For) may
// be kept. False when Middleware did not run.
func ViaTrustedProxy(ctx context.Context) bool {
	in, ok := ctx.Value(ctxKey{}).(*info)
	return ok && in.trusted
}
