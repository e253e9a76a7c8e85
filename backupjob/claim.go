package backupjob

import (
	"context"
	"time"
)

// ClaimJob is the job name scheduled backups claim their slots under.
const ClaimJob = "backup"

// ClaimFunc answers whether this process runs slot of job. An error means
// the answer is unknown: the slot is not run here.
type ClaimFunc func(ctx context.Context, job string, slot time.Time) (bool, error)

// mayRun asks the claim hook about slot; without a hook every slot runs.
func (j *Job) mayRun(ctx context.Context, slot time.Time) bool {
	if j.opts.Claim == nil {
		return true
	}
	ok, err := j.opts.Claim(ctx, ClaimJob, slot)
	if err != nil {
		j.log.Error("backup slot not run: could not claim it", "slot", slot, "error", err)
		return false
	}
	if !ok {
		j.log.Info("backup slot runs on another node", "slot", slot)
	}
	return ok
}
