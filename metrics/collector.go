package metrics

import (
	"time"

	"github.com/gitcourse/edge/status"
	"github.com/prometheus/client_golang/prometheus"
)

// The state gauges, read from the status registry at scrape time.
var (
	upstreamUpDesc = prometheus.NewDesc("edge_upstream_up",
		"1 when the proxy sends requests to the upstream, 0 when it is down (in any route that lists it).",
		[]string{"upstream"}, nil)
	certExpiryDesc = prometheus.NewDesc("edge_cert_expiry_timestamp_seconds",
		"When the certificate served for the domain expires, in Unix seconds.",
		[]string{"domain"}, nil)
	backupSuccessDesc = prometheus.NewDesc("edge_backup_last_success_timestamp_seconds",
		"When the newest good backup finished, in Unix seconds; 0 when none did.", nil, nil)
	backupSizeDesc = prometheus.NewDesc("edge_backup_last_size_bytes",
		"Size of the newest good backup, in bytes.", nil, nil)
	backupDurationDesc = prometheus.NewDesc("edge_backup_last_duration_seconds",
		"How long the newest good backup took.", nil, nil)
	backupVerifyDesc = prometheus.NewDesc("edge_backup_verify_last_success_timestamp_seconds",
		"When a backup verification last passed, in Unix seconds; 0 when none did.", nil, nil)
	checkUpDesc = prometheus.NewDesc("edge_check_up",
		"1 when the health check passes, 0 when it fails.",
		[]string{"check"}, nil)
)

// stateCollector turns a status snapshot into gauges.
type stateCollector struct {
	state func() status.Snapshot
}

var _ prometheus.Collector = (*stateCollector)(nil)

// Describe sends every gauge's descriptor.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{upstreamUpDesc, certExpiryDesc, backupSuccessDesc, backupSizeDesc,
		backupDurationDesc, backupVerifyDesc, checkUpDesc, remoteSuccessDesc, remoteDurationDesc, remoteObjectsDesc, remoteDrillDesc, clusterNodesDesc, clusterLeaderDesc} {
		ch <- d
	}
	for _, d := range limitDescs {
		ch <- d
	}
}

// Collect reads the snapshot once and sends the gauges.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.state()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, u := range upstreamsUp(s.Upstreams) {
		gauge(upstreamUpDesc, boolValue(u.up), u.addr)
	}
	for _, cert := range s.Certificates {
		if !cert.NotAfter.IsZero() {
			gauge(certExpiryDesc, unixSeconds(cert.NotAfter), cert.Domain)
		}
	}
	if b := s.Backup; b.Configured {
		gauge(backupSuccessDesc, unixSeconds(b.LastSuccess))
		gauge(backupSizeDesc, float64(b.LastSizeBytes))
		gauge(backupDurationDesc, b.LastDuration.Seconds())
		gauge(backupVerifyDesc, unixSeconds(b.LastVerifySuccess))
	}
	collectRemote(s.BackupRemote, gauge)
	for _, chk := range s.Checks {
		if !chk.LastRun.IsZero() {
			gauge(checkUpDesc, boolValue(chk.Up), chk.Name)
		}
	}
	collectLimits(ch, s.Limits)
	collectCluster(s.Cluster, gauge)
}

type upstreamUp struct {
	addr string
	up   bool
}

// upstreamsUp merges upstreams listed by several routes into one series
// per address: up only when it is up in every route.
func upstreamsUp(us []status.Upstream) []upstreamUp {
	var out []upstreamUp
	index := map[string]int{}
	for _, u := range us {
		if i, ok := index[u.Addr]; ok {
			out[i].up = out[i].up && u.Up
			continue
		}
		index[u.Addr] = len(out)
		out = append(out, upstreamUp{addr: u.Addr, up: u.Up})
	}
	return out
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unixSeconds is t in Unix seconds, 0 for the zero time.
func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
