package metrics

import (
	"github.com/gitcourse/edge/status"
	"github.com/prometheus/client_golang/prometheus"
)

// The off-site copy's gauges, present only with [backup.remote].
var (
	remoteSuccessDesc = prometheus.NewDesc("edge_backup_remote_last_success_timestamp_seconds",
		"When a backup was last uploaded to the off-site store, in Unix seconds; 0 when none was.", nil, nil)
	remoteDurationDesc = prometheus.NewDesc("edge_backup_remote_last_duration_seconds",
		"How long the last successful upload to the off-site store took.", nil, nil)
	remoteObjectsDesc = prometheus.NewDesc("edge_backup_remote_objects",
		"Objects under the off-site store's prefix at the last listing.", nil, nil)
	remoteDrillDesc = prometheus.NewDesc("edge_backup_remote_drill_last_success_timestamp_seconds",
		"When the restore drill of the newest off-site copy last passed, in Unix seconds; 0 when none did.", nil, nil)
)

func collectRemote(r *status.RemoteBackup, gauge func(*prometheus.Desc, float64, ...string)) {
	if r == nil {
		return
	}
	gauge(remoteSuccessDesc, unixSeconds(r.LastSuccess))
	gauge(remoteDurationDesc, r.LastDuration.Seconds())
	gauge(remoteObjectsDesc, float64(r.Objects))
	drill := 0.0
	if r.LastDrillOK {
		drill = unixSeconds(r.LastDrill)
	}
	gauge(remoteDrillDesc, drill)
}
