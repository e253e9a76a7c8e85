package health

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gitcourse/edge/status"
)

// RemoteBackupFreshness fails when the last upload of a backup to the
// off-site store failed, when the last restore drill failed, or when no
// upload succeeded for BackupMaxAge; before the first upload it warns.
type RemoteBackupFreshness struct {
	// State returns the off-site copy's state; nil: not reported yet.
	State func() *status.RemoteBackup
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Check judges the off-site copy's state.
func (b *RemoteBackupFreshness) Check(context.Context) error {
	st := b.State()
	if st == nil {
		return nil
	}
	if st.LastError != "" {
		return fmt.Errorf("off-site copy to %s failed: %s", st.URL, st.LastError)
	}
	if !st.LastDrill.IsZero() && !st.LastDrillOK {
		return fmt.Errorf("restore drill of %s failed: %s", st.LastDrillID, st.LastDrillDetail)
	}
	if st.LastSuccess.IsZero() {
		return Warn(errors.New("no backup uploaded to " + st.URL + " yet"))
	}
	if age := nowOf(b.Now).Sub(st.LastSuccess); age > BackupMaxAge {
		return fmt.Errorf("last upload to %s is %s old (at %s), over %s", st.URL, age.Round(time.Minute),
			st.LastSuccess.UTC().Format(time.RFC3339), BackupMaxAge)
	}
	return nil
}

// remoteBackupSpec is the built-in check of the off-site copy.
func remoteBackupSpec(opts Options) Spec {
	return Spec{Name: "backup-remote", Kind: "backup", Interval: backupInterval, Timeout: 5 * time.Second,
		Failures: 1, Successes: 1, Checker: &RemoteBackupFreshness{State: opts.BackupRemote, Now: opts.Now}}
}
