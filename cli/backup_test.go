package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// backupConfig writes a valid config whose [backup] dir holds fake
// backups started days ago (newest first), and returns its path.
func backupConfig(t *testing.T, extra string, days ...int) (cfgPath, dir string) {
	t.Helper()
	root := t.TempDir()
	site := filepath.Join(root, "site")
	dir = filepath.Join(root, "backups")
	for _, d := range []string{site, dir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(site, "index.html"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range days {
		start := time.Now().UTC().Add(-time.Duration(d) * 24 * time.Hour).Truncate(time.Second)
		id := start.Format("20060102T150405Z")
		file := id + "-app.dump"
		m := map[string]any{"id": id, "database": "app", "file": file, "started_at": start, "finished_at": start.Add(time.Second),
			"size_bytes": 1234567, "sha256": strings.Repeat("0", 64), "format": "custom", "server_version": "15.18",
			"tables": map[string]int{"public.users": 3}, "verified": map[string]any{"at": start, "ok": true, "detail": "fake"}}
		b, _ := json.Marshal(m)
		if err := os.WriteFile(filepath.Join(dir, id+"-app.json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte("dump"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfgPath = filepath.Join(root, "edge.toml")
	cfg := fmt.Sprintf("[server]\nhttp = \"127.0.0.1:1\"\nhttps = \"\"\nstate_dir = %q\nadmin_socket = %q\n"+
		"[site]\ndomains = [\"edge.test\"]\nroot = %q\n[backup]\ndatabase_url = \"${DATABASE_URL}\"\ndir = %q\n%s",
		filepath.Join(root, "state"), filepath.Join(root, "admin.sock"), site, dir, extra)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", "postgres://app@127.0.0.1:1/app")
	return cfgPath, dir
}

func runMain(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestBackupUsage(t *testing.T) {
	cfg, _ := backupConfig(t, "")
	tests := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{[]string{"backup", "-h"}, 0, "restore ID -to DATABASE_URL", ""},
		{[]string{"backup", "restore", "-h"}, 0, "-identity", ""},
		{[]string{"backup", "verify", "-h"}, 0, "-scratch", ""},
		{[]string{"backup"}, 2, "", "missing command"},
		{[]string{"backup", "backwards"}, 2, "", "unknown command"},
		{[]string{"backup", "now", "extra", "-config", cfg}, 2, "", "unexpected argument"},
		{[]string{"backup", "list", "-bogus"}, 2, "", "flag provided but not defined"},
		{[]string{"backup", "restore", "X", "-config", cfg}, 2, "", "missing -to"},
		{[]string{"backup", "restore", "-to", "postgres://x/y", "-config", cfg}, 2, "", "want one backup ID"},
		{[]string{"backup", "verify", "A", "B", "-config", cfg}, 2, "", "at most one"},
		{[]string{"backup", "verify", "-scratch", "nowhere", "-config", cfg}, 2, "", "-scratch"},
		{[]string{"backup", "list", "-config", filepath.Join(t.TempDir(), "none.toml")}, 1, "", "open config"},
		{[]string{"backup", "restore", "20000101T000000Z", "-to", "postgres://x@127.0.0.1:1/y", "-config", cfg}, 1, "", "no such backup"},
	}
	for _, tc := range tests {
		out, errOut, code := runMain(tc.args...)
		if code != tc.code || !strings.Contains(out, tc.inStdout) || !strings.Contains(errOut, tc.inStderr) {
			t.Errorf("edge %s: exit %d\nstdout %q\nstderr %q\nwant exit %d, stdout with %q, stderr with %q",
				strings.Join(tc.args, " "), code, out, errOut, tc.code, tc.inStdout, tc.inStderr)
		}
		if tc.code != 0 && strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("edge %s: stderr is not one line: %q", strings.Join(tc.args, " "), errOut)
		}
	}
}

func TestBackupNoTable(t *testing.T) {
	cfg, _ := backupConfig(t, "")
	raw, _ := os.ReadFile(cfg)
	noBackup := strings.Split(string(raw), "[backup]")[0]
	if err := os.WriteFile(cfg, []byte(noBackup), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runMain("backup", "list", "-config", cfg)
	if code != 1 || !strings.Contains(errOut, "no [backup] table") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

func TestBackupListAndPrune(t *testing.T) {
	cfg, dir := backupConfig(t, "keep_daily = 2\nkeep_weekly = 0\nkeep_monthly = 0\n", 0, 1, 2, 3)
	out, errOut, code := runMain("backup", "list", "-json", "-config", cfg)
	if code != 0 {
		t.Fatalf("list -json: exit %d: %s", code, errOut)
	}
	var entries []struct {
		ID         string `json:"id"`
		Age        string `json:"age"`
		AgeSeconds int64  `json:"age_seconds"`
		SizeBytes  int64  `json:"size_bytes"`
		Verified   *struct {
			OK bool `json:"ok"`
		} `json:"verified"`
	}
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("list -json: %v\n%s", err, out)
	}
	if len(entries) != 4 || entries[0].SizeBytes != 1234567 || entries[0].Verified == nil || !entries[0].Verified.OK ||
		entries[3].AgeSeconds < 3*86400-5 || entries[3].Age != "3d0h" {
		t.Fatalf("list -json = %+v", entries)
	}
	out, _, code = runMain("backup", "list", "-config", cfg)
	if code != 0 || !strings.Contains(out, "ID") || !strings.Contains(out, "1.2 MB") || !strings.Contains(out, entries[1].ID) {
		t.Fatalf("list: exit %d\n%s", code, out)
	}

	// Flags after a positional argument, and -dry-run deletes nothing.
	out, _, code = runMain("backup", "prune", "-config", cfg, "-dry-run")
	if code != 0 || !strings.Contains(out, "dry run: 2 of 4 backups would be deleted") ||
		!strings.Contains(out, "delete  "+entries[3].ID) {
		t.Fatalf("prune -dry-run: exit %d\n%s", code, out)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.json")); len(left) != 4 {
		t.Fatalf("dry run deleted: %v", left)
	}
	out, _, code = runMain("backup", "prune", "-config", cfg)
	if code != 0 || !strings.Contains(out, "2 of 4 backups deleted") {
		t.Fatalf("prune: exit %d\n%s", code, out)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.dump")); len(left) != 2 {
		t.Fatalf("after prune: %v", left)
	}
}

func TestHumanUnits(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 1234567: "1.2 MB", 5e9: "5.0 GB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{5 * time.Second: "5s", 12 * time.Minute: "12m",
		5*time.Hour + 3*time.Minute: "5h03m", 75 * time.Hour: "3d3h"} {
		if got := humanAge(d); got != want {
			t.Errorf("humanAge(%s) = %q, want %q", d, got, want)
		}
	}
}
