package metrics

import (
	"github.com/gitcourse/edge/status"
	"github.com/prometheus/client_golang/prometheus"
)

// The limit metrics of SPEC §7, read from the status snapshot.
var (
	limitedDesc = prometheus.NewDesc("edge_limited_requests_total",
		"Requests rejected by a [[limit]] rule (429 over the rate, 503 over max_in_flight, 403 while banned).",
		[]string{"limit"}, nil)
	bannedDesc = prometheus.NewDesc("edge_banned_clients",
		"Clients under a temporary ban.", nil, nil)
	inFlightDesc = prometheus.NewDesc("edge_in_flight",
		"Requests being served, per route.", []string{"route"}, nil)
)

var limitDescs = []*prometheus.Desc{limitedDesc, bannedDesc, inFlightDesc}

// collectLimits sends the limit metrics of l.
func collectLimits(ch chan<- prometheus.Metric, l status.Limits) {
	for _, r := range l.Rules {
		ch <- prometheus.MustNewConstMetric(limitedDesc, prometheus.CounterValue, float64(r.Limited), r.Name)
	}
	ch <- prometheus.MustNewConstMetric(bannedDesc, prometheus.GaugeValue, float64(l.Banned))
	for route, n := range l.InFlight {
		ch <- prometheus.MustNewConstMetric(inFlightDesc, prometheus.GaugeValue, float64(n), route)
	}
}
