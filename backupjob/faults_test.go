package backupjob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/internal/testutil"
	"github.com/gitcourse/edge/status"
	"github.com/jackc/pgx/v5"
)

// wrapperBin makes a pg_bin directory whose pg_dump is script (with REAL
// replaced by the real pg_dump) and whose other programs are the real ones.
func wrapperBin(t *testing.T, srv *testServer, script string) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range []string{"pg_restore", "psql", "initdb", "pg_ctl"} {
		if err := os.Symlink(filepath.Join(srv.Bin, p), filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	real := filepath.Join(srv.Bin, "pg_dump")
	body := "#!/bin/sh\ncase \"$1\" in --version) exec " + real + " --version;; esac\n" +
		strings.ReplaceAll(script, "REAL", real) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "pg_dump"), []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPgDumpKilledMidStream: pg_dump dies after 4 KiB; no backup is
// listed, nothing stays in .partial, the error is in the state, and the
// next run succeeds.
func TestPgDumpKilledMidStream(t *testing.T) {
	srv := needPostgres(t)
	db := srv.fixtureDB(t, 2000)
	cfg := testConfig(t, srv, db)
	cfg.Verify = VerifyNone
	cfg.PGBin = wrapperBin(t, srv, "REAL \"$@\" | head -c 4096\nkill -9 $$")
	j := newJob(t, cfg, Options{})
	_, err := j.Backup(t.Context())
	if err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Fatalf("Backup with a killed pg_dump = %v, want a pg_dump error", err)
	}
	if ids := listIDs(t, j); len(ids) != 0 {
		t.Fatalf("listed %v after a failed dump", ids)
	}
	if p := partials(t, cfg.Dir); len(p) != 0 {
		t.Fatalf(".partial holds %v", p)
	}
	if st := j.State(); !strings.Contains(st.LastError, "pg_dump") || !st.Failing() {
		t.Fatalf("state = %+v, want the pg_dump error", st)
	}
	cfg.PGBin = ""
	j2 := newJob(t, cfg, Options{})
	if _, err := j2.Backup(t.Context()); err != nil {
		t.Fatalf("next Backup: %v", err)
	}
	if ids := listIDs(t, j2); len(ids) != 1 || j2.State().Failing() {
		t.Fatalf("after the next run: listed %v, state %+v", ids, j2.State())
	}
}

// TestBackupCancelled: a cancelled context (edge stopping) kills pg_dump
// and its children at once and leaves nothing behind.
func TestBackupCancelled(t *testing.T) {
	srv := needPostgres(t)
	db := srv.fixtureDB(t, 50)
	cfg := testConfig(t, srv, db)
	cfg.Verify = VerifyNone
	cfg.PGBin = wrapperBin(t, srv, "REAL \"$@\"\nsleep 60")
	j := newJob(t, cfg, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := j.Backup(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Backup = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Backup returned %s after the cancel, want at once", d)
	}
	if ids, p := listIDs(t, j), partials(t, cfg.Dir); len(ids)+len(p) != 0 {
		t.Fatalf("listed %v, partial %v", ids, p)
	}
}

// failAfter is a writer that fails with ENOSPC after n bytes.
type failAfter struct {
	w io.Writer
	n int
}

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		n, _ := f.w.Write(p[:f.n])
		f.n = 0
		return n, &os.PathError{Op: "write", Path: "backup", Err: syscall.ENOSPC}
	}
	f.n -= len(p)
	return f.w.Write(p)
}

// TestDiskFull: a write error fails the backup cleanly; the old backup is
// intact and retention deletes nothing.
func TestDiskFull(t *testing.T) {
	srv := needPostgres(t)
	db := srv.fixtureDB(t, 2000)
	cfg := testConfig(t, srv, db)
	cfg.Verify = VerifyNone
	j := newJob(t, cfg, Options{})
	old, err := j.Backup(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	j.wrapFile = func(w io.Writer) io.Writer { return &failAfter{w: w, n: 1000} }
	_, err = j.Backup(t.Context())
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "write backup file") {
		t.Fatalf("Backup on a full disk = %v, want ENOSPC from writing the file", err)
	}
	if ids := listIDs(t, j); len(ids) != 1 || ids[0] != old.ID {
		t.Fatalf("listed %v, want only the old %s", ids, old.ID)
	}
	if bad := checkSHA256(j.Path(old), old); bad != "" {
		t.Fatalf("old backup damaged: %s", bad)
	}
	if p := partials(t, cfg.Dir); len(p) != 0 {
		t.Fatalf(".partial holds %v", p)
	}
	plan, err := j.Prune(true)
	if err != nil || plan.Blocked == "" {
		t.Fatalf("prune plan after a failure: %+v, %v; want blocked", plan, err)
	}
	if st := j.State(); !strings.Contains(st.LastError, "no space left") {
		t.Fatalf("state = %+v", st)
	}
}

