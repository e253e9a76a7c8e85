package backupjob

import (
	"fmt"
	"time"
)

// Keep is a GFS retention policy: the newest good backup of each of the
// last Daily days, Weekly ISO weeks and Monthly months that have one.
type Keep struct {
	Daily, Weekly, Monthly int
}

// PlanItem is one backup and what retention does with it.
type PlanItem struct {
	// Manifest is the backup.
	Manifest *Manifest `json:"manifest"`
	// Keep reports whether it is kept.
	Keep bool `json:"keep"`
	// Reasons say why it is kept ("daily 2026-11-25", "newest verified")
	// or deleted ("failed verification", "outside retention").
	Reasons []string `json:"reasons"`
}

// Plan is what a prune keeps and deletes, newest backup first.
type Plan struct {
	// Items lists every backup.
	Items []PlanItem `json:"items"`
	// Blocked says why nothing is deleted at all, or "".
	Blocked string `json:"blocked,omitempty"`
}

// Deletions are the backups the plan deletes.
func (p *Plan) Deletions() []*Manifest {
	var out []*Manifest
	for _, it := range p.Items {
		if !it.Keep {
			out = append(out, it.Manifest)
		}
	}
	return out
}

// planRetention decides which of ms (newest first) to keep. Buckets are
// days, ISO weeks and months of each backup's start in loc. The newest
// backup and the newest verified backup are always kept. When the newest
// attempt failed (lastError) or the newest backup failed verification,
// nothing is deleted: the old backups may be all that is left.
func planRetention(ms []*Manifest, keep Keep, loc *time.Location, lastError string) *Plan {
	p := &Plan{}
	reasons := make([][]string, len(ms))
	switch {
	case lastError != "":
		p.Blocked = "the last backup attempt failed: " + lastError
	case len(ms) > 0 && !ms[0].Good():
		p.Blocked = "the newest backup failed verification"
	}
	rules := []struct {
		name  string
		n     int
		layer func(time.Time) string
	}{
		{"daily", keep.Daily, func(t time.Time) string { return t.Format(time.DateOnly) }},
		{"weekly", keep.Weekly, func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprintf("%d-W%02d", y, w) }},
		{"monthly", keep.Monthly, func(t time.Time) string { return t.Format("2006-01") }},
	}
	for _, r := range rules {
		seen := map[string]bool{}
		for i, m := range ms {
			if len(seen) >= r.n || !m.Good() {
				continue
			}
			if b := r.layer(m.StartedAt.In(loc)); !seen[b] {
				seen[b] = true
				reasons[i] = append(reasons[i], r.name+" "+b)
			}
		}
	}
	newestSet, verifiedSet := false, false
	for i, m := range ms {
		if !newestSet && m.Good() {
			newestSet = true
			reasons[i] = append(reasons[i], "newest")
		}
		if !verifiedSet && m.VerifiedOK() {
			verifiedSet = true
			reasons[i] = append(reasons[i], "newest verified")
		}
	}
	for i, m := range ms {
		it := PlanItem{Manifest: m, Keep: len(reasons[i]) > 0 || p.Blocked != "", Reasons: reasons[i]}
		switch {
		case len(reasons[i]) > 0:
		case p.Blocked != "":
			it.Reasons = []string{"kept: nothing is deleted while the newest backup failed"}
		case !m.Good():
			it.Reasons = []string{"failed verification"}
		default:
			it.Reasons = []string{"outside retention"}
		}
		p.Items = append(p.Items, it)
	}
	return p
}
