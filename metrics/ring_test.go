package metrics

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestRingWindow(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	r := NewRing(clock.Now)
	for range 8 {
		r.Add("static", 200, 2*time.Millisecond)
	}
	r.Add("/api/", 502, 300*time.Millisecond)
	r.Add("/api/", 200, 40*time.Millisecond)
	clock.Add(20 * time.Second)

	w := r.Window()
	if w.Total.Requests != 10 || w.Total.Errors5xx != 1 {
		t.Fatalf("total %d requests %d 5xx, want 10 and 1", w.Total.Requests, w.Total.Errors5xx)
	}
	if got := w.Seconds(); got != 20 {
		t.Errorf("span %vs, want 20s (since the ring began)", got)
	}
	if got := w.PerSecond(w.Total.Requests); got != 0.5 {
		t.Errorf("rate %v/s, want 0.5", got)
	}
	if got := w.Total.ErrorRate(); got != 0.1 {
		t.Errorf("5xx rate %v, want 0.1", got)
	}
	api := w.Routes["/api/"]
	if api.Requests != 2 || api.Mean() != 170*time.Millisecond {
		t.Errorf("/api/: %d requests, mean %s; want 2 and 170ms", api.Requests, api.Mean())
	}
	if p50 := w.Routes["static"].Quantile(0.5); p50 <= time.Millisecond || p50 > 2500*time.Microsecond {
		t.Errorf("static p50 %s, want within the (1ms, 2.5ms] bucket", p50)
	}
	if p95 := api.Quantile(0.95); p95 <= 250*time.Millisecond || p95 > 500*time.Millisecond {
		t.Errorf("/api/ p95 %s, want within the (250ms, 500ms] bucket", p95)
	}
	if got := w.RouteNames(); len(got) != 2 || got[0] != "/api/" {
		t.Errorf("route names %q", got)
	}
	if len(w.Series) != Slots {
		t.Fatalf("%d slots in the series, want %d", len(w.Series), Slots)
	}
	if first := w.Series[Slots-3]; first.Requests != 10 || first.Errors5xx != 1 {
		t.Errorf("slot of the requests: %+v, want 10 requests 1 5xx", first)
	}
	if last := w.Series[Slots-1]; last.Requests != 0 || !last.Start.Equal(clock.Now()) {
		t.Errorf("slot in progress: %+v", last)
	}
}

func TestRingForgetsOldSlots(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 25, 12, 0, 5, 0, time.UTC)}
	r := NewRing(clock.Now)
	r.Add("static", 500, time.Millisecond)
	clock.Add(Slots * SlotDuration) // the same ring index, a new slot
	r.Add("static", 200, time.Millisecond)
	w := r.Window()
	if w.Total.Requests != 1 || w.Total.Errors5xx != 0 {
		t.Errorf("after a full turn: %d requests %d 5xx, want only the new one", w.Total.Requests, w.Total.Errors5xx)
	}
	if got := w.End.Sub(w.Start); got != Slots*SlotDuration-5*time.Second {
		t.Errorf("span %s, want the last %d slots", got, Slots)
	}
	clock.Add(time.Hour)
	if w := r.Window(); w.Total.Requests != 0 {
		t.Errorf("an hour later the window still counts %d requests", w.Total.Requests)
	}
}

func TestQuantileEdges(t *testing.T) {
	var c Counts
	if c.Quantile(0.5) != 0 || c.Mean() != 0 || c.ErrorRate() != 0 {
		t.Error("empty counts must give zeros")
	}
	c.add(200, time.Minute) // beyond the last bound
	if got := c.Quantile(0.99); got != 30*time.Second {
		t.Errorf("p99 of a 1 min request %s, want the last bound 30s", got)
	}
}

func TestRingConcurrent(t *testing.T) {
	r := NewRing(nil)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 500 {
				r.Add("static", 200, time.Millisecond)
				_ = r.Window()
			}
		})
	}
	wg.Wait()
	if got := r.Window().Total.Requests; got != 2000 {
		t.Errorf("%d requests counted, want 2000", got)
	}
}
