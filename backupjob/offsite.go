package backupjob

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gitcourse/edge/internal/atomicfile"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Latest names the newest backup wherever an id is expected.
const Latest = "latest"

// RemoteCopy is the outcome of the last upload of a backup to the
// off-site store ([backup.remote]), kept in the local manifest.
type RemoteCopy struct {
	// At is when the upload finished or failed.
	At time.Time `json:"at"`
	// Key is the object key of the backup file in the bucket.
	Key string `json:"key"`
	// OK reports whether the file and its manifest were uploaded and the
	// stored copy was checked.
	OK bool `json:"ok"`
	// Detail says how it was checked, or what went wrong.
	Detail string `json:"detail"`
}

// ManifestName is the manifest's file name: "{id}-{database}.json".
func (m *Manifest) ManifestName() string { return m.manifestName() }

// ExpectedFile is the backup file name edge writes for the manifest's id,
// database, format and encryption.
func (m *Manifest) ExpectedFile() string { return fileName(m.ID, m.Database, m.Format, m.Encrypted) }

// EncodeManifest is the JSON form of m, as stored beside a backup.
func EncodeManifest(m *Manifest) ([]byte, error) { return encodeManifest(m) }

// DecodeManifest parses a manifest read from elsewhere (the off-site
// store) and checks that it names a file edge would write, so that a
// hostile or damaged manifest cannot point outside the backup directory.
func DecodeManifest(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode manifest: %w", err)
	}
	if _, err := time.Parse(idLayout, m.ID); err != nil {
		return nil, fmt.Errorf("manifest: bad id %q", m.ID)
	}
	if m.Format != FormatCustom && m.Format != FormatPlainGzip {
		return nil, fmt.Errorf("manifest %s: unknown format %q", m.ID, m.Format)
	}
	if m.Database == "" || m.File != m.ExpectedFile() {
		return nil, fmt.Errorf("manifest %s: file %q is not the name edge writes (%q)", m.ID, m.File, m.ExpectedFile())
	}
	if len(m.SHA256) != 64 || m.SizeBytes < 0 {
		return nil, fmt.Errorf("manifest %s: bad sha256 or size", m.ID)
	}
	return &m, nil
}

// PlanRetention applies the GFS policy keep to ms (newest first) in loc,
// with the same rules as the local prune: the newest and the newest
// verified backup are always kept.
func PlanRetention(ms []*Manifest, keep Keep, loc *time.Location) *Plan {
	return planRetention(ms, keep, loc, "")
}

// SetRemote records the outcome of an upload in the manifest of backup id.
// The manifest is read again just before it is rewritten (atomically), so
// a verification saved meanwhile is kept.
func (j *Job) SetRemote(id string, rc *RemoteCopy) error {
	m, err := j.Find(id)
	if err != nil {
		return err
	}
	m.Remote = rc
	if err := j.writeManifest(m); err != nil {
		return fmt.Errorf("record upload of backup %s: %w", id, err)
	}
	return nil
}

// ErrChecksum reports a downloaded backup whose size or SHA-256 differs
// from its manifest.
var ErrChecksum = errors.New("backup file does not match its manifest")

// ImportBackup stores a backup that comes from elsewhere into dir: r is
// streamed into dir/.partial/ through a SHA-256 hasher, checked against
// m's size and sum (ErrChecksum when they differ, and nothing is kept),
// fsynced and renamed into place, then m is written beside it. m must come
// from DecodeManifest. The backup is listed only once both files are in
// place, as for a local backup.
func ImportBackup(dir string, m *Manifest, r io.Reader) error {
	if m.File != m.ExpectedFile() {
		return fmt.Errorf("import backup %s: unexpected file name %q", m.ID, m.File)
	}
	pdir := filepath.Join(dir, partialDir)
	if err := os.MkdirAll(pdir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", pdir, err)
	}
	tmp := filepath.Join(pdir, m.File)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	defer os.Remove(tmp) // no-op after the rename
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("download backup %s: %w", m.ID, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != m.SHA256 || n != m.SizeBytes {
		return fmt.Errorf("backup %s: %w: got %d bytes with sha256 %s, the manifest says %d bytes with %s (the stored copy was altered or damaged)",
			m.ID, ErrChecksum, n, sum, m.SizeBytes, m.SHA256)
	}
	if err := os.Rename(tmp, filepath.Join(dir, m.File)); err != nil {
		return fmt.Errorf("rename backup into place: %w", err)
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		return err
	}
	b, err := encodeManifest(m)
	if err != nil {
		return err
	}
	return writeFileAtomic(dir, m.manifestName(), b)
}

// WriteStateFile writes data to dir/name atomically (through .partial/,
// fsynced), for state kept beside the backups.
func WriteStateFile(dir, name string, data []byte) error { return writeFileAtomic(dir, name, data) }
