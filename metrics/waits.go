package metrics

import "github.com/prometheus/client_golang/prometheus"

// newWaits is edge_upstream_waits_total{route,outcome}.
func newWaits() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edge_upstream_waits_total",
		Help: "Requests that waited within retry_window because no upstream accepted their connection, " +
			"by route and how the wait ended: served, expired (502), rejected (503, retry_max_waiting) " +
			"or gone (the client left).",
	}, []string{"route", "outcome"})
}

// Waited counts one request of route that waited within retry_window and
// ended with outcome (served, expired, rejected or gone). Its signature, with the route
// bound, is that of proxy.Options.Waited.
func (m *Metrics) Waited(route, outcome string) {
	m.waits.WithLabelValues(m.route(route).name, outcome).Inc()
}
