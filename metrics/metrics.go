// Package metrics counts edge's requests and exposes them, with the state
// held in the status registry, in the Prometheus text format.
//
// The names are the contract of SPEC §7:
//
//	edge_http_requests_total{route,code}          counter
//	edge_http_request_duration_seconds{route}     histogram
//	edge_upstream_up{upstream}                    gauge, 1 up / 0 down
//	edge_cert_expiry_timestamp_seconds{domain}    gauge, Unix seconds
//	edge_backup_last_success_timestamp_seconds    gauge, Unix seconds, 0 never
//	edge_backup_last_size_bytes                   gauge
//	edge_backup_last_duration_seconds             gauge
//	edge_backup_verify_last_success_timestamp_seconds gauge, Unix seconds, 0 never
//	edge_check_up{check}                          gauge, 1 up / 0 down
//	edge_cluster_nodes{state}                     gauge, nodes up / down ([cluster] only)
//	edge_cluster_leader{job}                      gauge, 1 on the node that ran the latest slot
//	edge_build_info{version}                      gauge, always 1
//	edge_limited_requests_total{limit}            counter, [[limit]] rejections
//	edge_banned_clients                           gauge
//	edge_in_flight{route}                         gauge
//
// plus the Go runtime (go_*) and process (process_*) collectors. Everything
// lives in a private registry, never the global default one.
//
// Label values stay few: route is a configured route name ("static",
// "admin", "/api/", "redirect" for port-80 and canonical redirects,
// "unknown-host" for a Host that is not configured, or "unrouted" for
// anything else no route named), code is the 3-digit status. Gauges are read from
// the status registry at scrape time, so they are always current; backup
// gauges appear only when [backup] is configured, check gauges only for
// checks that have run.
//
// Besides Prometheus, Metrics keeps a small in-memory ring of per-10s
// counters (see Ring) for the status page: requests per second, 5xx rate
// and latency over the last minutes.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gitcourse/edge/status"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Buckets are the upper bounds, in seconds, of the request duration
// histogram: from a static file served from the page cache (well under a
// millisecond) to a slow API call.
var Buckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Unrouted is the route label of requests no route answered (redirects to
// HTTPS or the canonical name, unknown hosts).
const Unrouted = "unrouted"

// maxRoutes bounds the distinct route labels; past it, new names count
// as "other". Route names come from the config, so this only guards
// against a bug.
const maxRoutes = 64

// Options configure New.
type Options struct {
	// Version is the value of edge_build_info{version}.
	Version string
	// State returns the current status snapshot; the gauges are read
	// from it at every scrape. Nil means no state gauges.
	State func() status.Snapshot
	// Now is the clock of the ring; nil means time.Now.
	Now func() time.Time
}

// Metrics is edge's Prometheus registry and request ring. It is safe for
// concurrent use; Observe is called once per request.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	ring     *Ring
	waits    *prometheus.CounterVec

	mu     sync.RWMutex
	routes map[string]*routeMetrics // route label → its series
}

// New builds the registry with every collector registered.
func New(opts Options) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_http_requests_total",
			Help: "HTTP requests answered, by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "edge_http_request_duration_seconds",
			Help:    "Time from the request to the end of the response, by route.",
			Buckets: Buckets,
		}, []string{"route"}),
		waits:  newWaits(),
		ring:   NewRing(opts.Now),
		routes: map[string]*routeMetrics{},
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "edge_build_info",
		Help: "Always 1; the version label is the running edge's version.",
	}, []string{"version"})
	build.WithLabelValues(opts.Version).Set(1)
	m.reg.MustRegister(m.requests, m.duration, m.waits, build,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if opts.State != nil {
		m.reg.MustRegister(&stateCollector{state: opts.State})
	}
	return m
}

// codes holds the label value of every valid status code.
var codes = func() []string {
	out := make([]string, 600)
	for c := 100; c < 600; c++ {
		out[c] = strconv.Itoa(c)
	}
	return out
}()

// codeLabel is the 3-digit status, "000" for anything else.
func codeLabel(code int) string {
	if code >= 100 && code < 600 {
		return codes[code]
	}
	return "000"
}

// Observe records one finished request. Its signature is that of
// accesslog.Observer.
func (m *Metrics) Observe(route string, code int, d time.Duration) {
	rm := m.route(route)
	rm.counter(m.requests, code).Inc()
	rm.hist.Observe(d.Seconds())
	m.ring.Add(rm.name, code, d)
}

// routeMetrics are one route label's series, resolved once: WithLabelValues
// hashes its labels on every call.
type routeMetrics struct {
	name  string
	hist  prometheus.Observer
	mu    sync.RWMutex
	codes map[int]prometheus.Counter // status code → edge_http_requests_total child
}

// counter returns the route's request counter for code, making it once.
func (rm *routeMetrics) counter(requests *prometheus.CounterVec, code int) prometheus.Counter {
	rm.mu.RLock()
	c := rm.codes[code]
	rm.mu.RUnlock()
	if c != nil {
		return c
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if c = rm.codes[code]; c == nil {
		c = requests.WithLabelValues(rm.name, codeLabel(code))
		rm.codes[code] = c
	}
	return c
}

// route returns the series of a route label: "" is Unrouted, and past
// maxRoutes distinct labels every new one counts as "other".
func (m *Metrics) route(route string) *routeMetrics {
	if route == "" {
		route = Unrouted
	}
	m.mu.RLock()
	rm := m.routes[route]
	m.mu.RUnlock()
	if rm != nil {
		return rm
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if rm = m.routes[route]; rm != nil {
		return rm
	}
	if len(m.routes) >= maxRoutes {
		if route = "other"; m.routes[route] != nil {
			return m.routes[route]
		}
	}
	rm = &routeMetrics{name: route, hist: m.duration.WithLabelValues(route), codes: map[int]prometheus.Counter{}}
	m.routes[route] = rm
	return rm
}

// Ring is the per-10s request ring the status page reads.
func (m *Metrics) Ring() *Ring { return m.ring }

// Registry is the private Prometheus registry (for tests and embedding).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format (or
// OpenMetrics when asked). A failing collector does not fail the scrape:
// the other metrics are still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
