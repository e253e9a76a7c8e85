package backupjob

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gitcourse/edge/internal/atomicfile"
)

// Backup takes one backup now: dump, verify (per backup.verify), then
// prune. It returns the manifest, and an error wrapping ErrVerify when the
// backup was written but failed verification. ErrBusy and ErrOtherNode
// mean another backup is running here or on another node.
func (j *Job) Backup(ctx context.Context) (*Manifest, error) {
	if j.target.url == "" {
		return nil, errors.New("backup: backup.database_url is empty")
	}
	ctx, done, err := j.beginRun(ctx, "backup")
	if err != nil {
		return nil, err
	}
	defer done()
	started := j.opts.Now()
	j.update(func(s *State) { s.Running, s.LastAttempt = true, started })
	defer j.update(func(s *State) { s.Running = false })

	m, err := j.backupLocked(ctx)
	if errors.Is(err, ErrOtherNode) {
		j.log.Info("backup skipped: " + err.Error())
		return nil, err
	}
	j.record(started, m, err)
	if err != nil && m == nil {
		return nil, err
	}
	if err == nil {
		if _, perr := j.pruneLocked(false); perr != nil {
			j.log.Error("prune backups", "error", perr)
		}
	}
	return m, err
}

// record saves the outcome of an attempt in the state and the state file.
func (j *Job) record(started time.Time, m *Manifest, err error) {
	p := readPersisted(j.cfg.Dir)
	p.LastAttempt = started
	now := j.opts.Now()
	switch {
	case m == nil:
		p.LastError, p.LastErrorAt = err.Error(), now
		j.log.Error("backup failed", "error", err)
	case m.Verified != nil && !m.Verified.OK:
		p.LastError, p.LastErrorAt = "", time.Time{}
		p.VerifyError, p.VerifyErrorAt = "backup "+m.ID+": "+m.Verified.Detail, now
		j.log.Error("backup verification failed", "id", m.ID, "detail", m.Verified.Detail)
	default:
		p.LastError, p.LastErrorAt = "", time.Time{}
		if m.VerifiedOK() {
			p.VerifyError, p.VerifyErrorAt = "", time.Time{}
		}
		j.log.Info("backup done", "id", m.ID, "size_bytes", m.SizeBytes, "tables", len(m.Tables), "rows", m.Rows(),
			"duration", m.FinishedAt.Sub(m.StartedAt).Round(time.Millisecond).String(), "verified", m.VerifiedOK())
		if j.opts.OnSuccess != nil {
			j.opts.OnSuccess()
		}
	}
	if werr := writePersisted(j.cfg.Dir, p); werr != nil {
		j.log.Error("save backup state", "error", werr)
	}
	if rerr := j.Refresh(); rerr != nil {
		j.log.Error("read backup state", "error", rerr)
	}
}

// lockRun takes the job's mutex, then the directory's lock (an error
// wrapping ErrBusy when another process holds it). unlock releases both.
func (j *Job) lockRun() (unlock func(), err error) {
	j.run.Lock()
	lock, err := lockDir(j.cfg.Dir)
	if err != nil {
		j.run.Unlock()
		return nil, err
	}
	return func() {
		lock.Unlock()
		j.run.Unlock()
	}, nil
}

// beginRun starts a backup or a verification: it takes the locks (see
// lockRun), removes leftovers of a killed process and bounds ctx by
// Options.MaxRunTime, with the cause "<what> took longer than ...". done
// cancels that context and releases the locks.
func (j *Job) beginRun(ctx context.Context, what string) (_ context.Context, done func(), err error) {
	unlock, err := j.lockRun()
	if err != nil {
		return ctx, nil, err
	}
	j.cleanLocked(ctx)
	ctx, cancel := context.WithTimeoutCause(ctx, j.opts.MaxRunTime,
		fmt.Errorf("%s took longer than %s", what, j.opts.MaxRunTime))
	return ctx, func() {
		cancel()
		unlock()
	}, nil
}

