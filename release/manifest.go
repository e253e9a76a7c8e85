package release

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gitcourse/edge/internal/atomicfile"
)

// Manifest describes one release; it is stored as ManifestName inside it.
type Manifest struct {
	// ID is the release's directory name.
	ID string `json:"id"`
	// CreatedAt is when edge release built it (UTC).
	CreatedAt time.Time `json:"created_at"`
	// Source is the directory it was copied from.
	Source string `json:"source,omitempty"`
	// Files and Bytes count the files copied from Source (sidecars not included).
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// Carried lists, by slash-separated path, the files hard-linked from
	// the release that was served before this one.
	Carried map[string]Carried `json:"carried,omitempty"`
	// RolledBackAt is set when edge rollback left this release; rollback
	// does not return to it unless named.
	RolledBackAt *time.Time `json:"rolled_back_at,omitempty"`
}

// Carried is one file kept from an earlier release.
type Carried struct {
	// From is the release the file came from.
	From string `json:"from"`
	// Hops is 1 for a file of From itself, 2 for one From had carried.
	Hops int `json:"hops"`
}

// readManifest reads dir's manifest; a release without one (copied by
// hand) yields an empty manifest.
func readManifest(dir string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return &Manifest{ID: filepath.Base(dir)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read release manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parse release manifest %s: %w", filepath.Join(dir, ManifestName), err)
	}
	return &m, nil
}

// writeManifest replaces dir's manifest atomically.
func writeManifest(dir string, m *Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode release manifest: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, ManifestName), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write release manifest: %w", err)
	}
	return nil
}

// updateManifest reads, changes and writes back dir's manifest.
func updateManifest(dir string, change func(*Manifest)) error {
	m, err := readManifest(dir)
	if err != nil {
		return err
	}
	change(m)
	return writeManifest(dir, m)
}
