package backupjob

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Formats of a backup file.
const (
	FormatCustom    = "custom"     // pg_dump -Fc
	FormatPlainGzip = "plain-gzip" // pg_dump -Fp, gzip-compressed
)

// idLayout is the time format of backup ids: the start time in UTC.
const idLayout = "20060102T150405Z"

// Manifest describes one backup; it is stored beside the backup file as
// {id}-{database}.json. A backup exists (is listed, counted and kept) only
// once its manifest does.
type Manifest struct {
	// ID is the start time in UTC, such as "20261125T030000Z".
	ID string `json:"id"`
	// Database is the name of the database dumped.
	Database string `json:"database"`
	// File is the backup file's name inside the backup directory.
	File string `json:"file"`
	// StartedAt and FinishedAt bound the dump.
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	// SizeBytes and SHA256 describe the file as stored (after compression
	// and encryption).
	SizeBytes int64  `json:"size_bytes"`
	SHA256    string `json:"sha256"`
	// Format is "custom" or "plain-gzip".
	Format string `json:"format"`
	// Encrypted reports whether the file is age-encrypted.
	Encrypted bool `json:"encrypted"`
	// ServerVersion is the PostgreSQL server version dumped ("15.18").
	ServerVersion string `json:"server_version"`
	// Tables maps "schema.table" to its row count at dump time, counted in
	// the snapshot pg_dump used.
	Tables map[string]int64 `json:"tables"`
	// Verified is the result of the last verification; nil when none ran.
	Verified *Verification `json:"verified"`
	// Remote is the outcome of the last upload to [backup.remote]; nil
	// when none was tried.
	Remote *RemoteCopy `json:"remote,omitempty"`
}

// Verification is the outcome of restoring a backup into a scratch target.
type Verification struct {
	// At is when the verification finished.
	At time.Time `json:"at"`
	// OK reports whether the backup restored and its row counts matched.
	OK bool `json:"ok"`
	// Detail says how it was verified, or what went wrong.
	Detail string `json:"detail"`
}

// Good reports whether the backup counts as successful: not verified yet,
// or verified OK.
func (m *Manifest) Good() bool { return m.Verified == nil || m.Verified.OK }

// VerifiedOK reports whether a verification ran and succeeded.
func (m *Manifest) VerifiedOK() bool { return m.Verified != nil && m.Verified.OK }

// Rows is the total row count of the manifest's tables.
func (m *Manifest) Rows() int64 {
	var n int64
	for _, c := range m.Tables {
		n += c
	}
	return n
}

func (m *Manifest) manifestName() string { return m.ID + "-" + fileSafe(m.Database) + ".json" }

// fileName is the name of a backup file for id, database and format.
func fileName(id, database, format string, encrypted bool) string {
	ext := ".dump"
	if format == FormatPlainGzip {
		ext = ".sql.gz"
	}
	if encrypted {
		ext += ".age"
	}
	return id + "-" + fileSafe(database) + ext
}

// listManifests reads the manifests in dir, newest first. Files that are
// not manifests, or whose backup file is missing, are skipped.
func listManifests(dir string) ([]*Manifest, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read backup directory: %w", err)
	}
	var out []*Manifest
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") || !e.Type().IsRegular() {
			continue
		}
		m, err := readManifest(filepath.Join(dir, name))
		if err != nil || m.File == "" || strings.ContainsAny(m.File, `/\`) || m.manifestName() != name {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, m.File)); err != nil {
			continue
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, nil
}

func readManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode manifest %s: %w", filepath.Base(path), err)
	}
	if _, err := time.Parse(idLayout, m.ID); err != nil {
		return nil, fmt.Errorf("manifest %s: bad id %q", filepath.Base(path), m.ID)
	}
	return &m, nil
}

func encodeManifest(m *Manifest) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return append(b, '\n'), nil
}
