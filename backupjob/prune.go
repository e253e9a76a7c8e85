package backupjob

import (
	"errors"
	"fmt"
	"os"

	"github.com/gitcourse/edge/internal/atomicfile"
)

// Prune applies the retention policy (a dry run only plans) and returns
// the plan. Deleting takes the directory's lock.
func (j *Job) Prune(dryRun bool) (*Plan, error) {
	if dryRun {
		return j.plan()
	}
	unlock, err := j.lockRun()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return j.pruneLocked(false)
}

func (j *Job) plan() (*Plan, error) {
	ms, err := j.List()
	if err != nil {
		return nil, err
	}
	keep := Keep{Daily: j.cfg.KeepDaily, Weekly: j.cfg.KeepWeekly, Monthly: j.cfg.KeepMonthly}
	return planRetention(ms, keep, j.opts.Location, readPersisted(j.cfg.Dir).LastError), nil
}

// pruneLocked deletes what the plan does not keep: the manifest first (the
// backup is no longer listed), then the file. The caller holds the lock.
func (j *Job) pruneLocked(dryRun bool) (*Plan, error) {
	p, err := j.plan()
	if err != nil || dryRun {
		return p, err
	}
	if p.Blocked != "" {
		j.log.Warn("prune skipped: " + p.Blocked)
		return p, nil
	}
	var errs []error
	for _, m := range p.Deletions() {
		if err := j.remove(m); err != nil {
			errs = append(errs, err)
			continue
		}
		j.log.Info("deleted backup", "id", m.ID, "file", m.File)
	}
	if len(p.Deletions()) > 0 {
		if err := atomicfile.SyncDir(j.cfg.Dir); err != nil {
			errs = append(errs, err)
		}
		_ = j.Refresh()
	}
	return p, errors.Join(errs...)
}

func (j *Job) remove(m *Manifest) error {
	if err := os.Remove(j.cfg.Dir + "/" + m.manifestName()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete manifest of backup %s: %w", m.ID, err)
	}
	if err := os.Remove(j.Path(m)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete backup file %s: %w", m.File, err)
	}
	return nil
}
