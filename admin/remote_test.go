package admin

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRemoteBackupOnPageAndAssess: the off-site copy shows under Backup
// (newest upload, last drill) and a failed upload or drill is red.
func TestRemoteBackupOnPageAndAssess(t *testing.T) {
	st := fullStatus()
	st.Backup.Remote = &BackupRemote{URL: "s3://gitcourse-backups/prod", LastSuccess: at(-8 * time.Hour), LastID: "20261125T030000Z",
		Backups: 9, LastDrill: at(-2 * time.Hour), LastDrillOK: true, LastDrillDetail: "scratch-cluster: restored 3 tables, 6 rows; counts match"}
	st.Assess(now)
	if st.State != Amber {
		t.Fatalf("state %s, want amber (from the rest of fullStatus only): %+v", st.State, st.Problems)
	}
	h := Handler("/admin", func() Status { return st }, metricsStub)
	_, body := serve(t, h, http.MethodGet, "/admin/status")
	for _, want := range []string{"Off-site", "20261125T030000Z uploaded 8h ago", "9 backups in s3://gitcourse-backups/prod",
		"Restore drill", "passed: scratch-cluster: restored"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	st.Backup.Remote.LastError = "cannot reach backup.remote.endpoint"
	st.Backup.Remote.LastDrillOK = false
	st.Assess(now)
	var msgs []string
	for _, p := range st.Problems {
		if p.Level == Red {
			msgs = append(msgs, p.Message)
		}
	}
	got := strings.Join(msgs, "\n")
	if st.State != Red || !strings.Contains(got, "upload to s3://gitcourse-backups/prod failed") || !strings.Contains(got, "restore drill failed") {
		t.Errorf("state %s, red problems:\n%s", st.State, got)
	}
}
