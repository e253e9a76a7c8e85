package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// One throwaway PostgreSQL server for the package's tests: initdb (as the
// postgres user when root) in a temp dir, a free loopback port, fsync off.
// TestMain stops it by pg_ctl.
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
	bin, dir, port string
	cred           *syscall.Credential
}

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperProcess())
	}
	code := m.Run()
	if pgServer != nil {
		pgServer.stop()
	}
	os.Exit(code)
}

func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "false" && v != "0"
}

// needPostgres returns the shared server, or skips (fails under CI=true).
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

func serverBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return major(dirs[i]) > major(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("initdb not found in /usr/lib/postgresql/*/bin or PATH (apt-get install postgresql)")
}

func major(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func startTestServer() (*testServer, error) {
	bin, err := serverBin()
	if err != nil {
		return nil, err
	}
	s := &testServer{bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres user for initdb: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if s.dir, err = os.MkdirTemp("", "edge-cluster-test-"); err != nil {
		return nil, err
	}
	pw := filepath.Join(s.dir, "pw")
	if err := os.WriteFile(pw, []byte(superPassword+"\n"), 0o600); err != nil {
		return nil, err
	}
	for _, p := range []string{s.dir, pw} {
		if s.cred != nil {
			if err := os.Chown(p, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
				return nil, err
			}
		}
	}
	if err := s.run("initdb", "-D", s.data(), "-U", "postgres", "--pwfile="+pw, "--auth-host=scram-sha-256",
		"--auth-local=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		if s.port, err = freePort(); err != nil {
			return nil, err
		}
		err = s.run("pg_ctl", "-D", s.data(), "-l", filepath.Join(s.dir, "log"), "-w", "-t", "30", "-s",
			"-o", "-c listen_addresses=127.0.0.1 -p "+s.port+" -k "+s.dir+" -c fsync=off -c max_connections=200", "start")
		if err == nil || attempt == 2 {
			break
		}
	}
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		return nil, fmt.Errorf("%v\n%s", err, log)
	}
	return s, s.super(context.Background(), fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", appUser, appPassword))
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port, nil
}

func (s *testServer) data() string { return filepath.Join(s.dir, "data") }

func (s *testServer) run(prog string, args ...string) error {
	cmd := exec.Command(filepath.Join(s.bin, prog), args...)
	cmd.Dir = s.dir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v: %s", prog, err, out)
	}
	return nil
}

func (s *testServer) stop() {
	_ = s.run("pg_ctl", "-D", s.data(), "-m", "immediate", "-w", "-s", "stop")
	_ = os.RemoveAll(s.dir)
}

func (s *testServer) url(db string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%s/%s?sslmode=disable", appUser, appPassword, s.port, db)
}

func (s *testServer) super(ctx context.Context, stmts ...string) error {
	return s.superIn(ctx, "postgres", stmts...)
}

// superIn runs statements as the superuser in database db.
func (s *testServer) superIn(ctx context.Context, db string, stmts ...string) error {
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%s/%s?sslmode=disable", superPassword, s.port, db))
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

// createDB creates an empty database owned by the application role and
// returns its URL.
func (s *testServer) createDB(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	if err := s.super(t.Context(), "CREATE DATABASE "+name+" OWNER "+appUser); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.super(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	return s.url(name)
}

// newPool opens a pool on url, closed at the end of the test.
func newPool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// migratedStorage returns a Storage on a fresh migrated database.
func migratedStorage(t testing.TB, opts StorageOptions) (*Storage, string) {
	t.Helper()
	url := needPostgres(t).createDB(t)
	pool := newPool(t, url)
	if _, err := Migrate(t.Context(), pool); err != nil {
		t.Fatal(err)
	}
	return NewStorage(pool, opts), url
}
