package backupjob

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
)

// A PostgreSQL cluster started once for the package's tests: initdb as the
// postgres user (when root) in a temp dir, on a free loopback port, with
// fsync off. TestMain stops it by pg_ctl.
var (
	pgOnce   sync.Once
	pgServer *testServer
	pgErr    error
	dbSeq    atomic.Int64
)

const (
	superPassword = "superpw"
	appUser       = "edge"
	appPassword   = "s3cret"
)

type testServer struct {
	bin  string // /usr/lib/postgresql/N/bin
	dir  string
	port string
	cred *syscall.Credential
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pgServer != nil {
		pgServer.stop()
	}
	os.Exit(code)
}

// inCI reports whether CI=true: a missing PostgreSQL fails instead of skipping.
func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "false" && v != "0"
}

// needPostgres returns the shared server, or skips (fails under CI).
func needPostgres(t testing.TB) *testServer {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping PostgreSQL test in -short mode")
	}
	pgOnce.Do(func() { pgServer, pgErr = startTestServer() })
	if pgErr != nil {
		if inCI() {
			t.Fatalf("PostgreSQL is missing: %v (CI=true: a missing component fails the test)", pgErr)
		}
		t.Skipf("skipping: PostgreSQL is missing: %v (install postgresql; under CI=true this fails)", pgErr)
	}
	return pgServer
}

// serverBin finds the newest /usr/lib/postgresql/N/bin with initdb.
func serverBin() (string, error) {
	dirs, _ := filepath.Glob(debianBinGlob)
	sort.Slice(dirs, func(i, j int) bool { return dirMajor(dirs[i]) > dirMajor(dirs[j]) })
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("initdb and pg_ctl not found in " + debianBinGlob + " or PATH (apt-get install postgresql)")
}

func freeTCPPort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port, nil
}

func startTestServer() (*testServer, error) {
	bin, err := serverBin()
	if err != nil {
		return nil, err
	}
	s := &testServer{bin: bin}
	if s.cred, err = clusterCredential(); err != nil {
		return nil, err
	}
	if s.dir, err = os.MkdirTemp("", "edge-backup-test-"); err != nil {
		return nil, err
	}
	if err := s.chown(s.dir); err != nil {
		return nil, err
	}
	pw := filepath.Join(s.dir, "pw")
	if err := os.WriteFile(pw, []byte(superPassword+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := s.chown(pw); err != nil {
		return nil, err
	}
	if err := s.run("initdb", "-D", s.data(), "-U", "postgres", "--pwfile="+pw, "--auth-host=scram-sha-256",
		"--auth-local=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		if s.port, err = freeTCPPort(); err != nil {
			return nil, err
		}
		err = s.run("pg_ctl", "-D", s.data(), "-l", filepath.Join(s.dir, "log"), "-w", "-t", "30", "-s",
			"-o", "-c listen_addresses=127.0.0.1 -p "+s.port+" -k "+s.dir+" -c fsync=off -c full_page_writes=off", "start")
		if err == nil || attempt == 2 {
			break
		}
	}
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		return nil, fmt.Errorf("%v\n%s", err, log)
	}
	return s, s.super(context.Background(), "postgres",
		fmt.Sprintf("CREATE ROLE %s LOGIN CREATEDB PASSWORD '%s'", appUser, appPassword))
}

func (s *testServer) data() string { return filepath.Join(s.dir, "data") }

func (s *testServer) chown(path string) error {
	if s.cred == nil {
		return nil
	}
	return os.Chown(path, int(s.cred.Uid), int(s.cred.Gid))
}

func (s *testServer) run(prog string, args ...string) error {
	cmd := exec.Command(filepath.Join(s.bin, prog), args...)
	cmd.Dir = s.dir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", prog, err, out)
	}
	return nil
}

func (s *testServer) stop() {
	_ = s.run("pg_ctl", "-D", s.data(), "-m", "immediate", "-w", "-s", "stop")
	_ = os.RemoveAll(s.dir)
}

// url is the URL of database db as the application role.
func (s *testServer) url(db string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%s/%s?sslmode=disable", appUser, appPassword, s.port, db)
}

func (s *testServer) superURL(db string) string {
	return fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%s/%s?sslmode=disable", superPassword, s.port, db)
}

// super runs statements as the superuser in db.
func (s *testServer) super(ctx context.Context, db string, stmts ...string) error {
	conn, err := pgx.Connect(ctx, s.superURL(db))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, st := range stmts {
		if _, err := conn.Exec(ctx, st); err != nil {
			return fmt.Errorf("%s: %w", st, err)
		}
	}
	return nil
}

// createDB creates an empty database owned by the application role.
func (s *testServer) createDB(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	if err := s.super(t.Context(), "postgres", "CREATE DATABASE "+name+" OWNER "+appUser); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.super(context.Background(), "postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return name
}

// fixtureDB creates a database with a GitCourse-like schema and data.
func (s *testServer) fixtureDB(t testing.TB, users int) string {
	t.Helper()
	name := s.createDB(t)
	s.exec(t, name, fixtureSQL(users))
	return name
}

func (s *testServer) exec(t testing.TB, db, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), s.url(db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("exec in %s: %v", db, err)
	}
}

// fixtureSQL is users with a role ENUM, courses and enrollments with
// timestamps defaulting to now(), an empty table, and awkward text.
func fixtureSQL(users int) string {
	return `
CREATE TYPE user_role AS ENUM ('student', 'instructor', 'admin');
CREATE TABLE users (
  id bigserial PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name text NOT NULL,
  role user_role NOT NULL DEFAULT 'student',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE courses (
  id bigserial PRIMARY KEY,
  slug text NOT NULL UNIQUE,
  title text NOT NULL,
  instructor_id bigint REFERENCES users(id),
  published boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE enrollments (
  user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  course_id bigint NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
  progress numeric(5,2) NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, course_id)
);
CREATE TABLE audit_log (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), entry jsonb);
CREATE INDEX enrollments_course ON enrollments (course_id);
INSERT INTO users (email, name, role)
  SELECT 'user' || i || '@example.com',
         CASE WHEN i % 7 = 0 THEN E'O''Brien\t"quoted"\nnewline ' || i ELSE 'Ünïcødé 名前 ' || i END,
         (ARRAY['student', 'student', 'student', 'instructor', 'admin'])[1 + i % 5]::user_role
  FROM generate_series(1, ` + strconv.Itoa(users) + `) i;
INSERT INTO courses (slug, title, instructor_id, published)
  SELECT 'course-' || i, 'Course ' || i, (SELECT min(id) FROM users WHERE role = 'instructor'), i % 2 = 0
  FROM generate_series(1, 20) i;
INSERT INTO enrollments (user_id, course_id, progress)
  SELECT u.id, c.id, (u.id * c.id) % 100
  FROM users u JOIN courses c ON (u.id + c.id) % 3 = 0;
`
}

// tableSums is, per table, its row count and an md5 of all rows in order.
func tableSums(t testing.TB, url string) map[string]string {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables
		WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range names {
		var count int64
		var sum *string
		q := "SELECT count(*), md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM " + n + " t"
		if err := conn.QueryRow(ctx, q).Scan(&count, &sum); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		v := fmt.Sprintf("%d rows", count)
		if sum != nil {
			v += " md5 " + *sum
		}
		out[n] = v
	}
	return out
}
