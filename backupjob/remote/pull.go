package remote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gitcourse/edge/backupjob"
)

// Pull downloads the remote backup id ("" or "latest": the newest) into
// dir (backup.dir when ""), checking its SHA-256 against the manifest on
// the way (backupjob.ErrChecksum when it differs; nothing is kept). The
// file stays encrypted: it is decrypted only by a restore. A backup that
// is already in dir with the same SHA-256 is not downloaded again.
func (r *Remote) Pull(ctx context.Context, id, dir string) (*backupjob.Manifest, error) {
	if dir == "" {
		dir = r.backup.Dir
	}
	m, err := r.Find(ctx, id)
	if err != nil {
		return nil, err
	}
	if have, err := r.localCopy(dir, m); err == nil && have {
		return m, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	rc, _, err := r.store.Get(ctx, r.prefix+m.File)
	if err != nil {
		return nil, fmt.Errorf("download backup %s: %w", m.ID, err)
	}
	defer rc.Close()
	m.Remote = &backupjob.RemoteCopy{At: r.opts.Now().UTC(), Key: r.prefix + m.File, OK: true, Detail: "downloaded from " + r.cfg.URL}
	if err := backupjob.ImportBackup(dir, m, rc); err != nil {
		return nil, err
	}
	return m, nil
}

// localCopy reports whether dir already holds m's file with its SHA-256.
func (r *Remote) localCopy(dir string, m *backupjob.Manifest) (bool, error) {
	j, err := r.jobIn(dir)
	if err != nil {
		return false, err
	}
	lm, err := j.Find(m.ID)
	if err != nil {
		return false, err
	}
	return lm.SHA256 == m.SHA256 && lm.SizeBytes == m.SizeBytes, nil
}

// jobIn is a backup job over dir with this config (no database needed).
func (r *Remote) jobIn(dir string) (*backupjob.Job, error) {
	cfg := r.backup
	cfg.Dir, cfg.Remote = dir, nil
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	cfg.Dir = abs
	return backupjob.New(&cfg, backupjob.Options{Logger: r.opts.Logger, Identities: r.opts.Identities,
		ScratchDir: r.opts.ScratchDir, Now: r.opts.Now, Location: r.opts.Location})
}

// Restore pulls the remote backup id into backup.dir (see Pull), then
// restores it into targetURL like a local restore: the SHA-256 checked
// again, one transaction, row counts compared with the manifest.
func (r *Remote) Restore(ctx context.Context, id, targetURL string, opts backupjob.RestoreOptions) (*backupjob.Manifest, error) {
	m, err := r.Pull(ctx, id, "")
	if err != nil {
		return nil, err
	}
	j, err := r.jobIn(r.backup.Dir)
	if err != nil {
		return m, err
	}
	return j.Restore(ctx, m.ID, targetURL, opts)
}

// Verify downloads the remote backup id into a temporary directory,
// checks its SHA-256, restores it into a scratch target of kind (see
// backupjob.Job.Verify) and compares the row counts. The download is
// removed afterwards.
func (r *Remote) Verify(ctx context.Context, id, kind string) (*backupjob.Manifest, error) {
	if err := os.MkdirAll(r.opts.ScratchDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", r.opts.ScratchDir, err)
	}
	tmp, err := os.MkdirTemp(r.opts.ScratchDir, "edge-remote-verify-")
	if err != nil {
		return nil, fmt.Errorf("create download directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	m, err := r.Pull(ctx, id, tmp)
	if err != nil {
		return m, err
	}
	j, err := r.jobIn(tmp)
	if err != nil {
		return m, err
	}
	vm, err := j.Verify(ctx, m.ID, kind)
	if vm != nil {
		m = vm
	}
	return m, err
}

// ErrDrillNoIdentity reports a drill of an encrypted backup without an
// identity: the download and its SHA-256 were checked, nothing restored.
var ErrDrillNoIdentity = errors.New("not restored: the backup is encrypted and no identity is configured " +
	"(fix: backup.remote.drill_identity)")

func removeAll(dir string) error { return os.RemoveAll(dir) }
