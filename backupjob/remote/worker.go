package remote

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/gitcourse/edge/backupjob"
	"github.com/gitcourse/edge/config"
)

// RetryEvery is how often Run tries again after a failed upload (each try
// itself retries every request with backoff), and how often it looks
// whether a drill is due.
var RetryEvery = 15 * time.Minute

// Scheduled job names passed to Options.Claim.
const (
	JobUpload = "backup-remote-upload"
	JobPrune  = "backup-remote-prune"
	JobDrill  = "backup-remote-drill"
)

// Run uploads what is missing at start and after each Notify, prunes the
// remote side after each upload round, retries failed uploads every
// RetryEvery and runs the drill when it is due, until ctx ends; then it
// returns nil. Failures are recorded in the state (and alerted on by the
// health check), never returned.
func (r *Remote) Run(ctx context.Context, notify <-chan struct{}) error {
	r.setNextDrill()
	r.Publish()
	r.round(ctx, "start")
	t := time.NewTicker(RetryEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-notify:
			r.round(ctx, "backup")
		case <-t.C:
			if r.State().LastError != "" {
				r.round(ctx, "retry")
			} else {
				r.drillIfDue(ctx)
			}
		}
	}
}

// round is one scheduled pass: upload what is missing, prune, drill when
// due. A panic is logged and recorded, never fatal.
func (r *Remote) round(ctx context.Context, why string) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("off-site backup panicked", "panic", p, "stack", string(debug.Stack()))
			r.recordUpload(r.opts.Now(), nil, fmt.Errorf("panic: %v", p))
		}
	}()
	slot := ""
	if m, err := r.job.Find(""); err == nil {
		slot = m.ID
	}
	if ok := r.claim(ctx, JobUpload, slot+"/"+why); !ok {
		return
	}
	ids, err := r.PushMissing(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("off-site upload failed; will retry", "error", err, "retry_in", RetryEvery.String())
		}
		return
	}
	if len(ids) == 0 {
		if l, err := r.List(ctx); err == nil {
			r.recordListing(l)
			r.update(func(s *State) { s.LastError = "" })
		} else {
			r.recordUpload(r.opts.Now(), nil, err)
		}
	}
	if r.claim(ctx, JobPrune, slot) {
		if _, err := r.Prune(ctx, false); err != nil && ctx.Err() == nil {
			r.log.Error("remote prune", "error", err)
		}
	}
	r.drillIfDue(ctx)
}

// claim asks Options.Claim whether this node runs the slot.
func (r *Remote) claim(ctx context.Context, job, slot string) bool {
	if r.opts.Claim == nil {
		return true
	}
	ok, err := r.opts.Claim(ctx, job, slot)
	if err != nil {
		r.log.Warn("could not claim a scheduled job; skipped", "job", job, "slot", slot, "error", err)
		return false
	}
	return ok
}

// nextDrill is when the drill after last is due; zero when drills are off.
// The first drill is due at once (after the first upload).
func nextDrill(every string, last time.Time) time.Time {
	switch {
	case every == config.DrillOff:
		return time.Time{}
	case last.IsZero():
		return time.Unix(1, 0)
	case every == config.DrillWeekly:
		return last.AddDate(0, 0, 7)
	default:
		return last.AddDate(0, 1, 0)
	}
}

func (r *Remote) setNextDrill() {
	r.mu.Lock()
	r.state.NextDrill = nextDrill(r.cfg.Drill, r.state.LastDrill)
	r.mu.Unlock()
}

// drillIfDue runs the drill when its time has come and a complete remote
// copy exists.
func (r *Remote) drillIfDue(ctx context.Context) {
	due := nextDrill(r.cfg.Drill, r.State().LastDrill)
	if due.IsZero() || r.opts.Now().Before(due) || r.State().LastSuccess.IsZero() {
		return
	}
	if !r.claim(ctx, JobDrill, due.UTC().Format("2006-01-02")) {
		return
	}
	if _, err := r.Drill(ctx); err != nil && ctx.Err() == nil {
		r.log.Error("restore drill failed", "error", err)
	}
}

// Drill restores the newest remote copy into a scratch target (the kind
// of backup.verify; scratch-cluster when that is none), compares the row
// counts and records the outcome in the state. An encrypted backup with
// no identity (backup.remote.drill_identity) is downloaded and its
// SHA-256 checked, but not restored; the detail says so.
func (r *Remote) Drill(ctx context.Context) (*backupjob.Manifest, error) {
	started := r.opts.Now()
	m, err := r.Find(ctx, "")
	var detail string
	switch {
	case err != nil:
	case m.Encrypted && len(r.opts.Identities) == 0:
		if _, err = r.Pull(ctx, m.ID, r.opts.ScratchDir+"/edge-remote-drill"); err == nil {
			detail = "downloaded, sha256 ok; " + ErrDrillNoIdentity.Error()
		}
		r.removeDrillDir()
	default:
		var vm *backupjob.Manifest
		if vm, err = r.Verify(ctx, m.ID, ""); err == nil {
			detail = vm.Verified.Detail
		}
	}
	if err != nil && ctx.Err() != nil {
		return m, err // shutting down: not a drill result
	}
	id := ""
	if m != nil {
		id = m.ID
	}
	r.update(func(s *State) {
		s.LastDrill, s.LastDrillOK, s.LastDrillID, s.LastDrillDetail = started, err == nil, id, detail
		if err != nil {
			s.LastDrillDetail = err.Error()
		}
		s.NextDrill = nextDrill(r.cfg.Drill, started)
	})
	if err == nil {
		r.log.Info("restore drill passed", "id", id, "detail", detail)
	}
	return m, err
}

func (r *Remote) removeDrillDir() {
	if err := removeAll(r.opts.ScratchDir + "/edge-remote-drill"); err != nil && !errors.Is(err, context.Canceled) {
		r.log.Warn("remove drill download", "error", err)
	}
}