// cleanLocked removes what a killed process left: partial files, backup
// files without a manifest and scratch clusters. The caller holds the lock.
func (j *Job) cleanLocked(ctx context.Context) {
	removed, err := cleanPartials(j.cfg.Dir)
	if err != nil {
		j.log.Error("clean leftover partial backups", "error", err)
	}
	removed = append(removed, cleanStaleClusters(ctx, j.opts.ScratchDir, j.cfg.Dir)...)
	for _, p := range removed {
		j.log.Warn("removed a leftover of an interrupted backup", "path", p)
	}
}

// backupLocked dumps the database into a new backup and verifies it.
func (j *Job) backupLocked(ctx context.Context) (*Manifest, error) {
	conn, err := connect(ctx, j.target)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	version, major, err := serverVersion(ctx, conn)
	if err != nil {
		return nil, err
	}
	if err := tryAdvisoryLock(ctx, conn, j.target.name); err != nil {
		return nil, err
	}
	tools, err := FindTools(ctx, j.cfg.PGBin, major)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Database: j.target.name, Format: j.cfg.Format, Encrypted: len(j.recipients) > 0, ServerVersion: version}
	// The scratch target of an inline verification is ready before the
	// snapshot, which then stays open only while pg_dump runs.
	inline, err := j.startInlineVerify(ctx, tools, m)
	if err != nil {
		return nil, err
	}
	started := j.opts.Now()
	snap, err := takeSnapshot(ctx, conn)
	if err != nil {
		inline.abort()
		return nil, err
	}
	defer snap.Close(ctx)
	m.ID, m.StartedAt, m.Tables = j.newID(started), started.UTC(), snap.counts
	m.File = fileName(m.ID, m.Database, m.Format, m.Encrypted)
	if err := j.dump(ctx, tools, snap.id, m, inline); err != nil {
		inline.abort()
		return nil, err
	}
	snap.Close(ctx)
	m.FinishedAt = j.opts.Now().UTC()
	if err := j.commit(m); err != nil {
		inline.abort()
		return nil, err
	}
	return j.verifyNew(ctx, tools, m, inline)
}

// newID is the id for a backup started at t: its UTC second, moved on
// while a backup with that id exists.
func (j *Job) newID(t time.Time) string {
	t = t.UTC().Truncate(time.Second)
	for {
		id := t.Format(idLayout)
		matches, _ := filepath.Glob(filepath.Join(j.cfg.Dir, id+"-*"))
		if len(matches) == 0 {
			return id
		}
		t = t.Add(time.Second)
	}
}

// dump writes the backup file into .partial/.
func (j *Job) dump(ctx context.Context, tools *Tools, snapID string, m *Manifest, inline *inlineVerify) error {
	pdir := filepath.Join(j.cfg.Dir, partialDir)
	if err := os.MkdirAll(pdir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", pdir, err)
	}
	d := &dumpSpec{tools: tools, target: j.target, snapshotID: snapID, format: m.Format, recipients: j.recipients,
		path: filepath.Join(pdir, m.File), wrapFile: j.wrapFile, progress: j.opts.Progress}
	if inline != nil {
		d.tee = inline.input()
	}
	size, sum, err := d.run(ctx)
	if err != nil {
		_ = os.Remove(d.path)
		return err
	}
	m.SizeBytes, m.SHA256 = size, sum
	return nil
}

// commit renames the backup file into place, then writes its manifest:
// the backup is listed only once both are there.
func (j *Job) commit(m *Manifest) error {
	src := filepath.Join(j.cfg.Dir, partialDir, m.File)
	defer os.Remove(src)
	if err := os.Rename(src, j.Path(m)); err != nil {
		return fmt.Errorf("rename backup into place: %w", err)
	}
	if err := atomicfile.SyncDir(j.cfg.Dir); err != nil {
		_ = os.Remove(j.Path(m))
		return err
	}
	if err := j.writeManifest(m); err != nil {
		_ = os.Remove(j.Path(m))
		return err
	}
	return nil
}

func (j *Job) writeManifest(m *Manifest) error {
	b, err := encodeManifest(m)
	if err != nil {
		return err
	}
	return writeFileAtomic(j.cfg.Dir, m.manifestName(), b)
}
