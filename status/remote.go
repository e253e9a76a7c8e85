package status

import "time"

// RemoteBackup is the state of the off-site copy ([backup.remote]).
type RemoteBackup struct {
	// URL is the bucket and prefix ("s3://bucket/prefix").
	URL string `json:"url"`
	// LastSuccess is when an upload last succeeded; zero if none did.
	LastSuccess time.Time `json:"last_success,omitempty"`
	// LastID is the id of the newest backup uploaded.
	LastID string `json:"last_id,omitempty"`
	// LastDuration is how long that upload took.
	LastDuration time.Duration `json:"last_duration_ns"`
	// LastAttempt is when an upload was last tried.
	LastAttempt time.Time `json:"last_attempt,omitempty"`
	// LastError is why the last upload failed, "" when it succeeded.
	LastError string `json:"last_error,omitempty"`
	// Objects is how many objects were under the prefix at the last
	// listing.
	Objects int `json:"objects"`
	// Backups is how many complete backups that listing held.
	Backups int `json:"backups"`
	// LastDrill is when the restore drill last ran; LastDrillOK whether
	// it passed, LastDrillDetail how or why not, LastDrillID which
	// backup it restored.
	LastDrill       time.Time `json:"last_drill,omitempty"`
	LastDrillOK     bool      `json:"last_drill_ok"`
	LastDrillDetail string    `json:"last_drill_detail,omitempty"`
	LastDrillID     string    `json:"last_drill_id,omitempty"`
	// NextDrill is when the next drill is due; zero when drills are off.
	NextDrill time.Time `json:"next_drill,omitempty"`
}

// SetRemoteBackup records the off-site copy's state.
func (r *Registry) SetRemoteBackup(b RemoteBackup) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.remote = &b
}
