package backupjob

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gitcourse/edge/status"
)

// State is a read-only snapshot of the backups, for metrics, the status
// page, health checks and alerts.
type State struct {
	// LastSuccess is when the newest good backup finished; zero if none.
	LastSuccess time.Time `json:"last_success,omitzero"`
	// LastSize is the size in bytes of that backup's file.
	LastSize int64 `json:"last_size_bytes"`
	// LastDuration is how long that backup's dump took.
	LastDuration time.Duration `json:"last_duration"`
	// LastVerifySuccess is when a verification last succeeded; zero if
	// none did.
	LastVerifySuccess time.Time `json:"last_verify_success,omitzero"`
	// LastBackupID is the id of the newest backup; "" if none.
	LastBackupID string `json:"last_backup_id,omitempty"`
	// LastVerified is when the newest verified backup was last verified,
	// LastVerifyOK whether that passed and LastVerifyDetail how.
	LastVerified     time.Time `json:"last_verified,omitzero"`
	LastVerifyOK     bool      `json:"last_verify_ok"`
	LastVerifyDetail string    `json:"last_verify_detail,omitempty"`
	// LastAttempt is when the last backup attempt started.
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	// LastError is the error of the last attempt, "" when it succeeded.
	LastError string `json:"last_error,omitempty"`
	// LastErrorAt is when LastError happened.
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// VerifyError is why the last verification failed, "" when it passed.
	// A failed verification is an error state: alert on it.
	VerifyError string `json:"verify_error,omitempty"`
	// VerifyErrorAt is when VerifyError happened.
	VerifyErrorAt time.Time `json:"verify_error_at,omitzero"`
	// Backups is how many backups are listed.
	Backups int `json:"backups"`
	// Running reports whether a backup is in progress in this process.
	Running bool `json:"running"`
	// NextRun is when the next scheduled backup starts; zero outside Run.
	NextRun time.Time `json:"next_run,omitzero"`
}

// Failing reports whether the last backup or verification failed.
func (s State) Failing() bool { return s.LastError != "" || s.VerifyError != "" }

// Status converts the state for the shared status registry.
func (s State) Status() status.Backup {
	lastErr := s.LastError
	if s.VerifyError != "" {
		lastErr = strings.TrimPrefix(lastErr+"; verification: "+s.VerifyError, "; ")
	}
	return status.Backup{Configured: true, LastSuccess: s.LastSuccess, LastAttempt: s.LastAttempt,
		LastSizeBytes: s.LastSize, LastDuration: s.LastDuration, LastVerified: s.LastVerified,
		LastVerifyOK: s.LastVerifyOK, LastError: lastErr, NextRun: s.NextRun, LastBackupID: s.LastBackupID,
		LastVerifyDetail: s.LastVerifyDetail, LastVerifySuccess: s.LastVerifySuccess}
}

// persisted is the part of State kept in {dir}/.state.json: the rest is
// read from the manifests.
type persisted struct {
	LastAttempt   time.Time `json:"last_attempt,omitzero"`
	LastError     string    `json:"last_error,omitempty"`
	LastErrorAt   time.Time `json:"last_error_at,omitzero"`
	VerifyError   string    `json:"verify_error,omitempty"`
	VerifyErrorAt time.Time `json:"verify_error_at,omitzero"`
}

func readPersisted(dir string) persisted {
	var p persisted
	b, err := os.ReadFile(filepath.Join(dir, stateName))
	if err == nil {
		_ = json.Unmarshal(b, &p)
	}
	return p
}

func writePersisted(dir string, p persisted) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(dir, stateName, append(b, '\n'))
}

// stateFromDisk builds the State from the manifests and the state file.
func stateFromDisk(dir string) (State, []*Manifest, error) {
	p := readPersisted(dir)
	st := State{LastAttempt: p.LastAttempt, LastError: p.LastError, LastErrorAt: p.LastErrorAt,
		VerifyError: p.VerifyError, VerifyErrorAt: p.VerifyErrorAt}
	ms, err := listManifests(dir)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil, nil
	}
	if err != nil {
		return st, nil, err
	}
	st.Backups = len(ms)
	if len(ms) > 0 {
		st.LastBackupID = ms[0].ID
	}
	for _, m := range ms {
		if m.Verified != nil && st.LastVerified.IsZero() {
			st.LastVerified, st.LastVerifyOK, st.LastVerifyDetail = m.Verified.At, m.Verified.OK, m.Verified.Detail
		}
		if m.Good() && st.LastSuccess.IsZero() {
			st.LastSuccess, st.LastSize, st.LastDuration = m.FinishedAt, m.SizeBytes, m.FinishedAt.Sub(m.StartedAt)
		}
		if m.VerifiedOK() && m.Verified.At.After(st.LastVerifySuccess) {
			st.LastVerifySuccess = m.Verified.At
		}
	}
	return st, ms, nil
}
