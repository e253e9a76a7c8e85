package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gitcourse/edge/backupjob"
)

// ErrNotEncrypted reports a backup that require_encryption keeps from
// being uploaded.
var ErrNotEncrypted = errors.New("backup is not encrypted and backup.remote.require_encryption is true " +
	"(fix: set backup.encrypt_to = [\"age1...\"] with the public key of an age identity (age-keygen) and take a new backup, " +
	"or set backup.remote.require_encryption = false)")

// Upload copies the local backup id ("" or "latest": the newest) to the
// bucket: the file, then the manifest. The outcome is recorded in the
// local manifest's "remote" field and in the state.
func (r *Remote) Upload(ctx context.Context, id string) (*backupjob.Manifest, error) {
	m, err := r.job.Find(id)
	if err != nil {
		return nil, err
	}
	started := r.opts.Now()
	detail, err := r.upload(ctx, m)
	rc := &backupjob.RemoteCopy{At: r.opts.Now().UTC(), Key: r.prefix + m.File, OK: err == nil, Detail: detail}
	if err != nil {
		rc.Detail = err.Error()
	}
	if serr := r.job.SetRemote(m.ID, rc); serr != nil {
		r.log.Error("record upload in the local manifest", "id", m.ID, "error", serr)
	}
	m.Remote = rc
	r.recordUpload(started, m, err)
	if err != nil {
		return m, fmt.Errorf("upload backup %s to %s: %w", m.ID, r.cfg.URL, err)
	}
	r.log.Info("backup uploaded", "id", m.ID, "key", rc.Key, "detail", detail)
	return m, nil
}

func (r *Remote) upload(ctx context.Context, m *backupjob.Manifest) (string, error) {
	if r.cfg.EncryptionRequired() && !m.Encrypted {
		return "", ErrNotEncrypted
	}
	if !m.Good() {
		return "", fmt.Errorf("backup %s failed verification (%s): not uploaded", m.ID, m.Verified.Detail)
	}
	f, err := os.Open(r.job.Path(m))
	if err != nil {
		return "", fmt.Errorf("open backup file: %w", err)
	}
	defer f.Close()
	start := time.Now()
	if _, err := r.store.Put(ctx, r.prefix+m.File, f, m.SizeBytes, m.SHA256); err != nil {
		return "", err
	}
	took := time.Since(start)
	remote := *m
	remote.Remote = nil
	b, err := backupjob.EncodeManifest(&remote)
	if err != nil {
		return "", err
	}
	if _, err := r.store.Put(ctx, r.prefix+m.ManifestName(), strings.NewReader(string(b)), int64(len(b)), sha256Hex(b)); err != nil {
		return "", fmt.Errorf("upload manifest: %w", err)
	}
	rate := float64(m.SizeBytes) / max(took.Seconds(), 1e-3) / 1e6
	return fmt.Sprintf("uploaded %d bytes in %s (%.1f MB/s); the stored copy's size, ETag and sha256 checked",
		m.SizeBytes, took.Round(time.Millisecond), rate), nil
}

// PushMissing uploads every good local backup that has no successful
// upload recorded and no complete remote copy, oldest first, and returns
// their ids. A backup whose upload was refused for lack of encryption is
// not tried again. It stops at the first failure.
func (r *Remote) PushMissing(ctx context.Context) ([]string, error) {
	local, err := r.job.List()
	if err != nil {
		return nil, err
	}
	l, err := r.List(ctx)
	if err != nil {
		r.recordUpload(r.opts.Now(), nil, err)
		return nil, err
	}
	have := map[string]bool{}
	for _, m := range l.Backups {
		have[m.ID] = true
	}
	var done []string
	for i := len(local) - 1; i >= 0; i-- {
		m := local[i]
		if have[m.ID] || !m.Good() || (m.Remote != nil && (m.Remote.OK || strings.HasPrefix(m.Remote.Detail, ErrNotEncrypted.Error()))) {
			continue
		}
		if _, err := r.Upload(ctx, m.ID); err != nil {
			return done, err
		}
		done = append(done, m.ID)
	}
	return done, nil
}

// readAllMax reads at most max bytes.
func readAllMax(rd io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(rd, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	return b, nil
}
