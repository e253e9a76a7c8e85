// Package limits_test holds the speed and memory targets of the limits
// middleware (issue: a rule on the request path costs at most 2 µs and
// no allocation for a known client; a stream of 1M distinct addresses
// keeps memory within the max_clients bound).
//
//	go test -run '^$' -bench . -benchtime 2s ./bench/limits
package limits_test

import (
	"net/http"
	"net/netip"
	"runtime"
	"testing"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/limits"
)

// peer is the address function a server without trusted proxies uses.
func peer(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr()
}

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

var ok = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

func newHandler(b *testing.B, maxClients int) http.Handler {
	rate, err := config.ParseRate("1000000/s")
	if err != nil {
		b.Fatal(err)
	}
	rules := []config.Limit{
		{Name: "login", Path: "/api/auth/", Methods: []string{"POST"}, Rate: rate, Burst: 1000000, MaxClients: maxClients},
		{Name: "api", Path: "/api/", Rate: rate, Burst: 1000000, MaxClients: maxClients, BanAfter: 10},
	}
	s, err := limits.New(limits.Options{Rules: rules, ClientAddr: peer})
	if err != nil {
		b.Fatal(err)
	}
	return s.Middleware(ok)
}

// BenchmarkKnownClient: a request that a rule (the second, after a
// method/path miss on the first) applies to, from a client already in the
// table, with a ban rule checked on the way.
func BenchmarkKnownClient(b *testing.B) {
	h := newHandler(b, 100000)
	r, _ := http.NewRequest("GET", "http://edge.test/api/courses", nil)
	r.RemoteAddr = "192.0.2.7:40000"
	w := &discard{h: http.Header{}}
	h.ServeHTTP(w, r)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

// BenchmarkNoRuleMatches: a static file request no rule applies to.
func BenchmarkNoRuleMatches(b *testing.B) {
	h := newHandler(b, 100000)
	r, _ := http.NewRequest("GET", "http://edge.test/assets/app.js", nil)
	r.RemoteAddr = "192.0.2.7:40000"
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

// BenchmarkMillionAddresses streams 1M distinct IPv4 addresses through a
// rule with max_clients = 100000 and reports the live heap afterwards
// (after GC), which must stay at the bound's size, not grow with the
// stream: heap-MB is the figure for docs/limits.md.
func BenchmarkMillionAddresses(b *testing.B) {
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		h := newHandler(b, 100000)
		r, _ := http.NewRequest("GET", "http://edge.test/api/courses", nil)
		w := &discard{h: http.Header{}}
		var half runtime.MemStats
		for i := range 1 << 20 {
			a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			r.RemoteAddr = netip.AddrPortFrom(a, 40000).String()
			h.ServeHTTP(w, r)
			if i == 1<<19 {
				runtime.GC()
				runtime.ReadMemStats(&half)
			}
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(half.HeapAlloc-before.HeapAlloc)/1e6, "heap-MB-at-512k")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "heap-MB-at-1M")
		runtime.KeepAlive(h)
	}
}
