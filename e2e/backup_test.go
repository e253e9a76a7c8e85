package e2e

// "edge backup" end to end: the built binary against a throwaway
// PostgreSQL cluster (startPGCluster), with a temporary config.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// backupFixture is a GitCourse-like schema with data.
const backupFixture = `
CREATE TYPE user_role AS ENUM ('student', 'instructor', 'admin');
CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, name text NOT NULL,
  role user_role NOT NULL DEFAULT 'student', created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE courses (id bigserial PRIMARY KEY, slug text NOT NULL UNIQUE, title text NOT NULL,
  instructor_id bigint REFERENCES users(id), created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE enrollments (user_id bigint REFERENCES users(id), course_id bigint REFERENCES courses(id),
  created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, course_id));
INSERT INTO users (email, name, role) SELECT 'u' || i || '@example.com', E'Name ''' || i || E'''\n名前',
  (ARRAY['student', 'instructor', 'admin'])[1 + i % 3]::user_role FROM generate_series(1, 500) i;
INSERT INTO courses (slug, title, instructor_id) SELECT 'c' || i, 'Course ' || i, 2 FROM generate_series(1, 12) i;
INSERT INTO enrollments (user_id, course_id) SELECT u.id, c.id FROM users u, courses c WHERE (u.id + c.id) % 4 = 0;
`

// backupChecksums is, per table, its row count and an md5 of its rows.
const backupChecksums = `SELECT string_agg(format('%s=%s', t, s), ' ' ORDER BY t) FROM (
  SELECT 'users' t, count(*) || ':' || md5(string_agg(u::text, ',' ORDER BY u.id)) s FROM users u
  UNION ALL SELECT 'courses', count(*) || ':' || md5(string_agg(c::text, ',' ORDER BY c.id)) FROM courses c
  UNION ALL SELECT 'enrollments', count(*) || ':' || md5(string_agg(e::text, ',' ORDER BY e.user_id, e.course_id)) FROM enrollments e) x`

// backupEnv is a database and a config for "edge backup".
type backupEnv struct {
	pg      *pgCluster
	dir     string
	backups string
	config  string
	dbURL   string
	env     []string
}

func newBackupEnv(t *testing.T, extra string) *backupEnv {
	t.Helper()
	edgeBinary(t)
	pg := startPGCluster(t)
	b := &backupEnv{pg: pg, dir: shortTempDir(t)}
	b.backups = filepath.Join(b.dir, "backups")
	b.config = filepath.Join(b.dir, "edge.toml")
	b.dbURL = pg.createDatabase(t, "gitcourse")
	pg.psql(t, "gitcourse", "gitcourse", "pw-gitcourse", backupFixture)
	b.env = []string{"DATABASE_URL=" + b.dbURL}
	b.writeConfig(t, extra)
	return b
}

