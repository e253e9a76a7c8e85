package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Totals is a cumulative reading of one route's request counters, taken
// from the same counters the Prometheus endpoint serves: they only grow
// (a reload does not reset them).
type Totals struct {
	// Requests counts the finished requests.
	Requests uint64
	// Errors counts those answered with a 5xx status.
	Errors uint64
	// Bounds are the histogram's upper bounds in seconds (Buckets).
	Bounds []float64
	// Buckets are cumulative: Buckets[i] requests took at most Bounds[i].
	Buckets []uint64
}

// RouteTotals returns the totals of a route label (for a [[route]], its
// path); all zero while the route has seen no request.
func (m *Metrics) RouteTotals(route string) Totals {
	t := Totals{Bounds: Buckets, Buckets: make([]uint64, len(Buckets))}
	// Errors first: Observe counts the code before the histogram, so the
	// errors read are never more than the requests read after them.
	t.Errors = m.errors(route)
	m.mu.RLock()
	rm := m.routes[route]
	m.mu.RUnlock()
	var d dto.Metric
	if rm == nil || rm.hist.(prometheus.Metric).Write(&d) != nil || d.Histogram == nil {
		t.Errors = 0
		return t
	}
	t.Requests = d.Histogram.GetSampleCount()
	for i, b := range d.Histogram.GetBucket() {
		if i < len(t.Buckets) {
			t.Buckets[i] = b.GetCumulativeCount()
		}
	}
	return t
}

// errors sums edge_http_requests_total{route, code=5xx}.
func (m *Metrics) errors(route string) uint64 {
	ch := make(chan prometheus.Metric, 64)
	go func() {
		m.requests.Collect(ch)
		close(ch)
	}()
	var n uint64
	for c := range ch {
		var d dto.Metric
		if c.Write(&d) != nil {
			continue
		}
		var r, code string
		for _, l := range d.GetLabel() {
			switch l.GetName() {
			case "route":
				r = l.GetValue()
			case "code":
				code = l.GetValue()
			}
		}
		if r == route && len(code) == 3 && code[0] == '5' {
			n += uint64(d.GetCounter().GetValue())
		}
	}
	return n
}
