package backupjob

import (
	"context"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gitcourse/edge/config"
)

// Retire during a backup lets that backup finish (its context is not
// cancelled) and then ends Run; Retire while Run waits ends it at once.
func TestRetireFinishesTheRunningBackup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := &config.Backup{Dir: filepath.Join(t.TempDir(), "b"), Schedule: config.MustSchedule("03:00"), Format: FormatCustom,
			Verify: VerifyNone, KeepDaily: 30}
		j := newJob(t, cfg, Options{Location: time.UTC})
		var cancelled bool
		rec := &runRecorder{j: j, t: t, take: 10 * time.Minute}
		j.runOnce = func(ctx context.Context) error {
			err := rec.run(ctx)
			cancelled = ctx.Err() != nil
			return err
		}
		done := make(chan error)
		go func() { done <- j.Run(t.Context()) }() // no backup yet: catch up at once
		time.Sleep(time.Minute)
		synctest.Wait()
		rec.mu.Lock()
		running := rec.running
		rec.mu.Unlock()
		if !running || len(rec.times()) != 1 {
			t.Fatalf("no backup running at 00:01: calls %v", rec.times())
		}
		j.Retire()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("Run returned while its backup was running")
		default:
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if cancelled || j.State().LastSuccess.IsZero() {
			t.Errorf("the running backup: cancelled %v, last success %v; want it finished", cancelled, j.State().LastSuccess)
		}
		if got := time.Since(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)); got != 10*time.Minute {
			t.Errorf("Run returned after %s, want 10m (when the backup ended)", got)
		}
		if !j.Retired() {
			t.Error("Retired() is false after Retire")
		}

		j2 := newJob(t, &config.Backup{Dir: cfg.Dir, Schedule: config.MustSchedule("04:00"), Format: FormatCustom, Verify: VerifyNone, KeepDaily: 30},
			Options{Location: time.UTC})
		j2.runOnce = rec.run
		done2 := make(chan error)
		go func() { done2 <- j2.Run(t.Context()) }() // last success is fresh: waits for 04:00
		synctest.Wait()
		if next := j2.State().NextRun; next.Hour() != 4 {
			t.Errorf("next run %v, want 04:00", next)
		}
		j2.Retire()
		if err := <-done2; err != nil {
			t.Fatal(err)
		}
		if n := len(rec.times()); n != 1 {
			t.Errorf("%d backups, want 1 (the retired job took none)", n)
		}
	})
}
