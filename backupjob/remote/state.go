package remote

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/gitcourse/edge/backupjob"
	"github.com/gitcourse/edge/status"
)

// stateName is the state file beside the backups.
const stateName = ".remote-state.json"

// State is what the off-site copy has done lately; it is kept in
// {backup.dir}/.remote-state.json so that a restart shows it at once.
type State struct {
	// LastSuccess is when an upload last succeeded; zero if none did.
	LastSuccess time.Time `json:"last_success,omitzero"`
	// LastID is the backup of that upload.
	LastID string `json:"last_id,omitempty"`
	// LastDuration is how long that upload took.
	LastDuration time.Duration `json:"last_duration"`
	// LastAttempt is when an upload was last tried.
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	// LastError is why the last upload (or listing) failed; "" if it did not.
	LastError string `json:"last_error,omitempty"`
	// Objects and Backups are the counts of the last listing.
	Objects int `json:"objects"`
	Backups int `json:"backups"`
	// LastDrill, LastDrillOK, LastDrillDetail and LastDrillID describe the
	// last restore drill.
	LastDrill       time.Time `json:"last_drill,omitzero"`
	LastDrillOK     bool      `json:"last_drill_ok"`
	LastDrillDetail string    `json:"last_drill_detail,omitempty"`
	LastDrillID     string    `json:"last_drill_id,omitempty"`
	// LastPrune is when the remote retention last ran.
	LastPrune time.Time `json:"last_prune,omitzero"`
	// NextDrill is when the next drill is due (not persisted).
	NextDrill time.Time `json:"-"`
}

// Failing reports whether the last upload or drill failed.
func (s State) Failing() bool { return s.LastError != "" || (!s.LastDrill.IsZero() && !s.LastDrillOK) }

func readState(dir string) State {
	var s State
	if b, err := os.ReadFile(filepath.Join(dir, stateName)); err == nil {
		_ = json.Unmarshal(b, &s)
	}
	return s
}

// State returns a copy of the current state.
func (r *Remote) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// update changes the state, saves it and publishes it.
func (r *Remote) update(fn func(*State)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(&r.state)
	if b, err := json.MarshalIndent(r.state, "", "  "); err == nil {
		if err := os.MkdirAll(r.backup.Dir, 0o700); err == nil {
			if err := backupjob.WriteStateFile(r.backup.Dir, stateName, append(b, '\n')); err != nil {
				r.log.Error("save off-site backup state", "error", err)
			}
		}
	}
	r.publishLocked()
}

// Publish sends the state to the status registry.
func (r *Remote) Publish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.publishLocked()
}

func (r *Remote) publishLocked() {
	if r.opts.Status == nil {
		return
	}
	s := r.state
	r.opts.Status.SetRemoteBackup(status.RemoteBackup{URL: r.cfg.URL, LastSuccess: s.LastSuccess, LastID: s.LastID,
		LastDuration: s.LastDuration, LastAttempt: s.LastAttempt, LastError: s.LastError, Objects: s.Objects,
		Backups: s.Backups, LastDrill: s.LastDrill, LastDrillOK: s.LastDrillOK, LastDrillDetail: s.LastDrillDetail,
		LastDrillID: s.LastDrillID, NextDrill: s.NextDrill})
}

// recordUpload keeps the outcome of an upload (m nil: of a listing).
func (r *Remote) recordUpload(started time.Time, m *backupjob.Manifest, err error) {
	now := r.opts.Now()
	r.update(func(s *State) {
		s.LastAttempt = started
		if err != nil {
			s.LastError = err.Error()
			return
		}
		s.LastError = ""
		if m != nil {
			s.LastSuccess, s.LastID, s.LastDuration = now, m.ID, now.Sub(started)
		}
	})
}

// recordListing keeps the counts of a listing.
func (r *Remote) recordListing(l *Listing) {
	r.update(func(s *State) { s.Objects, s.Backups = l.Objects, len(l.Backups) })
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
