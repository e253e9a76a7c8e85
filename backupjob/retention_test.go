package backupjob

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gitcourse/edge/config"
)

// writeFake stores a backup with id as Backup would (file, then manifest),
// without PostgreSQL; good says whether it passed verification.
func writeFake(t *testing.T, j *Job, id string, good bool) *Manifest {
	return writeFakeVerified(t, j, id, &good)
}

// writeFakeVerified is writeFake with verified = nil when ok is nil.
func writeFakeVerified(t *testing.T, j *Job, id string, ok *bool) *Manifest {
	t.Helper()
	start, err := time.Parse(idLayout, id)
	if err != nil {
		t.Fatal(err)
	}
	m := &Manifest{ID: id, Database: "db", Format: FormatCustom, StartedAt: start, FinishedAt: start.Add(time.Minute),
		ServerVersion: "15.18", Tables: map[string]int64{"public.users": 1}}
	m.File = fileName(m.ID, m.Database, m.Format, false)
	m.SizeBytes = int64(len(id))
	if ok != nil {
		m.Verified = &Verification{At: m.FinishedAt, OK: *ok, Detail: "fake"}
	}
	if err := os.MkdirAll(j.Dir(), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(j.Path(m), []byte(id), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := j.writeManifest(m); err != nil {
		t.Fatal(err)
	}
	return m
}

func fakeJob(t *testing.T, keep Keep, now func() time.Time) *Job {
	t.Helper()
	cfg := &config.Backup{Dir: filepath.Join(t.TempDir(), "b"), Schedule: config.MustSchedule("03:00"), Format: FormatCustom,
		Verify: VerifyNone, KeepDaily: keep.Daily, KeepWeekly: keep.Weekly, KeepMonthly: keep.Monthly}
	return newJob(t, cfg, Options{Location: time.UTC, Now: now})
}

// TestRetention60Days takes a backup every day at 03:00 for 60 simulated
// days (2026-01-01 to 2026-03-01), pruning after each, and checks the
// exact set left with keep_daily=7, keep_weekly=4, keep_monthly=6.
func TestRetention60Days(t *testing.T) {
	var now time.Time
	j := fakeJob(t, Keep{Daily: 7, Weekly: 4, Monthly: 6}, func() time.Time { return now })
	day0 := time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC)
	for d := range 60 {
		now = day0.AddDate(0, 0, d)
		writeFake(t, j, now.Format(idLayout), true)
		if _, err := j.Prune(false); err != nil {
			t.Fatalf("day %d: %v", d, err)
		}
		if n := len(listIDs(t, j)); n > 7+4+6 {
			t.Fatalf("day %d: %d backups kept, more than the policy allows", d, n)
		}
	}
	// Last day 2026-03-01 (a Sunday).
	// daily:   Feb 23 .. Mar 1 (7 days)
	// weekly:  newest of ISO weeks 09 (Mar 1), 08 (Feb 22), 07 (Feb 15), 06 (Feb 8)
	// monthly: newest of March (Mar 1), February (Feb 28), January (Jan 31)
	want := []string{
		"20260301", "20260228", "20260227", "20260226", "20260225", "20260224", "20260223",
		"20260222", "20260215", "20260208",
		"20260131",
	}
	var got []string
	for _, id := range listIDs(t, j) {
		got = append(got, id[:8])
	}
	if !slices.Equal(got, want) {
		t.Fatalf("kept %v\nwant %v", got, want)
	}
}

func TestRetentionRules(t *testing.T) {
	at := func(day int) string { return time.Date(2026, 11, day, 3, 0, 0, 0, time.UTC).Format(idLayout) }
	tests := []struct {
		name       string
		keep       Keep
		good       map[int]bool // day -> verified ok; days absent are not written
		unverified []int        // days written with no verification
		lastError  string
		wantKept   []int
		blocked    bool
	}{
		{"keeps the newest verified beyond the policy", Keep{Daily: 2},
			map[int]bool{19: true, 20: true}, []int{21, 22, 23}, "", []int{23, 22, 20}, false},
		{"a failed newest blocks deletion", Keep{Daily: 1},
			map[int]bool{20: true, 21: true, 22: false}, nil, "", []int{22, 21, 20}, true},
		{"a failed attempt blocks deletion", Keep{Daily: 1},
			map[int]bool{20: true, 21: true}, nil, "connect to database: refused", []int{21, 20}, true},
		{"zero keep still keeps the newest", Keep{},
			map[int]bool{20: true, 21: true}, nil, "", []int{21}, false},
		{"failed verifications are deleted", Keep{Daily: 5},
			map[int]bool{20: true, 21: false, 22: true}, nil, "", []int{22, 20}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := fakeJob(t, tc.keep, time.Now)
			for day := 1; day <= 31; day++ {
				if ok, set := tc.good[day]; set {
					writeFake(t, j, at(day), ok)
				}
				if slices.Contains(tc.unverified, day) {
					writeFakeVerified(t, j, at(day), nil)
				}
			}
			if tc.lastError != "" {
				if err := writePersisted(j.Dir(), persisted{LastError: tc.lastError}); err != nil {
					t.Fatal(err)
				}
			}
			dry, err := j.Prune(true)
			if err != nil {
				t.Fatal(err)
			}
			if (dry.Blocked != "") != tc.blocked {
				t.Errorf("blocked = %q, want %v", dry.Blocked, tc.blocked)
			}
			if n := len(listIDs(t, j)); n != len(tc.good)+len(tc.unverified) {
				t.Fatalf("dry run deleted: %d listed, want %d", n, len(tc.good)+len(tc.unverified))
			}
			if _, err := j.Prune(false); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, d := range tc.wantKept {
				want = append(want, at(d))
			}
			if got := listIDs(t, j); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("kept %v, want %v", got, want)
			}
		})
	}
}
