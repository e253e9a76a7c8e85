package backupjob

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// refreshEvery is how often Run re-reads the backup directory while it
// waits, so that backups taken by "edge backup now" show in the state.
const refreshEvery = 5 * time.Minute

// Run takes backups on the schedule until ctx ends or Retire is called,
// then returns nil.
// At start it removes what an interrupted run left, and takes a backup at
// once when the last success is older than one period (catch-up). A
// failed backup is recorded in the state and retried at the next
// scheduled time; Run itself does not fail.
func (j *Job) Run(ctx context.Context) error {
	j.startup(ctx)
	if j.sched.Due(j.State().LastSuccess, j.opts.Now()) {
		j.log.Info("catching up: no successful backup since the last scheduled time",
			"last_success", j.State().LastSuccess)
		if j.mayRun(ctx, j.sched.Next(j.State().LastSuccess)) {
			j.attempt(ctx)
		}
	} else {
		j.verifyPending(ctx)
	}
	for {
		next := j.sched.Next(j.opts.Now())
		if next.IsZero() {
			return fmt.Errorf("backup schedule %q has no next run", j.sched)
		}
		j.update(func(s *State) { s.NextRun = next })
		if !j.waitUntil(ctx, next) {
			return nil
		}
		if j.mayRun(ctx, next) {
			j.attempt(ctx)
		}
	}
}

// startup loads the state and, unless another process is busy with the
// directory, removes leftovers of an interrupted run.
func (j *Job) startup(ctx context.Context) {
	if err := j.Refresh(); err != nil {
		j.log.Warn("read backup directory", "error", err)
	}
	unlock, err := j.lockRun()
	if err != nil {
		j.log.Warn("leftovers not cleaned at start", "error", err)
		return
	}
	defer unlock()
	j.cleanLocked(ctx)
}

// verifyPending verifies the newest backup when a killed process left it
// unverified (and it can be read: not encrypted, or an identity is given).
func (j *Job) verifyPending(ctx context.Context) {
	m, err := j.Find("")
	if err != nil || m.Verified != nil || j.cfg.Verify == VerifyNone || (m.Encrypted && len(j.opts.Identities) == 0) {
		return
	}
	j.log.Info("verifying the newest backup, left unverified by an interrupted run", "id", m.ID)
	if _, err := j.Verify(ctx, m.ID, ""); err != nil && ctx.Err() == nil {
		j.log.Error("verify backup", "id", m.ID, "error", err)
	}
}

// waitUntil sleeps until t (refreshing the state now and then) and
// reports false when ctx ended first.
func (j *Job) waitUntil(ctx context.Context, t time.Time) bool {
	for {
		d := t.Sub(j.opts.Now())
		if d <= 0 {
			return true
		}
		timer := time.NewTimer(min(d, refreshEvery))
		select {
		case <-ctx.Done():
			timer.Stop()
			return false
		case <-j.retired.done():
			timer.Stop()
			return false
		case <-timer.C:
			if d > refreshEvery {
				_ = j.Refresh()
			}
		}
	}
}

// attempt runs one backup; failures are recorded in the state (by
// Backup) and never end Run. A panic is logged and recorded too.
func (j *Job) attempt(ctx context.Context) {
	defer func() {
		if r := recover(); r != nil {
			j.log.Error("backup panicked", "panic", r, "stack", string(debug.Stack()))
			j.update(func(s *State) { s.Running = false })
			j.record(j.opts.Now(), nil, fmt.Errorf("backup panicked: %v", r))
		}
	}()
	run := j.runOnce
	if run == nil {
		run = func(ctx context.Context) error { _, err := j.Backup(ctx); return err }
	}
	err := run(ctx)
	switch {
	case err == nil, ctx.Err() != nil:
	case errors.Is(err, ErrBusy):
		j.log.Warn("scheduled backup skipped: " + err.Error())
	}
}
