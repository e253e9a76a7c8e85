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

// runRecorder is a fake backup for Run: it records when it was called
// and fails while fail is set.
type runRecorder struct {
	mu      sync.Mutex
	calls   []time.Time
	fail    bool
	running bool
	overlap bool
	j       *Job
	t       *testing.T
	take    time.Duration
}

func (r *runRecorder) run(ctx context.Context) error {
	r.mu.Lock()
	if r.running {
		r.overlap = true
	}
	r.running = true
	r.calls = append(r.calls, time.Now())
	fail := r.fail
	r.mu.Unlock()
	time.Sleep(r.take)
	r.mu.Lock()
	r.running = false
	r.mu.Unlock()
	if fail {
		err := errors.New("connect to database: connection refused")
		r.j.record(time.Now(), nil, err)
		return err
	}
	m := writeFake(r.t, r.j, time.Now().UTC().Format(idLayout), true)
	r.j.record(m.StartedAt, m, nil)
	return nil
}

func (r *runRecorder) times() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.calls {
		out = append(out, c.UTC().Format("01-02 15:04"))
	}
	return out
}

// TestRunSchedule: Run catches up at start when a run was missed, then
// follows the schedule; a failure is retried at the next scheduled time,
// and runs never overlap. Time is synctest's fake clock.
func TestRunSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// synctest's clock starts at 2000-01-01 00:00 UTC.
		cfg := &config.Backup{Dir: filepath.Join(t.TempDir(), "b"), Schedule: config.MustSchedule("03:00"), Format: FormatCustom,
			Verify: VerifyNone, KeepDaily: 30}
		j := newJob(t, cfg, Options{Location: time.UTC})
		// The last success was two days ago: catch up at once.
		writeFake(t, j, "19991230T030000Z", true)
		rec := &runRecorder{j: j, t: t, take: 10 * time.Minute}
		j.runOnce = rec.run
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- j.Run(ctx) }()

		time.Sleep(time.Hour) // 01:00: caught up
		synctest.Wait()
		if got := rec.times(); len(got) != 1 || got[0] != "01-01 00:00" {
			t.Fatalf("runs by 01:00 = %v, want one catch-up at 00:00", got)
		}
		if next := j.State().NextRun; !next.Equal(time.Date(2000, 1, 1, 3, 0, 0, 0, time.UTC)) {
			t.Errorf("NextRun = %s, want 03:00", next)
		}
		rec.mu.Lock()
		rec.fail = true // PostgreSQL goes down
		rec.mu.Unlock()
		time.Sleep(24 * time.Hour) // 01:00 the next day
		synctest.Wait()
		if st := j.State(); st.LastError == "" {
			t.Errorf("state after a failed run = %+v, want the error", st)
		}
		rec.mu.Lock()
		rec.fail = false
		rec.mu.Unlock()
		time.Sleep(48 * time.Hour)
		synctest.Wait()
		want := []string{"01-01 00:00", "01-01 03:00", "01-02 03:00", "01-03 03:00"}
		if got := rec.times(); !equalStrings(got, want) {
			t.Fatalf("runs = %v, want %v", got, want)
		}
		if st := j.State(); st.LastError != "" || st.LastSuccess.Before(time.Date(2000, 1, 3, 3, 0, 0, 0, time.UTC)) {
			t.Errorf("state after recovery = %+v", st)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v, want nil on cancel", err)
		}
		if rec.overlap {
			t.Error("two runs overlapped")
		}
	})
}

// TestRunNoCatchUp: a recent success means Run waits for the schedule.
func TestRunNoCatchUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := &config.Backup{Dir: filepath.Join(t.TempDir(), "b"), Schedule: config.MustSchedule("15,45 * * * *"), Format: FormatCustom,
			Verify: VerifyNone, KeepDaily: 100}
		j := newJob(t, cfg, Options{Location: time.UTC})
		writeFake(t, j, "19991231T235000Z", true) // 10 minutes ago, after 23:45
		rec := &runRecorder{j: j, t: t}
		j.runOnce = rec.run
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- j.Run(ctx) }()
		time.Sleep(65 * time.Minute)
		synctest.Wait()
		cancel()
		<-done
		if got, want := rec.times(), []string{"01-01 00:15", "01-01 00:45"}; !equalStrings(got, want) {
			t.Fatalf("runs = %v, want %v", got, want)
		}
	})
}

// TestRunRecoversPanic: a panicking backup is recorded and Run goes on.
func TestRunRecoversPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := &config.Backup{Dir: filepath.Join(t.TempDir(), "b"), Schedule: config.MustSchedule("03:00"), Format: FormatCustom, Verify: VerifyNone}
		j := newJob(t, cfg, Options{Location: time.UTC})
		calls := 0
		j.runOnce = func(context.Context) error { calls++; panic("boom") }
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- j.Run(ctx) }()
		time.Sleep(30 * time.Hour)
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if calls != 3 || j.State().LastError == "" {
			t.Fatalf("calls = %d, state %+v; want 3 calls (catch-up, 03:00, 03:00) and the panic recorded", calls, j.State())
		}
	})
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRunVerifiesPending: a backup left unverified by a killed run is
// verified at start when no catch-up backup is due.
func TestRunVerifiesPending(t *testing.T) {
	srv := needPostgres(t)
	db := srv.fixtureDB(t, 20)
	cfg := testConfig(t, srv, db)
	cfg.Verify = VerifyNone
	m, err := newJob(t, cfg, Options{}).Backup(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Verify = VerifyScratchDB
	j := newJob(t, cfg, Options{})
	j.runOnce = func(context.Context) error { t.Error("no backup was due"); return nil }
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- j.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := j.Find(m.ID)
		if err == nil && got.Verified != nil {
			if !got.Verified.OK {
				t.Errorf("verification failed: %s", got.Verified.Detail)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the pending backup was not verified within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
