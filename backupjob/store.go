package backupjob

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gitcourse/edge/internal/atomicfile"
)

// Names inside the backup directory.
const (
	partialDir = ".partial"    // in-progress files; never listed
	lockName   = ".lock"       // flock: one backup, verification or prune at a time
	stateName  = ".state.json" // last attempt, for metrics and retention
)

// ErrBusy reports that another backup, verification or prune holds the
// backup directory's lock.
var ErrBusy = errors.New("another backup, verification or prune is running (lock held)")

// dirLock is an exclusive flock on {dir}/.lock.
type dirLock struct{ f *os.File }

// lockDir takes the directory's lock without waiting.
func lockDir(dir string) (*dirLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create backup directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrBusy, filepath.Join(dir, lockName))
		}
		return nil, fmt.Errorf("lock %s: %w", filepath.Join(dir, lockName), err)
	}
	return &dirLock{f: f}, nil
}

// Unlock releases the lock.
func (l *dirLock) Unlock() { _ = l.f.Close() }

// cleanPartials removes everything in .partial/ and backup files that
// have no manifest (a crash between the two renames). The caller holds
// the lock, so nothing in there is in use.
func cleanPartials(dir string) (removed []string, err error) {
	pdir := filepath.Join(dir, partialDir)
	entries, err := os.ReadDir(pdir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", pdir, err)
	}
	for _, e := range entries {
		p := filepath.Join(pdir, e.Name())
		if err := os.RemoveAll(p); err != nil {
			return removed, fmt.Errorf("remove leftover %s: %w", p, err)
		}
		removed = append(removed, p)
	}
	orphans, err := orphanFiles(dir)
	if err != nil {
		return removed, err
	}
	for _, p := range orphans {
		if err := os.Remove(p); err != nil {
			return removed, fmt.Errorf("remove orphan %s: %w", p, err)
		}
		removed = append(removed, p)
	}
	if len(removed) > 0 {
		_ = atomicfile.SyncDir(dir)
	}
	return removed, nil
}

// orphanFiles are backup files (by name) with no manifest file beside
// them. A manifest that exists but does not parse still protects its file.
func orphanFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read backup directory: %w", err)
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		base, ok := backupBase(n)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if _, err := os.Lstat(filepath.Join(dir, base+".json")); err == nil {
			continue
		}
		out = append(out, filepath.Join(dir, n))
	}
	return out, nil
}

// backupBase returns "{id}-{database}" for a backup file edge would write.
func backupBase(name string) (string, bool) {
	if len(name) < len(idLayout)+2 || name[len(idLayout)] != '-' {
		return "", false
	}
	for _, ext := range []string{".dump.age", ".sql.gz.age", ".dump", ".sql.gz"} {
		if base, ok := strings.CutSuffix(name, ext); ok {
			return base, true
		}
	}
	return "", false
}

// writeFileAtomic replaces {dir}/name with data (mode 0600), its temp file
// in {dir}/.partial/, which cleanPartials empties at start.
func writeFileAtomic(dir, name string, data []byte) error {
	pdir := filepath.Join(dir, partialDir)
	if err := os.MkdirAll(pdir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", pdir, err)
	}
	return atomicfile.WriteFileVia(pdir, filepath.Join(dir, name), data, 0o600)
}
