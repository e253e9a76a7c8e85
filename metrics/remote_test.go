package metrics

import (
	"testing"
	"time"

	"github.com/gitcourse/edge/status"
)

// TestRemoteBackupGauges: the off-site copy's gauges of SPEC §7 come from
// the registry's remote state, and only when it is configured.
func TestRemoteBackupGauges(t *testing.T) {
	snap := fullSnapshot()
	snap.BackupRemote = &status.RemoteBackup{URL: "s3://b/p", LastSuccess: t0, LastDuration: 3500 * time.Millisecond,
		Objects: 14, LastDrill: t0.Add(time.Hour), LastDrillOK: true}
	fams := scrape(t, New(Options{Version: "v", State: func() status.Snapshot { return snap }}))
	for name, want := range map[string]float64{
		"edge_backup_remote_last_success_timestamp_seconds":       float64(t0.Unix()),
		"edge_backup_remote_last_duration_seconds":                3.5,
		"edge_backup_remote_objects":                              14,
		"edge_backup_remote_drill_last_success_timestamp_seconds": float64(t0.Add(time.Hour).Unix()),
	} {
		if got := series(fams[name]); got[""] != want || len(got) != 1 {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
	fams = scrape(t, New(Options{Version: "v", State: fullSnapshot}))
	if fams["edge_backup_remote_objects"] != nil {
		t.Error("remote gauges present without [backup.remote]")
	}
}
