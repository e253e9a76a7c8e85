package proxy

import (
	"sync/atomic"
	"time"
)

// LatencyBuckets are the upper bounds, in seconds, of the latency
// histogram (Prometheus' default buckets).
var LatencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// RouteStats is a read-only snapshot of a route's counters, for the
// metrics edge_http_requests_total and edge_http_request_duration_seconds.
type RouteStats struct {
	// Path is the route's path prefix.
	Path string
	// Requests counts the finished requests by status code (499: the
	// client went away first; 101: an upgrade that has ended).
	Requests map[int]uint64
	// Buckets are cumulative counts of requests that took at most
	// LatencyBuckets[i] seconds.
	Buckets []uint64
	// Count is the number of requests observed, Sum their total duration.
	Count uint64
	// Sum is the total duration of the requests observed.
	Sum time.Duration
}

// stats counts a route's requests without locks.
type stats struct {
	codes   [600]atomic.Uint64
	buckets [12]atomic.Uint64 // one per LatencyBuckets, then +Inf
	count   atomic.Uint64
	sum     atomic.Int64
}

// observe records one finished request.
func (s *stats) observe(code int, d time.Duration) {
	if code >= 0 && code < len(s.codes) {
		s.codes[code].Add(1)
	}
	sec := d.Seconds()
	i := 0
	for i < len(LatencyBuckets) && sec > LatencyBuckets[i] {
		i++
	}
	s.buckets[i].Add(1)
	s.count.Add(1)
	s.sum.Add(int64(d))
}

// Stats returns a snapshot of the route's request counts and latencies.
func (rt *Route) Stats() RouteStats {
	s := &rt.stats
	out := RouteStats{Path: rt.path, Requests: map[int]uint64{}, Buckets: make([]uint64, len(LatencyBuckets))}
	for code := range s.codes {
		if n := s.codes[code].Load(); n > 0 {
			out.Requests[code] = n
		}
	}
	var cum uint64
	for i := range LatencyBuckets {
		cum += s.buckets[i].Load()
		out.Buckets[i] = cum
	}
	out.Count = s.count.Load()
	out.Sum = time.Duration(s.sum.Load())
	return out
}
