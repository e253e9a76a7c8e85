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
