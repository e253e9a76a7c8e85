package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/backupjob"
	"github.com/gitcourse/edge/backupjob/remote/remotetest"
	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/health"
	"github.com/gitcourse/edge/status"
)

const bucket = "edge-backups"

// env is a backup directory with a job, and a Remote on a real versitygw.
type env struct {
	vgw *remotetest.Server
	cfg *config.Backup
	job *backupjob.Job
	r   *Remote
	reg *status.Registry
}

func newEnv(t *testing.T, edit func(*config.BackupRemote)) *env {
	t.Helper()
	vgw := remotetest.Start(t, bucket)
	yes := true
	rc := &config.BackupRemote{URL: "s3://" + bucket + "/prod", Endpoint: vgw.Endpoint, Region: remotetest.Region,
		AccessKey: remotetest.AccessKey, SecretKey: remotetest.SecretKey, PathStyle: true, RequireEncryption: &yes,
		Drill: config.DrillOff, KeepDaily: 7, KeepWeekly: 4, KeepMonthly: 6}
	if edit != nil {
		edit(rc)
	}
	cfg := &config.Backup{Dir: filepath.Join(t.TempDir(), "backups"), Schedule: config.MustSchedule("03:00"), Format: backupjob.FormatCustom,
		Verify: backupjob.VerifyNone, KeepDaily: 7, KeepWeekly: 4, KeepMonthly: 6, Remote: rc}
	log := slog.New(slog.DiscardHandler)
	job, err := backupjob.New(cfg, backupjob.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	reg := status.New()
	r, err := Open(cfg, job, Options{Logger: log, Status: reg, ScratchDir: t.TempDir(),
		S3: S3Options{PartSize: 5 << 20, Attempts: 3, Backoff: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return &env{vgw: vgw, cfg: cfg, job: job, r: r, reg: reg}
}

// addBackup stores a synthetic backup (random bytes) of size in the
// local backup directory, as a finished backup would be.
func (e *env) addBackup(t *testing.T, at time.Time, size int, encrypted bool) *backupjob.Manifest {
	t.Helper()
	data := make([]byte, size)
	_, _ = rand.Read(data)
	sum := sha256.Sum256(data)
	m := &backupjob.Manifest{ID: at.UTC().Format("20060102T150405Z"), Database: "gitcourse", Format: backupjob.FormatCustom,
		Encrypted: encrypted, StartedAt: at.UTC(), FinishedAt: at.UTC().Add(time.Second), SizeBytes: int64(size),
		SHA256: hex.EncodeToString(sum[:]), ServerVersion: "15.8", Tables: map[string]int64{"public.users": 3},
		Verified: &backupjob.Verification{At: at.UTC(), OK: true, Detail: "test"}}
	m.File = m.ExpectedFile()
	if err := backupjob.ImportBackup(e.cfg.Dir, m, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestUploadListPull: a multipart upload (12 MiB in 5 MiB parts) lands
// under the SPEC layout, is listed, recorded in the local manifest, in the
// state and the status registry, and pulls back byte for byte.
func TestUploadListPull(t *testing.T) {
	e := newEnv(t, nil)
	m := e.addBackup(t, time.Now().Add(-time.Hour), 12<<20, true)
	if _, err := e.r.Upload(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{m.File, m.ManifestName()} {
		if _, err := os.Stat(e.vgw.Object(bucket, "prod/"+name)); err != nil {
			t.Errorf("object prod/%s not stored: %v", name, err)
		}
	}
	l, err := e.r.List(context.Background())
	if err != nil || len(l.Backups) != 1 || l.Backups[0].SHA256 != m.SHA256 || l.Objects != 2 {
		t.Fatalf("list: %v, %+v", err, l)
	}
	local, _ := e.job.Find(m.ID)
	if local.Remote == nil || !local.Remote.OK || local.Remote.Key != "prod/"+m.File || !strings.Contains(local.Remote.Detail, "ETag") {
		t.Errorf("local manifest remote field: %+v", local.Remote)
	}
	if st := e.r.State(); st.LastID != m.ID || st.LastSuccess.IsZero() || st.LastError != "" {
		t.Errorf("state: %+v", st)
	}
	if snap := e.reg.Snapshot(); snap.BackupRemote == nil || snap.BackupRemote.LastID != m.ID {
		t.Errorf("status registry: %+v", snap.BackupRemote)
	}
	dir := filepath.Join(t.TempDir(), "b")
	pm, err := e.r.Pull(context.Background(), backupjob.Latest, dir)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, pm.File))
	want, _ := os.ReadFile(e.job.Path(m))
	if !bytes.Equal(got, want) {
		t.Errorf("pulled file differs from the uploaded one")
	}
}

// TestRequireEncryption: an unencrypted backup is refused with a message
// naming backup.encrypt_to, nothing is stored, the refusal is recorded.
func TestRequireEncryption(t *testing.T) {
	e := newEnv(t, nil)
	m := e.addBackup(t, time.Now(), 1000, false)
	_, err := e.r.Upload(context.Background(), m.ID)
	if !errors.Is(err, ErrNotEncrypted) || !strings.Contains(err.Error(), "backup.encrypt_to") {
		t.Fatalf("got %v, want ErrNotEncrypted naming backup.encrypt_to", err)
	}
	if objs, _ := e.r.store.List(context.Background(), ""); len(objs) != 0 {
		t.Errorf("%d objects stored, want none", len(objs))
	}
	local, _ := e.job.Find(m.ID)
	if local.Remote == nil || local.Remote.OK {
		t.Errorf("refusal not recorded: %+v", local.Remote)
	}
	if ids, err := e.r.PushMissing(context.Background()); err != nil || len(ids) != 0 {
		t.Errorf("PushMissing retried a refused backup: %v %v", ids, err)
	}
}

// TestServiceDown: with the service stopped the upload fails after its
// retries with an error naming the endpoint, the local backup stays
// listed, the state and the freshness check report it; once the service
// is back, PushMissing uploads it and the check passes.
func TestServiceDown(t *testing.T) {
	e := newEnv(t, nil)
	m := e.addBackup(t, time.Now(), 6<<20, true)
	e.vgw.Stop()
	_, err := e.r.Upload(context.Background(), m.ID)
	if err == nil || !strings.Contains(err.Error(), "cannot reach backup.remote.endpoint") || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Fatalf("got %v, want a cannot-reach error after 3 attempts", err)
	}
	if ms, _ := e.job.List(); len(ms) != 1 {
		t.Fatalf("local backups: %d, want 1", len(ms))
	}
	check := &health.RemoteBackupFreshness{State: func() *status.RemoteBackup { return e.reg.Snapshot().BackupRemote }}
	if err := check.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Errorf("freshness check: %v, want a failure", err)
	}
	e.vgw.Restart(t)
	ids, err := e.r.PushMissing(context.Background())
	if err != nil || len(ids) != 1 || ids[0] != m.ID {
		t.Fatalf("PushMissing after restart: %v %v", ids, err)
	}
	if err := check.Check(context.Background()); err != nil {
		t.Errorf("freshness check after the upload: %v", err)
	}
}

// TestInterruptedUpload: an upload cut off mid-way leaves no manifest, so
// nothing is listed; the next PushMissing completes it.
func TestInterruptedUpload(t *testing.T) {
	e := newEnv(t, func(r *config.BackupRemote) { r.Bandwidth = "2MiB" })
	m := e.addBackup(t, time.Now(), 11<<20, true)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	if _, err := e.r.Upload(ctx, m.ID); err == nil {
		t.Fatal("upload of 11 MiB at 2 MiB/s finished in 1.5 s")
	}
	l, err := e.r.List(context.Background())
	if err != nil || len(l.Backups) != 0 {
		t.Fatalf("after an interrupted upload: %v, %d listed", err, len(l.Backups))
	}
	if _, err := os.Stat(e.vgw.Object(bucket, "prod/"+m.ManifestName())); !os.IsNotExist(err) {
		t.Errorf("manifest object exists after an interrupted upload: %v", err)
	}
	if ids, err := e.r.PushMissing(context.Background()); err != nil || len(ids) != 1 {
		t.Fatalf("PushMissing: %v %v", ids, err)
	}
	if l, _ := e.r.List(context.Background()); len(l.Backups) != 1 {
		t.Errorf("after completing: %d listed", len(l.Backups))
	}
}

// TestAlteredAndMissingObjects: a byte changed in the stored file makes
// pull refuse it (nothing kept); a missing file keeps the backup out of
// the listing, with the reason.
func TestAlteredAndMissingObjects(t *testing.T) {
	e := newEnv(t, nil)
	m := e.addBackup(t, time.Now(), 100_000, true)
	if _, err := e.r.Upload(context.Background(), m.ID); err != nil {
		t.Fatal(err)
	}
	obj := e.vgw.Object(bucket, "prod/"+m.File)
	b, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(obj, b, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "b")
	if _, err := e.r.Pull(context.Background(), m.ID, dir); !errors.Is(err, backupjob.ErrChecksum) {
		t.Fatalf("pull of an altered object: %v, want ErrChecksum", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 1 { // only .partial/ may exist
		t.Errorf("pull kept %d entries in %s", len(entries), dir)
	}
	if err := os.Remove(obj); err != nil {
		t.Fatal(err)
	}
	l, err := e.r.List(context.Background())
	if err != nil || len(l.Backups) != 0 || !strings.Contains(l.Problems["prod/"+m.ManifestName()], "missing") {
		t.Fatalf("list with the file missing: %v %+v", err, l)
	}
	if _, err := e.r.Find(context.Background(), m.ID); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("find: %v, want the reason", err)
	}
}

// TestWrongCredentials: a wrong secret, an unknown access key and a
// missing bucket each fail at once (no retries) naming the key to fix.
func TestWrongCredentials(t *testing.T) {
	cases := []struct {
		name string
		edit func(*config.BackupRemote)
		want string
	}{
		{"wrong secret", func(r *config.BackupRemote) { r.SecretKey = "wrong" }, "backup.remote.secret_key"},
		{"unknown access key", func(r *config.BackupRemote) { r.AccessKey = "nobody" }, "backup.remote.access_key"},
		{"missing bucket", func(r *config.BackupRemote) { r.URL = "s3://no-such-bucket/prod" }, "no-such-bucket"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.edit)
			m := e.addBackup(t, time.Now(), 1000, true)
			start := time.Now()
			_, err := e.r.Upload(context.Background(), m.ID)
			if !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a permanent error naming %s", err, c.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s: retried a permanent error", d)
			}
		})
	}
}

