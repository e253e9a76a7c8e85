package health

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"
)

// Counters is a cumulative reading of a route's request counters, as
// edge's metrics keep them (they only grow; a drop means they were reset).
type Counters struct {
	// Requests counts finished requests.
	Requests uint64
	// Errors counts those answered with a 5xx status.
	Errors uint64
	// Bounds are the latency histogram's upper bounds in seconds, ascending.
	Bounds []float64
	// Buckets are cumulative: Buckets[i] requests took at most Bounds[i].
	Buckets []uint64
}

// TrafficFunc reads a route's counters; ok is false when the route is gone.
type TrafficFunc func(route string) (c Counters, ok bool)

// Traffic judges a route from edge's own counters over a sliding window:
// it fails when more than MaxErrorRate of the requests got a 5xx answer,
// or when the p95 latency is above MaxP95. With fewer than MinRequests
// requests in the window it passes.
type Traffic struct {
	// Route is the route's path.
	Route string
	// Read returns the route's cumulative counters.
	Read TrafficFunc
	// Window is how far back the rates look.
	Window time.Duration
	// MaxErrorRate is the highest share of 5xx answers that passes.
	MaxErrorRate float64
	// MaxP95 is the highest p95 latency that passes; 0 turns it off.
	MaxP95 time.Duration
	// MinRequests is the fewest requests judged.
	MinRequests int
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	readings []reading
}

type reading struct {
	at time.Time
	c  Counters
}

// Check takes a reading and judges the window.
func (t *Traffic) Check(context.Context) error {
	cur, ok := t.Read(t.Route)
	if !ok {
		return nil
	}
	now := nowOf(t.Now)
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.readings); n > 0 && cur.Requests < t.readings[n-1].c.Requests {
		t.readings = nil // counters reset
	}
	t.readings = append(t.readings, reading{now, cur})
	// Keep one reading at or before the window's start as the base.
	for len(t.readings) > 1 && !t.readings[1].at.After(now.Add(-t.Window)) {
		t.readings = t.readings[1:]
	}
	base := t.readings[0].c
	reqs := cur.Requests - base.Requests
	if reqs == 0 || reqs < uint64(t.MinRequests) {
		return nil
	}
	errs := cur.Errors - base.Errors
	if rate := float64(errs) / float64(reqs); rate > t.MaxErrorRate {
		return fmt.Errorf("route %s: %.1f%% of %d requests got a 5xx answer in the last %s (limit %.1f%%)",
			t.Route, 100*rate, reqs, t.Window, 100*t.MaxErrorRate)
	}
	if t.MaxP95 > 0 {
		p95 := quantile(0.95, cur, base)
		if p95 > t.MaxP95.Seconds() {
			return fmt.Errorf("route %s: p95 latency %s over %d requests in the last %s (limit %s)",
				t.Route, secondsString(p95), reqs, t.Window, t.MaxP95)
		}
	}
	return nil
}

// quantile estimates the q-quantile of the latencies between two readings
// from the histogram, interpolating linearly within a bucket (as
// Prometheus' histogram_quantile does). Beyond the last bound it returns
// +Inf.
func quantile(q float64, cur, base Counters) float64 {
	if len(cur.Bounds) == 0 || len(cur.Buckets) != len(cur.Bounds) || len(base.Buckets) != len(cur.Buckets) {
		return 0
	}
	total := float64(cur.Requests - base.Requests)
	rank := q * total
	prevCount, prevBound := 0.0, 0.0
	for i, bound := range cur.Bounds {
		count := float64(cur.Buckets[i] - base.Buckets[i])
		if count >= rank {
			if count == prevCount {
				return bound
			}
			return prevBound + (bound-prevBound)*(rank-prevCount)/(count-prevCount)
		}
		prevCount, prevBound = count, bound
	}
	return math.Inf(1)
}

func secondsString(s float64) string {
	if math.IsInf(s, 1) {
		return "above the largest bucket"
	}
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}
