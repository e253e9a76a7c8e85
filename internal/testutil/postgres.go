package testutil

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PostgresPassword is the password of the superuser "postgres" of every
// throwaway cluster.
const PostgresPassword = "throwaway-super"

// Postgres is a throwaway PostgreSQL cluster: initdb in a temp dir (as
// the postgres user when the tests run as root, since initdb refuses
// root), listening on a free loopback port with fsync off.
type Postgres struct {
	// Bin is the folder of initdb, pg_ctl, pg_dump and pg_restore.
	Bin string
	// Dir holds data/, the server log and the unix socket.
	Dir string
	// Port is the TCP port on 127.0.0.1.
	Port string

	asPostgres bool
}

// PostgresBin finds the newest /usr/lib/postgresql/N/bin (Debian keeps
// the server programs off PATH), else the folder of initdb on PATH.
func PostgresBin() (string, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(matches, func(i, j int) bool { return major(matches[i]) > major(matches[j]) })
	for _, m := range matches {
		if _, err := os.Stat(filepath.Join(filepath.Dir(m), "pg_ctl")); err == nil {
			return filepath.Dir(m), nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no initdb in /usr/lib/postgresql/*/bin or on PATH (apt-get install postgresql)")
}

// major is N of /usr/lib/postgresql/N/bin/initdb, 0 when not a number.
func major(initdb string) int {
	var n int
	_, _ = fmt.Sscanf(filepath.Base(filepath.Dir(filepath.Dir(initdb))), "%d", &n)
	return n
}

// StartPostgres starts a cluster for t and stops it when t ends. Without
// PostgreSQL it skips t (fails it under CI=true); in -short mode it skips.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping PostgreSQL test in -short mode")
	}
	_, err := PostgresBin()
	RequireOrSkip(t, "PostgreSQL server (initdb, pg_ctl)", err)
	p, err := NewPostgres()
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	t.Cleanup(p.Stop)
	return p
}

// NewPostgres starts a cluster that is not tied to one test, for a
// package whose tests share it; the caller stops it (in TestMain).
func NewPostgres() (*Postgres, error) {
	bin, err := PostgresBin()
	if err != nil {
		return nil, err
	}
	// Not t.TempDir: its parent is 0700 root, which postgres cannot enter.
	dir, err := os.MkdirTemp("", "edge-pg-")
	if err != nil {
		return nil, err
	}
	p := &Postgres{Bin: bin, Dir: dir, asPostgres: os.Geteuid() == 0}
	if err := p.prepareDir(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if out, err := p.Tool(60*time.Second, "initdb", "-D", p.data(), "-U", "postgres", "--pwfile="+dir+"/pw",
		"--auth-host=scram-sha-256", "--auth-local=peer", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8",
		"--no-instructions"); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if err := p.start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return p, nil
}

// start runs pg_ctl start on a free port, trying another port when one
// was taken between choosing and binding it.
func (p *Postgres) start() error {
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		p.Port = port
		out, err := p.pgCtlStart()
		if err == nil {
			return nil
		}
		log, _ := os.ReadFile(p.Dir + "/log")
		if attempt < 3 && strings.Contains(string(log), "already in use") {
			continue
		}
		return fmt.Errorf("pg_ctl start: %v\n%s\n--- server log ---\n%s", err, out, log)
	}
}

// pgCtlStart starts the server on p.Port: loopback only, fsync off, room
// for the many pools and processes of the cluster tests.
func (p *Postgres) pgCtlStart() ([]byte, error) {
	return p.Tool(60*time.Second, "pg_ctl", "-D", p.data(), "-l", p.Dir+"/log", "-w", "-t", "30", "-o",
		"-c listen_addresses=127.0.0.1 -p "+p.Port+" -k "+p.Dir+" -c fsync=off -c full_page_writes=off -c max_connections=200",
		"start")
}

func (p *Postgres) data() string { return filepath.Join(p.Dir, "data") }

// prepareDir writes the superuser password file initdb reads and hands
// the dir to the postgres user when running as root.
func (p *Postgres) prepareDir() error {
	if err := os.WriteFile(p.Dir+"/pw", []byte(PostgresPassword+"\n"), 0o600); err != nil {
		return err
	}
	if !p.asPostgres {
		return nil
	}
	if err := os.Chmod(p.Dir, 0o755); err != nil {
		return err
	}
	if out, err := exec.Command("chown", "-R", "postgres:", p.Dir).CombinedOutput(); err != nil {
		return fmt.Errorf("chown %s to postgres: %v: %s", p.Dir, err, out)
	}
	return nil
}

// Tool runs a PostgreSQL server program from Bin (as postgres when root)
// in Dir, bounded by limit, and returns its combined output.
func (p *Postgres) Tool(limit time.Duration, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	path := filepath.Join(p.Bin, name)
	cmd := exec.CommandContext(ctx, path, args...)
	if p.asPostgres {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	cmd.Dir = p.Dir
	return cmd.CombinedOutput()
}

// Stop stops the server (Halt) and removes Dir.
func (p *Postgres) Stop() {
	p.Halt()
	_ = os.RemoveAll(p.Dir)
}

// Halt stops the server with pg_ctl and kills it by the PID in
// postmaster.pid if it is still there; its data stays for Resume.
func (p *Postgres) Halt() {
	pid := p.PID()
	_, _ = p.Tool(30*time.Second, "pg_ctl", "-D", p.data(), "-m", "fast", "-w", "-t", "20", "stop")
	if pid > 0 && syscall.Kill(pid, 0) == nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// Resume starts a halted server again on the same port, so that clients
// holding its URL reconnect.
func (p *Postgres) Resume() error {
	out, err := p.pgCtlStart()
	if err != nil {
		return fmt.Errorf("pg_ctl start again on port %s: %v\n%s", p.Port, err, out)
	}
	return nil
}

// PID is the postmaster's process id, 0 when it is not running.
func (p *Postgres) PID() int {
	b, err := os.ReadFile(p.data() + "/postmaster.pid")
	if err != nil {
		return 0
	}
	var pid int
	_, _ = fmt.Sscanf(string(b), "%d", &pid)
	return pid
}

// URL is the postgres:// URL of database db as user with password.
func (p *Postgres) URL(user, password, db string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%s/%s?sslmode=disable", user, password, p.Port, db)
}

// SuperURL is the URL of database db as the superuser postgres.
func (p *Postgres) SuperURL(db string) string { return p.URL("postgres", PostgresPassword, db) }

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free loopback port: %w", err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port, nil
}