// TestPruneRemote: GFS on the remote listing: keep_daily = 2 keeps the
// two newest days, deletes the rest (manifest and file); a dry run
// deletes nothing.
func TestPruneRemote(t *testing.T) {
	e := newEnv(t, func(r *config.BackupRemote) { r.KeepDaily, r.KeepWeekly, r.KeepMonthly = 2, 0, 0 })
	now := time.Now()
	for d := 4; d >= 0; d-- {
		e.addBackup(t, now.AddDate(0, 0, -d), 1000, true)
	}
	if ids, err := e.r.PushMissing(context.Background()); err != nil || len(ids) != 5 {
		t.Fatalf("push: %v %v", ids, err)
	}
	res, err := e.r.Prune(context.Background(), true)
	if err != nil || len(res.Plan.Deletions()) != 3 {
		t.Fatalf("dry run: %v, %d deletions, want 3", err, len(res.Plan.Deletions()))
	}
	if l, _ := e.r.List(context.Background()); len(l.Backups) != 5 {
		t.Fatalf("dry run deleted: %d left", len(l.Backups))
	}
	if _, err := e.r.Prune(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	l, _ := e.r.List(context.Background())
	if len(l.Backups) != 2 || l.Objects != 4 {
		t.Fatalf("after prune: %d backups, %d objects; want 2 and 4", len(l.Backups), l.Objects)
	}
	if ids, err := e.r.PushMissing(context.Background()); err != nil || len(ids) != 0 {
		t.Errorf("PushMissing re-uploaded pruned backups: %v %v", ids, err)
	}
}
