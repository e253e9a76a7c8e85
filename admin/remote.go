package admin

import "time"

// BackupRemote is the state of the off-site copy ([backup.remote]).
type BackupRemote struct {
	// URL is the bucket and prefix.
	URL string `json:"url"`
	// LastSuccess is when an upload last succeeded; null if none did.
	LastSuccess        *time.Time `json:"last_success"`
	LastSuccessAgeSecs *int64     `json:"last_success_age_seconds"`
	// LastID is the newest backup uploaded.
	LastID              string  `json:"last_id,omitempty"`
	LastDurationSeconds float64 `json:"last_duration_seconds"`
	// LastError is why the last upload failed.
	LastError string `json:"last_error,omitempty"`
	// Objects and Backups count the last remote listing.
	Objects int `json:"objects"`
	Backups int `json:"backups"`
	// LastDrill is when the restore drill last ran (null: never), with
	// its outcome.
	LastDrill       *time.Time `json:"last_drill"`
	LastDrillOK     bool       `json:"last_drill_ok"`
	LastDrillID     string     `json:"last_drill_id,omitempty"`
	LastDrillDetail string     `json:"last_drill_detail,omitempty"`
	NextDrill       *time.Time `json:"next_drill"`
}

// remote judges the off-site copy.
func (a *assessor) remote(r *BackupRemote) {
	if r == nil {
		return
	}
	if r.LastError != "" {
		a.add(Red, "backup", "the last upload to %s failed: %s", r.URL, r.LastError)
	}
	if r.LastDrill != nil && !r.LastDrillOK {
		a.add(Red, "backup", "the last restore drill failed: %s", orUnknown(r.LastDrillDetail))
	}
	switch {
	case r.LastSuccess == nil:
		a.add(Amber, "backup", "no backup has been uploaded to %s yet", r.URL)
	case a.now.Sub(*r.LastSuccess) > backupAmberAge:
		a.add(Red, "backup", "the last upload to %s is %s old", r.URL, Human(a.now.Sub(*r.LastSuccess)))
	}
}