// TestPostgresDown: an unreachable server is a recorded failure; backups
// already there stay, and a later run against a live server clears it.
func TestPostgresDown(t *testing.T) {
	srv := needPostgres(t)
	db := srv.fixtureDB(t, 10)
	cfg := testConfig(t, srv, db)
	cfg.Verify = VerifyNone
	good := newJob(t, cfg, Options{})
	if _, err := good.Backup(t.Context()); err != nil {
		t.Fatal(err)
	}
	port, err := testutil.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	down := *cfg
	down.DatabaseURL = config.Secret("postgres://edge:x@127.0.0.1:" + port + "/" + db)
	reg := status.New()
	j := newJob(t, &down, Options{Status: reg})
	if _, err := j.Backup(t.Context()); err == nil || !strings.Contains(err.Error(), "connect to database") {
		t.Fatalf("Backup with PostgreSQL down = %v, want a connect error", err)
	}
	if b := reg.Snapshot().Backup; !b.Configured || !strings.Contains(b.LastError, "connection refused") || b.LastSuccess.IsZero() {
		t.Fatalf("status registry = %+v, want the error and the last success", b)
	}
	st := j.State()
	if st.LastError == "" || st.LastSuccess.IsZero() || st.Backups != 1 {
		t.Fatalf("state = %+v, want the error and the old success", st)
	}
	if plan, _ := j.Prune(true); plan.Blocked == "" {
		t.Fatal("retention not blocked after a failed attempt")
	}
	m, err := good.Backup(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// The same day's older backup is pruned now: keep_daily keeps one a day.
	if st := good.State(); st.Failing() || st.Backups != 1 || !st.LastSuccess.Equal(m.FinishedAt) {
		t.Fatalf("state after recovery = %+v", st)
	}
}

// TestFlippedByte: one changed byte in a stored backup fails verify, is
// recorded in the manifest and the state, and blocks retention.
func TestFlippedByte(t *testing.T) {
	srv := needPostgres(t)
	db := srv.fixtureDB(t, 100)
	cfg := testConfig(t, srv, db)
	cfg.Verify = VerifyNone
	j := newJob(t, cfg, Options{})
	m, err := j.Backup(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	flipByte(t, j.Path(m), m.SizeBytes/2)
	_, err = j.Verify(t.Context(), m.ID, "")
	if !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), "sha256 mismatch") {
		t.Fatalf("Verify of a flipped byte = %v, want ErrVerify with sha256 mismatch", err)
	}
	got, err := j.Find(m.ID)
	if err != nil || got.Verified == nil || got.Verified.OK {
		t.Fatalf("manifest after verify: %+v, %v", got, err)
	}
	if st := j.State(); st.VerifyError == "" || !st.Failing() {
		t.Fatalf("state = %+v, want a verify error", st)
	}
	if plan, _ := j.Prune(true); plan.Blocked == "" {
		t.Fatal("retention not blocked when the newest backup failed verification")
	}
}

