package backupjob

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gitcourse/edge/config"
)

// TestRunClaimsEachSlot: with a claim hook, Run asks it for every
// scheduled slot and runs only the slots it wins; a claim error skips the
// slot rather than risking a second dump of it.
func TestRunClaimsEachSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := &config.Backup{Dir: filepath.Join(t.TempDir(), "b"), Schedule: config.MustSchedule("0 * * * *"), Format: FormatCustom,
			Verify: VerifyNone, KeepDaily: 100}
		var mu sync.Mutex
		var asked []string
		claim := func(_ context.Context, job string, slot time.Time) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			asked = append(asked, job+" "+slot.UTC().Format("15:04"))
			switch slot.Hour() {
			case 2:
				return false, nil // another node won it
			case 3:
				return false, errors.New("PostgreSQL unreachable")
			}
			return true, nil
		}
		j := newJob(t, cfg, Options{Location: time.UTC, Claim: claim})
		writeFake(t, j, "19991231T235900Z", true) // recent: no catch-up
		rec := &runRecorder{j: j, t: t}
		j.runOnce = rec.run
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- j.Run(ctx) }()
		time.Sleep(4*time.Hour + 30*time.Minute)
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if want := []string{"backup 01:00", "backup 02:00", "backup 03:00", "backup 04:00"}; !equalStrings(asked, want) {
			t.Errorf("claims = %v, want %v", asked, want)
		}
		if got, want := rec.times(), []string{"01-01 01:00", "01-01 04:00"}; !equalStrings(got, want) {
			t.Errorf("runs = %v, want %v (only the slots this node won)", got, want)
		}
	})
}
