package release

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gitcourse/edge/internal/atomicfile"
)

// prune deletes all but the newest keep releases, never the current one
// nor the one a rollback would return to. It returns the deleted IDs.
func (l *layout) prune(keep int) ([]string, error) {
	rels, cur, err := l.state()
	if err != nil {
		return nil, err
	}
	protect := map[string]bool{cur: true, l.previous(rels, cur): true}
	var pruned []string
	var errs []error
	for i, r := range rels {
		if i >= len(rels)-keep || protect[r] {
			continue
		}
		if err := os.RemoveAll(l.dir(r)); err != nil {
			errs = append(errs, fmt.Errorf("delete old release %s: %w", r, err))
			continue
		}
		pruned = append(pruned, r)
	}
	if len(pruned) > 0 {
		if err := atomicfile.SyncDir(l.releases); err != nil {
			errs = append(errs, err)
		}
	}
	return pruned, errors.Join(errs...)
}

// Info describes one release for listing.
type Info struct {
	// ID is the release's directory name, a UTC timestamp.
	ID string `json:"id"`
	// Dir is its directory.
	Dir string `json:"dir"`
	// Current reports whether the site root points at it.
	Current bool `json:"current"`
	// Previous reports whether edge rollback would go to it.
	Previous bool `json:"previous"`
	// CreatedAt is when it was built (zero for a release copied by hand).
	CreatedAt time.Time `json:"created_at,omitzero"`
	// Files is how many files it was built with.
	Files int `json:"files"`
	// Carried is how many files it keeps from earlier releases.
	Carried int `json:"carried"`
	// RolledBackAt is set when edge rollback left it.
	RolledBackAt *time.Time `json:"rolled_back_at,omitempty"`
}

// List returns the releases beside root, oldest first.
func List(root string) ([]Info, error) {
	l, err := openLayout(root, false)
	if err != nil {
		return nil, err
	}
	rels, cur, err := l.state()
	if err != nil {
		return nil, err
	}
	prev := l.previous(rels, cur)
	infos := make([]Info, 0, len(rels))
	for _, r := range rels {
		in := Info{ID: r, Dir: l.dir(r), Current: r == cur, Previous: r == prev}
		if m, err := readManifest(l.dir(r)); err == nil {
			in.CreatedAt, in.Files, in.Carried, in.RolledBackAt = m.CreatedAt, m.Files, len(m.Carried), m.RolledBackAt
		}
		infos = append(infos, in)
	}
	return infos, nil
}
