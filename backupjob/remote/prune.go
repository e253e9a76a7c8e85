package remote

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gitcourse/edge/backupjob"
)

// orphanAge is how old a backup file without a manifest must be before
// prune deletes it: younger ones may be an upload in progress.
const orphanAge = 24 * time.Hour

// PruneResult is what a remote prune kept and deleted.
type PruneResult struct {
	// Plan is the retention plan over the complete remote backups.
	Plan *backupjob.Plan
	// Orphans are the keys of backup files without a manifest older than
	// a day (left by interrupted uploads), deleted unless a dry run.
	Orphans []string
}

// Prune applies [backup.remote]'s keep_* rules (GFS, like the local
// prune) to the remote listing; the newest and the newest verified copy
// are always kept. A dry run only plans. Manifests are deleted before
// their files, so a half-deleted backup is never listed.
func (r *Remote) Prune(ctx context.Context, dryRun bool) (*PruneResult, error) {
	l, err := r.List(ctx)
	if err != nil {
		return nil, err
	}
	keep := backupjob.Keep{Daily: r.cfg.KeepDaily, Weekly: r.cfg.KeepWeekly, Monthly: r.cfg.KeepMonthly}
	res := &PruneResult{Plan: backupjob.PlanRetention(l.Backups, keep, r.opts.Location)}
	now := r.opts.Now()
	for _, o := range l.Orphans {
		if now.Sub(o.Modified) > orphanAge {
			res.Orphans = append(res.Orphans, o.Key)
		}
	}
	if dryRun {
		return res, nil
	}
	var errs []error
	for _, m := range res.Plan.Deletions() {
		if err := r.store.Delete(ctx, r.prefix+m.ManifestName()); err != nil {
			errs = append(errs, fmt.Errorf("delete remote manifest of %s: %w", m.ID, err))
			continue
		}
		if err := r.store.Delete(ctx, r.prefix+m.File); err != nil {
			errs = append(errs, fmt.Errorf("delete remote file of %s: %w", m.ID, err))
			continue
		}
		r.log.Info("deleted remote backup", "id", m.ID)
	}
	for _, k := range res.Orphans {
		if err := r.store.Delete(ctx, k); err != nil {
			errs = append(errs, fmt.Errorf("delete remote leftover %s: %w", k, err))
		}
	}
	r.update(func(s *State) { s.LastPrune = now })
	if l2, err := r.List(ctx); err == nil {
		r.recordListing(l2)
	}
	return res, errors.Join(errs...)
}
