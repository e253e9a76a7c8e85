// Package release installs built frontends atomically (SPEC §6).
//
// The site root (site.root) is a symlink, normally named "current", beside
// a "releases" directory:
//
//	frontend/
//	  current -> releases/20261125T030000Z
//	  releases/
//	    20261124T180000Z/
//	    20261125T030000Z/        index.html, assets/, .edge-release.json
//	    .lock                    held while a release or rollback runs
//
// Install validates a build (index.html and every local asset it
// references), copies it into releases/<UTC timestamp> while writing
// precompressed .br and .gz sidecars, fsyncs it, then points current at it
// with one rename(2). Files of the release being replaced (and those it
// had carried over itself) that the new build lacks are hard-linked into
// it, except HTML: a browser that loaded the old index.html a moment
// before the switch still finds the old hashed assets. Rollback points
// current at the previous release the same way. Both keep the newest
// releases (Options.Keep) and never delete the current release or the one
// a rollback would return to.
package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gitcourse/edge/internal/atomicfile"
)

// DefaultKeep is how many releases are kept when Options.Keep is 0.
const DefaultKeep = 5

// ManifestName is the file describing a release inside its directory. It
// is a dotfile, so edge never serves it.
const ManifestName = ".edge-release.json"

// Options locate the releases and tune an install.
type Options struct {
	// Root is site.root: the symlink that points at the served release.
	// Releases live in filepath.Dir(Root)/releases.
	Root string
	// Keep is how many releases to keep. Default: DefaultKeep (5). The
	// current release and the one a rollback returns to are always kept.
	Keep int
	// NoCarry turns off hard-linking the replaced release's assets into the
	// new one.
	NoCarry bool
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Workers compress files in parallel. Default: the number of CPUs.
	Workers int
	// ID names the new release instead of the clock (a cluster installs
	// the release another node made under the same id). It must be a new
	// release id.
	ID string
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o Options) keep() int {
	if o.Keep > 0 {
		return o.Keep
	}
	return DefaultKeep
}

// Result describes what an Install or a Rollback did.
type Result struct {
	// ID is the release current points at now.
	ID string
	// Dir is its directory.
	Dir string
	// Previous is the release current pointed at before ("" for the first).
	Previous string
	// Copy counts the files written by Install (zero for Rollback).
	Copy CopyStats
	// Carried is how many files were hard-linked from Previous.
	Carried int
	// Pruned lists the releases deleted afterwards.
	Pruned []string
}

// ErrNoPrevious is returned by Rollback when there is no earlier release.
var ErrNoPrevious = errors.New("no earlier release to roll back to")

// Install validates the build in src, copies it into a new release and
// points the site root at it.
func Install(ctx context.Context, src string, opts Options) (*Result, error) {
	if _, err := Validate(src); err != nil {
		return nil, err
	}
	l, unlock, err := openLocked(ctx, opts.Root)
	if err != nil {
		return nil, err
	}
	defer unlock()
	l.removeStale()
	rels, cur, err := l.state()
	if err != nil {
		return nil, err
	}
	id := nextID(opts.now(), rels)
	if opts.ID != "" {
		if !validName(opts.ID) || slices.Contains(rels, opts.ID) {
			return nil, fmt.Errorf("release id %q: not a new release name", opts.ID)
		}
		id = opts.ID
	}
	res := &Result{ID: id, Dir: l.dir(id), Previous: cur}
	tmp := filepath.Join(l.releases, ".tmp-"+id)
	if err := l.build(ctx, src, tmp, id, cur, opts, res); err != nil {
		_ = os.RemoveAll(tmp)
		return nil, err
	}
	if err := os.Rename(tmp, res.Dir); err != nil {
		_ = os.RemoveAll(tmp)
		return nil, fmt.Errorf("move release into place: %w", err)
	}
	if err := atomicfile.SyncDir(l.releases); err != nil {
		return nil, err
	}
	if err := l.point(id); err != nil {
		return nil, err
	}
	res.Pruned, err = l.prune(opts.keep())
	return res, err
}

// build fills tmp with the copy of src, the carried files and the manifest.
func (l *layout) build(ctx context.Context, src, tmp, id, cur string, opts Options, res *Result) error {
	stats, err := copyTree(ctx, src, tmp, opts.Workers)
	if err != nil {
		return err
	}
	res.Copy = stats
	m := &Manifest{ID: id, CreatedAt: opts.now().UTC(), Source: absPath(src), Files: stats.Files, Bytes: stats.Bytes}
	if cur != "" && !opts.NoCarry {
		carried, err := carry(l.dir(cur), tmp, cur)
		if err != nil {
			return err
		}
		m.Carried = carried
		res.Carried = len(carried)
	}
	if err := writeManifest(tmp, m); err != nil {
		return err
	}
	return syncTree(tmp)
}

// Rollback points the site root at the release before the current one
// (skipping releases that were rolled back from), or at the release named
// to. The release left is marked as rolled back from.
func Rollback(ctx context.Context, to string, opts Options) (*Result, error) {
	l, unlock, err := openLocked(ctx, opts.Root)
	if err != nil {
		return nil, err
	}
	defer unlock()
	rels, cur, err := l.state()
	if err != nil {
		return nil, err
	}
	if cur == "" {
		return nil, fmt.Errorf("%s points at no release: nothing to roll back", l.current)
	}
	target, err := rollbackTarget(l, rels, cur, to)
	if err != nil {
		return nil, err
	}
	res := &Result{ID: target, Dir: l.dir(target), Previous: cur}
	if !opts.NoCarry {
		if res.Carried, err = carryInto(l, cur, target); err != nil {
			return nil, err
		}
	}
	if err := updateManifest(l.dir(target), func(m *Manifest) { m.RolledBackAt = nil }); err != nil {
		return nil, err
	}
	if err := l.point(target); err != nil {
		return nil, err
	}
	now := opts.now().UTC()
	if err := updateManifest(l.dir(cur), func(m *Manifest) { m.RolledBackAt = &now }); err != nil {
		return res, err
	}
	res.Pruned, err = l.prune(opts.keep())
	return res, err
}

func rollbackTarget(l *layout, rels []string, cur, to string) (string, error) {
	if to == "" {
		prev := l.previous(rels, cur)
		if prev == "" {
			return "", fmt.Errorf("%w before %s", ErrNoPrevious, cur)
		}
		return prev, nil
	}
	if !validName(to) {
		return "", fmt.Errorf("release %q: not a release name", to)
	}
	if fi, err := os.Stat(l.dir(to)); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("release %q not found in %s (fix: edge rollback -list)", to, l.releases)
	}
	if to == cur {
		return "", fmt.Errorf("release %s is already current", to)
	}
	return to, nil
}

// carryInto hard-links the current release's assets into target and
// records them in target's manifest.
func carryInto(l *layout, cur, target string) (int, error) {
	carried, err := carry(l.dir(cur), l.dir(target), cur)
	if err != nil {
		return 0, err
	}
	if len(carried) == 0 {
		return 0, nil
	}
	err = updateManifest(l.dir(target), func(m *Manifest) {
		if m.Carried == nil {
			m.Carried = map[string]Carried{}
		}
		for name, c := range carried {
			m.Carried[name] = c
		}
	})
	if err != nil {
		return 0, err
	}
	return len(carried), syncTree(l.dir(target))
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
