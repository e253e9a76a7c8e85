// Package atomicfile replaces files so that a crash or a full disk leaves
// either the old content or the new one, never a mix or an empty file:
// the data goes to a temp file, which is fsynced, renamed over the target,
// and then the directory is fsynced so that the rename itself survives a
// power loss. Every step's error is returned.
//
// Temp files are named after the target with a leading dot (".NAME.tmp-*"),
// so a static file server never serves them and RemoveTemps finds the
// ones a crash left behind.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tempMark sits between the target's name and the random suffix.
const tempMark = ".tmp-"

// WriteFile atomically replaces (or creates) path with data and mode perm,
// using a temp file in path's directory.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return WriteFileVia(filepath.Dir(path), path, data, perm)
}

// WriteFileVia is WriteFile with the temp file in tempDir, which must be on
// the same file system as path (such as a ".partial" directory the caller
// cleans at start).
func WriteFileVia(tempDir, path string, data []byte, perm fs.FileMode) (err error) {
	f, err := os.CreateTemp(tempDir, "."+filepath.Base(path)+tempMark+"*")
	if err != nil {
		return fmt.Errorf("write %s: create temp file: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Chmod(perm)
	}
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("write %s: %w", path, werr)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: rename into place: %w", path, err)
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir fsyncs a directory, making the creations, renames and removals
// of its entries durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	serr := d.Sync()
	cerr := d.Close()
	if err := errors.Join(serr, cerr); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// IsTemp reports whether name (a base name) is one of this package's temp
// files.
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tempMark)
}

// RemoveTemps removes the temp files an interrupted WriteFile left in dir
// and returns their paths. Call it at start, before any WriteFile in dir
// can be running.
func RemoveTemps(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("remove temp files in %s: %w", dir, err)
	}
	var removed []string
	for _, e := range entries {
		if e.IsDir() || !IsTemp(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("remove temp file: %w", err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}
