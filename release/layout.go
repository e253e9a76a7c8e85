package release

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gitcourse/edge/internal/atomicfile"
	"golang.org/x/sys/unix"
)

// idFormat names a release by its UTC creation time, as
// `date -u +%Y%m%dT%H%M%SZ` does; a second release in the same second
// gets "-2", "-3" and so on.
const idFormat = "20060102T150405Z"

// lockWait bounds how long a release waits for another one to finish.
const lockWait = 2 * time.Minute

// layout is where the releases and the current symlink are.
type layout struct {
	current  string // the symlink (site.root)
	releases string // its sibling "releases" directory
}

// openLayout finds the layout of root; create makes the releases
// directory when missing.
func openLayout(root string, create bool) (*layout, error) {
	if root == "" {
		return nil, errors.New("no site root given (fix: set site.root in the config, or pass -root)")
	}
	root = filepath.Clean(absPath(root))
	l := &layout{current: root, releases: filepath.Join(filepath.Dir(root), "releases")}
	fi, err := os.Lstat(root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("inspect site root: %w", err)
	case fi.Mode()&fs.ModeSymlink == 0:
		return nil, fmt.Errorf("site root %s is a real directory, not a symlink (fix: move it to %s/%s and run: ln -s releases/%s %s)",
			root, l.releases, time.Now().UTC().Format(idFormat), time.Now().UTC().Format(idFormat), root)
	}
	if !create {
		return l, nil
	}
	if err := mkdirs(l.releases); err != nil {
		return nil, fmt.Errorf("create releases directory: %w", err)
	}
	return l, nil
}

func (l *layout) dir(id string) string { return filepath.Join(l.releases, id) }

// openLocked opens (creating) the layout under root and takes its lock
// (see lock); unlock releases it.
func openLocked(ctx context.Context, root string) (_ *layout, unlock func(), err error) {
	l, err := openLayout(root, true)
	if err != nil {
		return nil, nil, err
	}
	unlock, err = l.lock(ctx)
	if err != nil {
		return nil, nil, err
	}
	return l, unlock, nil
}

// lock takes the releases directory's lock, waiting for a release that
// runs meanwhile (bounded by lockWait and ctx).
func (l *layout) lock(ctx context.Context) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(l.releases, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open release lock: %w", err)
	}
	deadline := time.Now().Add(lockWait)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { _ = unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("lock %s (is another release running?): %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// removeStale deletes half-built releases left by a crash; the caller
// holds the lock, so no build is in progress.
func (l *layout) removeStale() {
	ents, _ := os.ReadDir(l.releases)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			_ = os.RemoveAll(filepath.Join(l.releases, e.Name()))
		}
	}
	tmps, _ := filepath.Glob(l.current + ".tmp-*")
	for _, t := range tmps {
		_ = os.Remove(t)
	}
}

// state lists the releases, oldest first, and the one current points at
// ("" when current is missing or points outside the releases directory).
func (l *layout) state() (rels []string, cur string, err error) {
	ents, err := os.ReadDir(l.releases)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("list releases: %w", err)
	}
	for _, e := range ents {
		if e.IsDir() && validName(e.Name()) {
			rels = append(rels, e.Name())
		}
	}
	slices.SortFunc(rels, compareIDs)
	cur, err = l.currentID()
	return rels, cur, err
}

// currentID is the release the symlink points at.
func (l *layout) currentID() (string, error) {
	target, err := os.Readlink(l.current)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read site root symlink: %w", err)
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(l.current), target)
	}
	if filepath.Dir(filepath.Clean(target)) != l.releases {
		return "", nil
	}
	return filepath.Base(target), nil
}

// previous is the newest release older than cur that was not rolled back
// from: where a rollback goes.
func (l *layout) previous(rels []string, cur string) string {
	for i := len(rels) - 1; i >= 0; i-- {
		r := rels[i]
		if cur != "" && compareIDs(r, cur) >= 0 {
			continue
		}
		if m, err := readManifest(l.dir(r)); err == nil && m.RolledBackAt != nil {
			continue
		}
		return r
	}
	return ""
}

// point makes the current symlink point at release id: a new symlink
// under a temporary name, renamed over the old one (atomic), then the
// directory is fsynced.
func (l *layout) point(id string) error {
	tmp := fmt.Sprintf("%s.tmp-%d", l.current, os.Getpid())
	_ = os.Remove(tmp)
	rel, err := filepath.Rel(filepath.Dir(l.current), l.dir(id))
	if err != nil {
		rel = l.dir(id)
	}
	if err := os.Symlink(rel, tmp); err != nil {
		return fmt.Errorf("create symlink: %w", err)
	}
	if err := os.Rename(tmp, l.current); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("switch %s to %s: %w", l.current, id, err)
	}
	return atomicfile.SyncDir(filepath.Dir(l.current))
}

// nextID names a new release created at now: its timestamp, made unique
// and newer than every existing release (even if the clock went back).
func nextID(now time.Time, rels []string) string {
	id := now.UTC().Format(idFormat)
	if len(rels) == 0 || compareIDs(id, rels[len(rels)-1]) > 0 {
		return id
	}
	last := rels[len(rels)-1]
	base, seq := splitID(last)
	if compareIDs(id, base) > 0 {
		return id
	}
	return base + "-" + strconv.Itoa(seq+1)
}

// validName reports whether name is a release ID.
func validName(name string) bool {
	base, _ := splitID(name)
	_, err := time.Parse(idFormat, base)
	return err == nil
}

// splitID splits "20261125T030000Z-3" into its timestamp and 3 (1 when
// there is no suffix).
func splitID(id string) (string, int) {
	base, suffix, ok := strings.Cut(id, "-")
	if !ok {
		return id, 1
	}
	n, err := strconv.Atoi(suffix)
	if err != nil || n < 2 {
		return id, 1
	}
	return base, n
}

// compareIDs orders release IDs by time, then by sequence number.
func compareIDs(a, b string) int {
	ab, an := splitID(a)
	bb, bn := splitID(b)
	if c := strings.Compare(ab, bb); c != 0 {
		return c
	}
	return an - bn
}