// TestCountsMismatch: a restore whose row counts differ from the manifest
// fails verification (here the manifest is edited; the file is intact).
func TestCountsMismatch(t *testing.T) {
	srv := needPostgres(t)
	db := srv.fixtureDB(t, 100)
	cfg := testConfig(t, srv, db)
	cfg.Verify = VerifyScratchDB
	j := newJob(t, cfg, Options{})
	m, err := j.Backup(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	m.Tables["public.users"]++
	m.Tables["public.ghost"] = 1
	if err := j.writeManifest(m); err != nil {
		t.Fatal(err)
	}
	_, err = j.Verify(t.Context(), m.ID, "")
	if !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), "public.users has 100 rows, manifest 101") ||
		!strings.Contains(err.Error(), "public.ghost missing") {
		t.Fatalf("Verify = %v, want a row count mismatch", err)
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x01
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestNeverTwoAtOnce: the directory lock and the advisory lock each stop
// a second backup, and neither counts as a failure.
func TestNeverTwoAtOnce(t *testing.T) {
	srv := needPostgres(t)
	db := srv.fixtureDB(t, 10)
	cfg := testConfig(t, srv, db)
	cfg.Verify = VerifyNone
	j := newJob(t, cfg, Options{})
	lock, err := lockDir(cfg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Backup(t.Context()); !errors.Is(err, ErrBusy) {
		t.Fatalf("Backup while the directory is locked = %v, want ErrBusy", err)
	}
	lock.Unlock()

	other, err := pgx.Connect(t.Context(), srv.url(db))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(context.Background())
	if _, err := other.Exec(t.Context(), "SELECT pg_advisory_lock($1)", advisoryKey(db)); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Backup(t.Context()); !errors.Is(err, ErrOtherNode) {
		t.Fatalf("Backup while another node holds the advisory lock = %v, want ErrOtherNode", err)
	}
	if st := j.State(); st.Failing() {
		t.Fatalf("a skipped backup was recorded as a failure: %+v", st)
	}
	if _, err := other.Exec(t.Context(), "SELECT pg_advisory_unlock($1)", advisoryKey(db)); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Backup(t.Context()); err != nil {
		t.Fatalf("Backup after the lock is released: %v", err)
	}
}

// TestSnapshotConsistency: rows written while the backup runs (pg_dump
// starts a second late) are neither in the dump nor in the counts, so the
// verification matches.
func TestSnapshotConsistency(t *testing.T) {
	srv := needPostgres(t)
	db := srv.fixtureDB(t, 100)
	cfg := testConfig(t, srv, db)
	cfg.Verify = VerifyScratchDB
	cfg.PGBin = wrapperBin(t, srv, "sleep 1\nexec REAL \"$@\"")
	j := newJob(t, cfg, Options{})
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan int)
	go func() {
		n := 0
		conn, err := pgx.Connect(ctx, srv.url(db))
		if err == nil {
			defer conn.Close(context.Background())
			for ctx.Err() == nil {
				if _, err := conn.Exec(ctx, "INSERT INTO audit_log (entry) VALUES ('{\"a\": 1}')"); err == nil {
					n++
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		done <- n
	}()
	m, err := j.Backup(t.Context())
	stop()
	written := <-done
	if err != nil {
		t.Fatalf("Backup under concurrent writes: %v", err)
	}
	if written == 0 || m.Tables["public.audit_log"] >= int64(written) {
		t.Fatalf("wrote %d rows during the backup, manifest counts %d: the test did not overlap", written, m.Tables["public.audit_log"])
	}
	t.Logf("%d rows written during the backup; %d in the snapshot", written, m.Tables["public.audit_log"])
}

// TestCleansLeftovers: partial files, backup files without a manifest and
// scratch clusters of a killed process are removed at start; listed
// backups and files whose manifest does not parse are kept.
func TestCleansLeftovers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "b")
	scratchDir := t.TempDir()
	cfg := &config.Backup{Dir: dir, Schedule: config.MustSchedule("03:00"), Format: FormatCustom, Verify: VerifyNone}
	j := newJob(t, cfg, Options{ScratchDir: scratchDir})
	writeFake(t, j, "20261120T030000Z", true)
	mustWrite(t, filepath.Join(dir, partialDir, "20261125T030000Z-db.dump"), "half")
	mustWrite(t, filepath.Join(dir, "20261124T030000Z-db.dump"), "orphan")
	mustWrite(t, filepath.Join(dir, "20261123T030000Z-db.dump"), "kept: its manifest is there, if broken")
	mustWrite(t, filepath.Join(dir, "20261123T030000Z-db.json"), "{broken")
	mustWrite(t, filepath.Join(dir, "notes.txt"), "not ours")
	stale := filepath.Join(scratchDir, scratchPrefix+"123")
	mustWrite(t, filepath.Join(stale, scratchOwner), dir)
	foreign := filepath.Join(scratchDir, scratchPrefix+"456")
	mustWrite(t, filepath.Join(foreign, scratchOwner), "/elsewhere")

	j.startup(t.Context())
	for path, want := range map[string]bool{
		filepath.Join(dir, partialDir, "20261125T030000Z-db.dump"): false,
		filepath.Join(dir, "20261124T030000Z-db.dump"):             false,
		filepath.Join(dir, "20261123T030000Z-db.dump"):             true,
		filepath.Join(dir, "20261120T030000Z-db.dump"):             true,
		filepath.Join(dir, "notes.txt"):                            true,
		stale:                                                      false,
		foreign:                                                    true,
	} {
		if _, err := os.Stat(path); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", path, err == nil, want)
		}
	}
	if ids := listIDs(t, j); fmt.Sprint(ids) != "[20261120T030000Z]" {
		t.Errorf("listed %v", ids)
	}
}

func mustWrite(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestClientTooOld: a pg_dump older than the server is refused by name.
func TestClientTooOld(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"pg_dump", "pg_restore", "psql"} {
		mustWrite(t, filepath.Join(dir, p), "#!/bin/sh\necho '"+p+" (PostgreSQL) 13.4'\n")
		if err := os.Chmod(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_, err := FindTools(t.Context(), dir, 15)
	if !errors.Is(err, ErrClientTooOld) || !strings.Contains(err.Error(), "pg_dump 13.4") {
		t.Fatalf("FindTools(13.4 for a 15 server) = %v, want ErrClientTooOld naming the version", err)
	}
	tools, err := FindTools(t.Context(), dir, 13)
	if err != nil || tools.Major != 13 || tools.PSQL == "" {
		t.Fatalf("FindTools(13.4 for a 13 server) = %+v, %v", tools, err)
	}
}