// writeConfig writes a config with a [backup] table (plus extra keys).
func (b *backupEnv) writeConfig(t *testing.T, extra string) {
	t.Helper()
	site := filepath.Join(b.dir, "site")
	if err := os.MkdirAll(site, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(site, "index.html"), []byte("<h1>edge</h1>"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`[server]
http = "127.0.0.1:%s"
https = ""
state_dir = %q
admin_socket = %q

[site]
domains = ["edge.test"]
root = %q

[backup]
database_url = "${DATABASE_URL}"
dir = %q
schedule = "03:00"
format = "custom"
verify = "scratch-cluster"
%s`, freePort(t), filepath.Join(b.dir, "state"), filepath.Join(b.dir, "admin.sock"), site, b.backups, extra)
	if err := os.WriteFile(b.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
}

// edge runs "edge backup ARGS -config CONFIG".
func (b *backupEnv) edge(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runEdge(t, b.env, append(append([]string{"backup"}, args...), "-config", b.config)...)
}

// mustEdge runs edge backup and requires exit code 0.
func (b *backupEnv) mustEdge(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := b.edge(t, args...)
	if code != 0 {
		t.Fatalf("edge backup %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// listEntry is one element of "edge backup list -json".
type listEntry struct {
	ID        string `json:"id"`
	File      string `json:"file"`
	Age       string `json:"age"`
	SizeBytes int64  `json:"size_bytes"`
	SHA256    string `json:"sha256"`
	Verified  *struct {
		OK     bool   `json:"ok"`
		Detail string `json:"detail"`
	} `json:"verified"`
}

func (b *backupEnv) list(t *testing.T) []listEntry {
	t.Helper()
	var entries []listEntry
	out := b.mustEdge(t, "list", "-json")
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("list -json: %v\n%s", err, out)
	}
	return entries
}

// oneLine requires exit code want and a single line on stderr containing substr.
func oneLine(t *testing.T, stderr string, code, want int, substr string) {
	t.Helper()
	if code != want || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, substr) {
		t.Fatalf("exit %d, stderr %q; want exit %d and one line containing %q", code, stderr, want, substr)
	}
}

// TestBackupCLI drives now, list -json, verify, restore and prune
// -dry-run on the real binary, and the usage errors.
func TestBackupCLI(t *testing.T) {
	b := newBackupEnv(t, "keep_daily = 1\nkeep_weekly = 0\nkeep_monthly = 0\n")
	src := b.pg.psql(t, "gitcourse", "gitcourse", "pw-gitcourse", backupChecksums)

	out, _, code := runEdge(t, nil, "backup", "-h")
	if code != 0 || !strings.Contains(out, "restore ID -to DATABASE_URL") {
		t.Fatalf("edge backup -h: exit %d\n%s", code, out)
	}
	if out, _, code := runEdge(t, nil, "backup", "now", "-h"); code != 0 || !strings.Contains(out, "-config") {
		t.Fatalf("edge backup now -h: exit %d\n%s", code, out)
	}
	_, stderr, code := runEdge(t, nil, "backup")
	oneLine(t, stderr, code, 2, "missing command")
	_, stderr, code = b.edge(t, "frobnicate")
	oneLine(t, stderr, code, 2, "unknown command")

	now := b.mustEdge(t, "now")
	if !strings.Contains(now, "verified: ok: scratch-cluster") || strings.Contains(now, "\r") {
		t.Fatalf("backup now output (not a terminal: no progress line):\n%s", now)
	}
	entries := b.list(t)
	if len(entries) != 1 || entries[0].Verified == nil || !entries[0].Verified.OK || entries[0].SizeBytes == 0 || entries[0].Age == "" {
		t.Fatalf("list -json = %+v, want one verified backup", entries)
	}
	id := entries[0].ID
	if table := b.mustEdge(t, "list"); !strings.Contains(table, id) || !strings.Contains(table, "VERIFIED") {
		t.Fatalf("list table:\n%s", table)
	}
	if out := b.mustEdge(t, "verify"); !strings.Contains(out, "sha256 ok") || !strings.Contains(out, "counts match") {
		t.Fatalf("verify:\n%s", out)
	}

	// Restore into an empty database: the same data as the source.
	dst := b.pg.createDatabase(t, "restored")
	if out := b.mustEdge(t, "restore", id, "-to", dst); !strings.Contains(out, "row counts match") {
		t.Fatalf("restore:\n%s", out)
	}
	if got := b.pg.psql(t, "restored", "restored", "pw-restored", backupChecksums); got != src {
		t.Fatalf("restored data differs:\n got %s\nwant %s", got, src)
	}
	_, stderr, code = b.edge(t, "restore", id, "-to", dst)
	oneLine(t, stderr, code, 1, "not empty")
	b.mustEdge(t, "restore", id, "-to", dst, "-force")
	_, stderr, code = b.edge(t, "restore", id)
	oneLine(t, stderr, code, 2, "missing -to")
	_, stderr, code = b.edge(t, "restore", "20000101T000000Z", "-to", dst)
	oneLine(t, stderr, code, 1, "no such backup")

	// An older copy: prune -dry-run plans to delete it, and deletes nothing.
	old := copyBackup(t, b.backups, id, 10*24*time.Hour)
	plan := b.mustEdge(t, "prune", "-dry-run")
	if !strings.Contains(plan, "delete  "+old) || !strings.Contains(plan, "dry run: 1 of 2") {
		t.Fatalf("prune -dry-run:\n%s", plan)
	}
	if n := len(b.list(t)); n != 2 {
		t.Fatalf("dry run changed the backups: %d listed", n)
	}
	b.mustEdge(t, "prune")
	if entries := b.list(t); len(entries) != 1 || entries[0].ID != id {
		t.Fatalf("after prune: %+v, want only %s", entries, id)
	}

	// A flipped byte is caught by verify: exit 1, one line.
	flipOneByte(t, filepath.Join(b.backups, entries[0].File))
	_, stderr, code = b.edge(t, "verify", id)
	oneLine(t, stderr, code, 1, "sha256 mismatch")
}

// copyBackup copies backup id as one started age earlier and returns the
// new id.
func copyBackup(t *testing.T, dir, id string, age time.Duration) string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(dir, id+"-*.json"))
	if len(matches) != 1 {
		t.Fatalf("manifest of %s: %v", id, matches)
	}
	raw, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	start, _ := time.Parse("20060102T150405Z", id)
	newID := start.Add(-age).Format("20060102T150405Z")
	data, err := os.ReadFile(filepath.Join(dir, m["file"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	m["id"], m["file"] = newID, strings.Replace(m["file"].(string), id, newID, 1)
	m["started_at"] = start.Add(-age).Format(time.RFC3339)
	if err := os.WriteFile(filepath.Join(dir, m["file"].(string)), data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(m)
	if err := os.WriteFile(strings.Replace(matches[0], id, newID, 1), out, 0o600); err != nil {
		t.Fatal(err)
	}
	return newID
}

func flipOneByte(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x01
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestBackupKilledMidway: edge killed (SIGKILL) while pg_dump streams
// leaves no listed backup; the next "backup now" removes the partial file
// and succeeds.
func TestBackupKilledMidway(t *testing.T) {
	b := newBackupEnv(t, "")
	wrap := filepath.Join(b.dir, "pgbin")
	real := filepath.Join(b.pg.Bin, "pg_dump")
	pidFile := filepath.Join(b.dir, "pg_dump.pid")
	if err := os.MkdirAll(wrap, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"pg_restore", "psql", "initdb", "pg_ctl"} {
		if err := os.Symlink(filepath.Join(b.pg.Bin, p), filepath.Join(wrap, p)); err != nil {
			t.Fatal(err)
		}
	}
	// pg_dump stalls after 8 KiB, so that edge is killed mid-stream.
	script := "#!/bin/sh\ncase \"$1\" in --version) exec " + real + " --version;; esac\necho $$ > " + pidFile + "\n" +
		real + " \"$@\" | (head -c 8192; sleep 30; cat)\n"
	if err := os.WriteFile(filepath.Join(wrap, "pg_dump"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // the stalled pg_dump has its own process group
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				_ = syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
	})
	good := b.config
	b.config = filepath.Join(b.dir, "stall.toml")
	b.writeConfig(t, fmt.Sprintf("pg_bin = %q\n", wrap))

	cmd := exec.Command(edgeBinary(t), "backup", "now", "-config", b.config)
	cmd.Env = append(os.Environ(), b.env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(b.backups, ".partial")
	if !eventually(20*time.Second, func() bool { return dirBytes(partial) >= 4096 }) {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("no partial backup appeared in %s", partial)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if entries := b.list(t); len(entries) != 0 {
		t.Fatalf("listed %+v after edge was killed mid-backup", entries)
	}
	if dirBytes(partial) == 0 {
		t.Fatal("the partial file is already gone: the test did not kill edge mid-stream")
	}

	b.config = good
	b.mustEdge(t, "now")
	if entries := b.list(t); len(entries) != 1 || !entries[0].Verified.OK {
		t.Fatalf("after the next run: %+v", entries)
	}
	if left, _ := os.ReadDir(partial); len(left) != 0 {
		t.Fatalf("leftover partial files not cleaned: %v", left)
	}
}

// dirBytes is the total size of the regular files in dir.
func dirBytes(dir string) int64 {
	entries, _ := os.ReadDir(dir)
	var n int64
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
	}
	return n
}

// TestBackupWorker: "edge run" with [backup] catches up at start (no
// backup yet), verifies it, and still stops cleanly on SIGTERM.
func TestBackupWorker(t *testing.T) {
	b := newBackupEnv(t, "")
	e := &Edge{t: t, Bin: edgeBinary(t), Dir: b.dir, Config: b.config, Opts: Options{NoHTTPS: true, Env: b.env}}
	raw, err := os.ReadFile(b.config)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if port, ok := strings.CutPrefix(line, `http = "127.0.0.1:`); ok {
			e.HTTPPort = strings.TrimSuffix(port, `"`)
		}
	}
	if err := e.launch([]string{"run", "-config", b.config}); err != nil {
		t.Fatalf("start edge: %v\n%s", err, e.Output())
	}
	if !eventually(60*time.Second, func() bool {
		entries := b.list(t)
		return len(entries) == 1 && entries[0].Verified != nil
	}) {
		t.Fatalf("no catch-up backup within 60s\n--- edge output ---\n%s", e.Output())
	}
	if entries := b.list(t); !entries[0].Verified.OK {
		t.Fatalf("catch-up backup not verified: %+v", entries[0].Verified)
	}
	if !e.WaitOutput(`"backup done"`, 5*time.Second) {
		t.Errorf("no \"backup done\" log line\n%s", e.Output())
	}
}
