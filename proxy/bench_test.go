package proxy

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkProxyGet measures one small proxied GET over keep-alive
// connections on both sides.
func BenchmarkProxyGet(b *testing.B) {
	up := newBenchBackend(b)
	rt, err := New(routeConfig(up), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	srv := newBenchFront(b, rt)
	c := srv.Client()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := c.Get(srv.URL + "/api/ping")
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatal(res.Status)
		}
	}
}

// BenchmarkUpstreamLeg is one keep-alive exchange with the upstream alone:
// edge's client against the net/http.Transport it replaced (same
// timeouts, no compression, HTTP/1.1 only).
func BenchmarkUpstreamLeg(b *testing.B) {
	addr := newBenchBackend(b)
	rc := routeConfig(addr)
	clients := map[string]upstreamClient{
		"edge": newH1Client(rc.Timeouts),
		"net-http-transport": &http.Transport{
			MaxIdleConnsPerHost: idlePerUpstream, IdleConnTimeout: rc.Timeouts.Idle.Duration,
			ResponseHeaderTimeout: rc.Timeouts.ResponseHeader.Duration, DisableCompression: true,
		},
	}
	for name, c := range clients {
		b.Run(name, func(b *testing.B) {
			defer c.CloseIdleConnections()
			req, _ := http.NewRequest("GET", "http://"+addr+"/api/ping", nil)
			b.ReportAllocs()
			for b.Loop() {
				res, err := c.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
	}
}

// BenchmarkRouteServe is the proxy path without the front server: the
// route's ServeHTTP for one GET, into a response writer that discards.
func BenchmarkRouteServe(b *testing.B) {
	rt, err := New(routeConfig(newBenchBackend(b)), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	req, _ := http.NewRequest("GET", "http://edge.test/api/ping", nil)
	req.RemoteAddr = "127.0.0.1:40000"
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		w.code = 0
		rt.ServeHTTP(w, req)
		if w.code != http.StatusOK {
			b.Fatal(w.code)
		}
	}
}

// discardWriter is a ResponseWriter that keeps the status only.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
