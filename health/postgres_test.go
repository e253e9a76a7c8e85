package health

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/health/alert/alerttest"
)

// pgCluster is a throwaway PostgreSQL cluster (RECIPES §1): initdb as the
// postgres user when root, on a free loopback port, fsync off.
type pgCluster struct {
	bin, dir, port string
}

const pgPassword = "superpw"

func startPostgres(t *testing.T) *pgCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping PostgreSQL test in -short mode")
	}
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Strings(bins)
	var err error
	if len(bins) == 0 {
		err = fmt.Errorf("no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)")
	}
	alerttest.RequireOrSkip(t, "PostgreSQL server", err)
	c := &pgCluster{bin: filepath.Dir(bins[len(bins)-1])}
	// Not t.TempDir: its parent is 0700 root, which the postgres user
	// cannot enter.
	parent, err := os.MkdirTemp("", "edge-health-pg-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(parent) })
	c.dir = filepath.Join(parent, "pg")
	must(t, os.Chmod(parent, 0o755))
	must(t, os.Mkdir(c.dir, 0o700))
	must(t, os.WriteFile(filepath.Join(c.dir, "pw"), []byte(pgPassword+"\n"), 0o600))
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chown", "-R", "postgres:", c.dir).CombinedOutput(); err != nil {
			t.Fatalf("chown to postgres: %v: %s", err, out)
		}
	}
	c.tool(t, "initdb", "-D", c.dir+"/data", "-U", "postgres", "--pwfile="+c.dir+"/pw",
		"--auth-host=scram-sha-256", "--auth-local=peer", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	_, c.port, _ = net.SplitHostPort(ln.Addr().String())
	ln.Close()
	c.tool(t, "pg_ctl", "-D", c.dir+"/data", "-l", c.dir+"/log", "-w", "-t", "30",
		"-o", "-c listen_addresses=127.0.0.1 -p "+c.port+" -k "+c.dir+" -c fsync=off", "start")
	t.Cleanup(func() { c.stop(t) })
	return c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (c *pgCluster) url() string {
	return fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%s/postgres?sslmode=disable", pgPassword, c.port)
}

// tool runs a server program, as postgres when root, bounded.
func (c *pgCluster) tool(t *testing.T, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	path := filepath.Join(c.bin, name)
	cmd := exec.CommandContext(ctx, path, args...)
	if os.Geteuid() == 0 {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func (c *pgCluster) stop(t *testing.T) {
	if _, err := os.Stat(filepath.Join(c.dir, "data", "postmaster.pid")); err == nil {
		c.tool(t, "pg_ctl", "-D", c.dir+"/data", "-m", "fast", "-w", "stop")
	}
}

func TestPostgresCheck(t *testing.T) {
	pg := startPostgres(t)
	check := &Postgres{URL: pg.url()}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := check.Check(ctx); err != nil {
		t.Fatalf("running server: %v", err)
	}
	wrong := &Postgres{URL: strings.Replace(pg.url(), pgPassword, "wrongpw", 1)}
	if err := wrong.Check(ctx); err == nil || strings.Contains(err.Error(), "wrongpw") {
		t.Errorf("wrong password: got %v, want an error without the password", err)
	}
	pg.stop(t)
	err := check.Check(ctx)
	if err == nil || !strings.Contains(err.Error(), "connect to PostgreSQL") {
		t.Fatalf("stopped server: got %v", err)
	}
	if strings.Contains(err.Error(), pgPassword) {
		t.Errorf("error reveals the password: %v", err)
	}
}
