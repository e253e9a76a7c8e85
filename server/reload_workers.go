package server

import (
	"context"
	"log/slog"
	"reflect"
	"sync"

	"github.com/gitcourse/edge/backupjob"
	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/health"
	"github.com/gitcourse/edge/status"
	"golang.org/x/sync/errgroup"
)

// reloadables owns the lifecycles of the workers a reload replaces: the
// backup job and the health monitor. New builds the first backup job, Run
// starts both, and each reload prepares the next ones (changing nothing)
// and commits them once the whole configuration is known to apply.
//
// A replaced backup job stops scheduling but finishes a backup in
// progress under its own settings; the next job starts when it is done,
// so two never run at once. A replaced monitor stops its checks at once,
// still delivers the alerts it had queued, and hands its checks' states
// (open incidents, last alerts) to its successor, which shares its
// uptime history.
type reloadables struct {
	log      *slog.Logger
	registry *status.Registry
	monitor  func(cfg *config.Config, prev *health.Monitor) (*health.Monitor, error)
	publish  func(*health.Monitor) // makes the monitor current (Server.Health)
	jobOpts  backupjob.Options
	boot     *config.Config // the configuration at start (reload_notes.go)

	mu      sync.Mutex
	ctx     context.Context // Run's; nil before start
	wg      sync.WaitGroup  // every generation's goroutine
	job     *backupjob.Job  // nil without [backup]
	jobCfg  *config.Backup
	jobDone chan struct{} // closed when the current job's Run returned (nil: none ran)
	mon     *health.Monitor
}

// nextReloadables is what a reload built: swapped in by commit, or dropped
// by discard.
type nextReloadables struct {
	cfg     *config.Config
	job     *backupjob.Job // nil: no [backup], or the current job is kept
	keepJob bool           // [backup] did not change
	mon     *health.Monitor
}

// newBackupJob builds the backup job of cfg, or nil without [backup].
func (w *reloadables) newBackupJob(cfg *config.Config) (*backupjob.Job, error) {
	if cfg.Backup == nil {
		return nil, nil
	}
	return backupjob.New(cfg.Backup, w.jobOpts)
}

// start runs the first backup job and builds and runs the first monitor
// (a monitor that cannot start is logged: the site serves without it).
// Every generation's goroutine runs in g until ctx ends.
func (w *reloadables) start(ctx context.Context, g *errgroup.Group, cfg *config.Config) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ctx = ctx
	if w.job != nil {
		w.jobDone = w.runJob(w.job, nil)
	}
	mon, err := w.monitor(cfg, nil)
	if err != nil {
		w.log.Error("health checks and alerts are off", "error", err)
	} else {
		w.runMonitor(mon, nil)
	}
	g.Go(func() error {
		<-ctx.Done()
		w.wg.Wait()
		return nil
	})
}

// prepare builds the workers of cfg without touching the running ones.
// An error leaves everything as it was.
func (w *reloadables) prepare(cfg *config.Config) (*nextReloadables, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	next := &nextReloadables{cfg: cfg}
	if w.job != nil && cfg.Backup != nil && reflect.DeepEqual(*w.jobCfg, *cfg.Backup) {
		next.keepJob = true
	} else {
		job, err := w.newBackupJob(cfg)
		if err != nil {
			return nil, err
		}
		next.job = job
	}
	if w.ctx == nil {
		return next, nil // before Run: start builds the monitor
	}
	mon, err := w.monitor(cfg, w.mon)
	switch {
	case err != nil && w.mon != nil:
		return nil, err
	case err != nil:
		w.log.Error("health checks and alerts are still off", "error", err)
	}
	next.mon = mon
	return next, nil
}

// discard drops what prepare built (the reload failed later).
func (next *nextReloadables) discard() {
	if next != nil && next.mon != nil {
		_ = next.mon.Close()
	}
}

// commit swaps in what prepare built.
func (w *reloadables) commit(next *nextReloadables) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !next.keepJob {
		if w.job != nil {
			w.job.Retire()
			w.log.Info("backup settings changed; the schedule restarts with them (a backup in progress finishes first)")
		}
		w.job, w.jobCfg = next.job, next.cfg.Backup
		if w.ctx != nil {
			w.jobDone = w.runJob(next.job, w.jobDone)
		}
	}
	if w.ctx == nil || next.mon == nil {
		return
	}
	old := w.mon
	if old != nil {
		old.Retire()
	}
	w.runMonitor(next.mon, old)
}

// runJob runs job (nil: [backup] was removed) after the previous job's
// Run returned, and returns the channel closed when it is done.
func (w *reloadables) runJob(job *backupjob.Job, prev <-chan struct{}) chan struct{} {
	done := make(chan struct{})
	ctx := w.ctx
	w.wg.Go(func() {
		defer close(done)
		if prev != nil {
			select {
			case <-prev:
			case <-ctx.Done():
				return
			}
		}
		if job == nil {
			w.registry.SetBackup(status.Backup{})
			return
		}
		if job.Retired() {
			return // replaced by a later reload before it started
		}
		if err := job.Run(ctx); err != nil {
			w.log.Error("backup schedule stopped", "error", err)
		}
	})
	return done
}

// runMonitor makes mon current and runs it; with prev, once prev's checks
// stopped, mon first takes over their states.
func (w *reloadables) runMonitor(mon, prev *health.Monitor) {
	w.mon = mon
	w.publish(mon)
	ctx := w.ctx
	w.wg.Go(func() {
		defer mon.Close()
		if prev != nil {
			select {
			case <-prev.ChecksStopped():
				mon.Adopt(prev)
			case <-ctx.Done():
				return
			}
		}
		_ = mon.Run(ctx)
	})
}

// currentJob is the backup job of the running configuration, or nil.
func (w *reloadables) currentJob() *backupjob.Job {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.job
}
