package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	for _, content := range []string{"first\n", "second, longer\n", ""} {
		if err := WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatalf("WriteFile: %v", err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != content {
			t.Fatalf("read back %q, %v; want %q", got, err, content)
		}
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after three writes, want only the file", len(entries))
	}
}

// TestWriteFileErrors: each failure is returned, names the file, and
// leaves neither a temp file nor a changed target behind.
func TestWriteFileErrors(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "keep")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A directory where the file should go: the rename fails.
	blocked := filepath.Join(dir, "blocked")
	if err := os.Mkdir(blocked, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(blocked, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(blocked, []byte("new"), 0o644)
	if err == nil || !strings.Contains(err.Error(), blocked) || !strings.Contains(err.Error(), "rename") {
		t.Errorf("rename over a non-empty directory: %v, want an error naming %s and the rename", err, blocked)
	}
	// A missing directory: the temp file cannot be created.
	if err := WriteFile(filepath.Join(dir, "missing", "f"), []byte("x"), 0o644); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
	// A temp dir on which the target's directory does not exist.
	if err := WriteFileVia(filepath.Join(dir, "nope"), target, []byte("new"), 0o644); err == nil {
		t.Error("WriteFileVia with a missing temp dir succeeded")
	}
	if got, _ := os.ReadFile(target); string(got) != "old" {
		t.Errorf("target changed to %q by failed writes", got)
	}
	if removed, err := RemoveTemps(dir); err != nil || len(removed) != 0 {
		t.Errorf("failed writes left temp files %v (%v)", removed, err)
	}
	if err := SyncDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("SyncDir of a missing directory succeeded")
	}
}

func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{".a.json.tmp-123", "a.json", ".hidden", "b.tmp-1"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := RemoveTemps(dir)
	if err != nil || len(removed) != 1 || filepath.Base(removed[0]) != ".a.json.tmp-123" {
		t.Fatalf("RemoveTemps = %v, %v; want only .a.json.tmp-123", removed, err)
	}
	if removed, err := RemoveTemps(filepath.Join(dir, "none")); err != nil || removed != nil {
		t.Errorf("RemoveTemps of a missing dir = %v, %v", removed, err)
	}
}
