package health

import (
	"math"
	"strings"
	"testing"
	"time"
)

// feed is a route's counters that the test grows like the proxy would.
type feed struct {
	c      Counters
	bounds []float64
}

func newFeed() *feed {
	b := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	return &feed{bounds: b, c: Counters{Bounds: b, Buckets: make([]uint64, len(b))}}
}

// serve records n requests with the given code and latency.
func (f *feed) serve(n int, code int, d time.Duration) {
	f.c.Requests += uint64(n)
	if code >= 500 {
		f.c.Errors += uint64(n)
	}
	for i, b := range f.bounds {
		if d.Seconds() <= b {
			f.c.Buckets[i] += uint64(n)
		}
	}
}

func (f *feed) read(string) (Counters, bool) {
	c := f.c
	c.Buckets = append([]uint64(nil), f.c.Buckets...)
	return c, true
}

func TestTrafficErrorRate(t *testing.T) {
	f := newFeed()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tr := &Traffic{Route: "/api/", Read: f.read, Window: 5 * time.Minute, MaxErrorRate: 0.05, MinRequests: 20,
		Now: func() time.Time { return now }}
	step := func(ok, bad int) error {
		now = now.Add(time.Minute)
		f.serve(ok, 200, 10*time.Millisecond)
		f.serve(bad, 502, 10*time.Millisecond)
		return tr.Check(t.Context())
	}
	if err := step(0, 0); err != nil {
		t.Fatalf("first reading: %v", err)
	}
	if err := step(5, 5); err != nil {
		t.Errorf("below min_requests: %v", err)
	}
	if err := step(100, 0); err != nil {
		t.Errorf("5 of 110 (4.5%%): %v", err)
	}
	err := step(80, 10)
	if err == nil || !strings.Contains(err.Error(), "7.5% of 200 requests got a 5xx") {
		t.Errorf("15 of 200: got %v", err)
	}
	// Five calm minutes later the errors have left the window.
	for range 5 {
		err = step(100, 0)
	}
	if err != nil {
		t.Errorf("after the window: %v", err)
	}
	// A reset (a reload rebuilt the route) starts over.
	f.c = newFeed().c
	if err := step(0, 50); err != nil {
		t.Errorf("first reading after a reset: %v", err)
	}
}

func TestTrafficP95(t *testing.T) {
	f := newFeed()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tr := &Traffic{Route: "/api/", Read: f.read, Window: 5 * time.Minute, MaxErrorRate: 0.5, MaxP95: 700 * time.Millisecond,
		MinRequests: 20, Now: func() time.Time { return now }}
	_ = tr.Check(t.Context())
	now = now.Add(time.Minute)
	f.serve(94, 200, 20*time.Millisecond)
	f.serve(6, 200, 600*time.Millisecond) // p95 inside the (0.5, 1] bucket
	if err := tr.Check(t.Context()); err != nil {
		t.Errorf("p95 about 0.58s: %v", err)
	}
	now = now.Add(time.Minute)
	f.serve(100, 200, 3*time.Second)
	err := tr.Check(t.Context())
	if err == nil || !strings.Contains(err.Error(), "p95 latency") {
		t.Errorf("slow: got %v", err)
	}
}

func TestQuantile(t *testing.T) {
	base := Counters{Bounds: []float64{1, 2, 4}, Buckets: []uint64{0, 0, 0}}
	cur := Counters{Requests: 100, Bounds: []float64{1, 2, 4}, Buckets: []uint64{50, 90, 100}}
	// rank 95 is half way into the (2, 4] bucket: 3.
	if got := quantile(0.95, cur, base); math.Abs(got-3) > 1e-9 {
		t.Errorf("p95 %v, want 3", got)
	}
	cur.Buckets = []uint64{50, 90, 94}
	if got := quantile(0.95, cur, base); !math.IsInf(got, 1) {
		t.Errorf("p95 beyond the last bucket %v, want +Inf", got)
	}
}
