package backupjob

import (
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/gitcourse/edge/config"
)

// testConfig is a [backup] table for db on srv with a fresh directory.
func testConfig(t testing.TB, srv *testServer, db string) *config.Backup {
	t.Helper()
	return &config.Backup{
		DatabaseURL: config.Secret(srv.url(db)),
		Dir:         filepath.Join(t.TempDir(), "backups"),
		Schedule:    config.MustSchedule("03:00"),
		Format:      FormatCustom,
		KeepDaily:   7, KeepWeekly: 4, KeepMonthly: 6,
		Verify: VerifyScratchCluster,
	}
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func newJob(t testing.TB, cfg *config.Backup, opts Options) *Job {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	j, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func listIDs(t testing.TB, j *Job) []string {
	t.Helper()
	ms, err := j.List()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

func partials(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, partialDir))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestRoundTrip backs up, verifies and restores a GitCourse-like database
// in both formats, with and without age encryption, and checks that the
// restored data equals the source (row counts and an md5 of every table).
func TestRoundTrip(t *testing.T) {
	srv := needPostgres(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, format, verify string
		encrypt              bool
	}{
		{"custom", FormatCustom, VerifyScratchCluster, false},
		{"plain-gzip", FormatPlainGzip, VerifyScratchDB, false},
		{"custom+age", FormatCustom, VerifyScratchDB, true},
		{"plain-gzip+age", FormatPlainGzip, VerifyScratchCluster, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := srv.fixtureDB(t, 300)
			want := tableSums(t, srv.url(src))
			cfg := testConfig(t, srv, src)
			cfg.Format, cfg.Verify = tc.format, tc.verify
			if tc.encrypt {
				r, err := config.ParseRecipient(id.Recipient().String())
				if err != nil {
					t.Fatal(err)
				}
				cfg.EncryptTo = []config.Recipient{r}
			}
			j := newJob(t, cfg, Options{})
			m, err := j.Backup(t.Context())
			if err != nil {
				t.Fatalf("Backup: %v", err)
			}
			checkManifest(t, j, m, tc.format, tc.encrypt)
			if !m.VerifiedOK() || !strings.HasPrefix(m.Verified.Detail, tc.verify+":") {
				t.Fatalf("verified = %+v, want ok by %s", m.Verified, tc.verify)
			}
			if st := j.State(); st.LastSuccess.IsZero() || st.LastVerifySuccess.IsZero() || st.LastSize != m.SizeBytes || st.Failing() {
				t.Errorf("state after backup = %+v", st)
			}

			// Verify again from the stored file (needs the identity when encrypted).
			reader := newJob(t, cfg, Options{Identities: []age.Identity{id}})
			if tc.encrypt {
				if _, err := j.Verify(t.Context(), m.ID, ""); !errors.Is(err, ErrNeedIdentity) {
					t.Errorf("Verify without identity = %v, want ErrNeedIdentity", err)
				}
			}
			vm, err := reader.Verify(t.Context(), m.ID, VerifyScratchCluster)
			if err != nil || !vm.VerifiedOK() {
				t.Fatalf("Verify: %v (%+v)", err, vm.Verified)
			}

			// Restore into an empty database: equal to the source.
			dst := srv.createDB(t)
			if _, err := reader.Restore(t.Context(), m.ID, srv.url(dst), RestoreOptions{}); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if got := tableSums(t, srv.url(dst)); !maps.Equal(got, want) {
				t.Fatalf("restored data differs:\n got %v\nwant %v", got, want)
			}
			// A second restore is refused (not empty), then forced.
			if _, err := reader.Restore(t.Context(), m.ID, srv.url(dst), RestoreOptions{}); !errors.Is(err, ErrNotEmpty) {
				t.Fatalf("Restore into a non-empty database = %v, want ErrNotEmpty", err)
			}
			srv.exec(t, dst, "DELETE FROM enrollments WHERE course_id = 1")
			if _, err := reader.Restore(t.Context(), m.ID, srv.url(dst), RestoreOptions{Force: true}); err != nil {
				t.Fatalf("Restore -force: %v", err)
			}
			if got := tableSums(t, srv.url(dst)); !maps.Equal(got, want) {
				t.Fatalf("force-restored data differs:\n got %v\nwant %v", got, want)
			}
		})
	}
}

func checkManifest(t *testing.T, j *Job, m *Manifest, format string, encrypted bool) {
	t.Helper()
	ext := map[string]string{FormatCustom: ".dump", FormatPlainGzip: ".sql.gz"}[format]
	if encrypted {
		ext += ".age"
	}
	if _, err := time.Parse(idLayout, m.ID); err != nil {
		t.Errorf("id %q: %v", m.ID, err)
	}
	if want := m.ID + "-" + m.Database + ext; m.File != want {
		t.Errorf("file = %q, want %q", m.File, want)
	}
	fi, err := os.Stat(j.Path(m))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != m.SizeBytes || len(m.SHA256) != 64 || m.Format != format || m.Encrypted != encrypted {
		t.Errorf("manifest %+v does not describe the file (%d bytes)", m, fi.Size())
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode %v, want 0600", fi.Mode().Perm())
	}
	wantTables := map[string]int64{"public.users": 300, "public.courses": 20, "public.audit_log": 0}
	for k, v := range wantTables {
		if m.Tables[k] != v {
			t.Errorf("tables[%s] = %d, want %d (all: %v)", k, m.Tables[k], v, m.Tables)
		}
	}
	if m.Tables["public.enrollments"] == 0 || !strings.HasPrefix(m.ServerVersion, "1") || !m.FinishedAt.After(m.StartedAt) {
		t.Errorf("manifest %+v", m)
	}
	if raw, err := os.ReadFile(filepath.Join(j.Dir(), m.ID+"-"+m.Database+".json")); err != nil {
		t.Error(err)
	} else {
		for _, field := range []string{`"id"`, `"database"`, `"started_at"`, `"finished_at"`, `"size_bytes"`, `"sha256"`,
			`"format"`, `"server_version"`, `"tables"`, `"verified"`} {
			if !strings.Contains(string(raw), field) {
				t.Errorf("manifest lacks %s:\n%s", field, raw)
			}
		}
	}
	if p := partials(t, j.Dir()); len(p) != 0 {
		t.Errorf(".partial holds %v after a backup", p)
	}
}
