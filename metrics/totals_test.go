package metrics

import (
	"slices"
	"testing"
	"time"
)

// TestRouteTotals: the health traffic checks read the same counters the
// Prometheus endpoint serves.
func TestRouteTotals(t *testing.T) {
	m := New(Options{Version: "test"})
	if got := m.RouteTotals("/api/"); got.Requests != 0 || got.Errors != 0 || len(got.Buckets) != len(Buckets) {
		t.Fatalf("before any request: %+v, want zeros with %d buckets", got, len(Buckets))
	}
	m.Observe("/api/", 200, 2*time.Millisecond)
	m.Observe("/api/", 502, 40*time.Millisecond)
	m.Observe("/api/", 503, 3*time.Second)
	m.Observe("static", 500, time.Millisecond) // another route
	got := m.RouteTotals("/api/")
	if got.Requests != 3 || got.Errors != 2 {
		t.Errorf("requests %d errors %d, want 3 and 2", got.Requests, got.Errors)
	}
	if !slices.Equal(got.Bounds, Buckets) {
		t.Errorf("bounds %v, want %v", got.Bounds, Buckets)
	}
	at := func(bound float64) uint64 { return got.Buckets[slices.Index(Buckets, bound)] }
	if at(.0025) != 1 || at(.05) != 2 || at(5) != 3 {
		t.Errorf("cumulative buckets %v: want 1 by 2.5ms, 2 by 50ms, 3 by 5s", got.Buckets)
	}
}
