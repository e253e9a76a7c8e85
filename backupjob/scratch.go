package backupjob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Verification targets.
const (
	VerifyNone           = "none"
	VerifyScratchDB      = "scratch-db"
	VerifyScratchCluster = "scratch-cluster"
)

// scratchPrefix names throwaway clusters in the scratch directory, and
// scratchDBPrefix throwaway databases on the backed-up server.
const (
	scratchPrefix   = "edge-scratch-"
	scratchDBPrefix = "edge_verify_"
	scratchOwner    = "backup-dir" // file in a scratch dir naming its backup dir
)

// scratch is an isolated database to restore into; close drops it.
type scratch interface {
	target() dbTarget
	close(ctx context.Context) error
}

// scratchCluster is a throwaway PostgreSQL cluster in a temp directory,
// reachable only over a unix socket inside that directory. When edge runs
// as root it runs as the postgres system user (initdb refuses root).
type scratchCluster struct {
	dir   string
	tools *Tools
	cred  *syscall.Credential
	db    string
}

func (c *scratchCluster) data() string { return filepath.Join(c.dir, "data") }

func (c *scratchCluster) target() dbTarget {
	q := url.Values{"host": {c.dir}, "port": {"5432"}, "user": {"postgres"}, "sslmode": {"disable"}}
	u := url.URL{Scheme: "postgres", Path: "/" + c.db, RawQuery: q.Encode()}
	return dbTarget{full: u.String(), url: u.String(), name: c.db}
}

// clusterCredential is who runs the scratch cluster: nil (edge's own
// user), or the postgres system user when edge is root.
func clusterCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("find the postgres system user to run the scratch cluster (initdb refuses root): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// startScratchCluster initdb's and starts a cluster under parent, then
// creates the database db in it.
func startScratchCluster(ctx context.Context, parent, backupDir string, tools *Tools, db string) (*scratchCluster, error) {
	if tools.InitDB == "" || tools.PGCtl == "" {
		return nil, fmt.Errorf("start scratch cluster: initdb and pg_ctl %d not found (fix: apt-get install postgresql-%d, or verify = \"scratch-db\")", tools.Major, tools.Major)
	}
	cred, err := clusterCredential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(parent, scratchPrefix)
	if err != nil {
		return nil, fmt.Errorf("create scratch cluster directory: %w", err)
	}
	c := &scratchCluster{dir: dir, tools: tools, cred: cred, db: db}
	if err := c.start(ctx, backupDir); err != nil {
		_ = c.close(ctx)
		return nil, err
	}
	return c, nil
}

func (c *scratchCluster) start(ctx context.Context, backupDir string) error {
	if err := os.WriteFile(filepath.Join(c.dir, scratchOwner), []byte(backupDir), 0o600); err != nil {
		return fmt.Errorf("write scratch owner file: %w", err)
	}
	if c.cred != nil {
		if err := os.Chown(c.dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return fmt.Errorf("chown scratch cluster directory: %w", err)
		}
	}
	if err := c.run(ctx, c.tools.InitDB, "-D", c.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--locale=C.UTF-8", "--no-sync", "--no-instructions"); err != nil {
		return err
	}
	conf := fmt.Sprintf("\nlisten_addresses = ''\nunix_socket_directories = '%s'\nport = 5432\n"+
		"fsync = off\nfull_page_writes = off\nsynchronous_commit = off\nmax_wal_size = '1GB'\njit = off\n", c.dir)
	f, err := os.OpenFile(filepath.Join(c.data(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("configure scratch cluster: %w", err)
	}
	_, err = f.WriteString(conf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("configure scratch cluster: %w", err)
	}
	if err := c.run(ctx, c.tools.PGCtl, "-D", c.data(), "-l", filepath.Join(c.dir, "log"), "-w", "-t", "60", "-s", "start"); err != nil {
		return err
	}
	return c.createDB(ctx)
}

func (c *scratchCluster) createDB(ctx context.Context) error {
	admin := c.target()
	admin = admin.withDatabase("postgres")
	conn, err := connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{c.db}.Sanitize()+" TEMPLATE template0"); err != nil {
		return fmt.Errorf("create scratch database: %w", err)
	}
	return nil
}

// run runs a cluster program as the cluster's user, in its directory.
func (c *scratchCluster) run(ctx context.Context, prog string, args ...string) error {
	stderr := &tail{max: 2048}
	cmd := command(ctx, prog, args, os.Environ(), stderr)
	cmd.Dir = c.dir
	cmd.Stdout = stderr
	if c.cred != nil {
		cmd.SysProcAttr.Credential = c.cred
	}
	if err := cmd.Run(); err != nil {
		return exitError(filepath.Base(prog), err, stderr)
	}
	return nil
}

// close stops the cluster (immediately: it is thrown away) and deletes it.
func (c *scratchCluster) close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var err error
	if _, statErr := os.Stat(filepath.Join(c.data(), "postmaster.pid")); statErr == nil {
		err = c.run(ctx, c.tools.PGCtl, "-D", c.data(), "-m", "immediate", "-w", "-t", "20", "-s", "stop")
	}
	if rmErr := os.RemoveAll(c.dir); rmErr != nil && err == nil {
		err = fmt.Errorf("remove scratch cluster: %w", rmErr)
	}
	return err
}

// cleanStaleClusters stops and removes scratch clusters that a killed
// process left under parent for backupDir. The caller holds the lock.
func cleanStaleClusters(ctx context.Context, parent, backupDir string) []string {
	dirs, _ := filepath.Glob(filepath.Join(parent, scratchPrefix+"*"))
	var removed []string
	for _, d := range dirs {
		owner, err := os.ReadFile(filepath.Join(d, scratchOwner))
		if err != nil || string(owner) != backupDir {
			continue
		}
		c := &scratchCluster{dir: d, tools: &Tools{}}
		if pgctl := stalePGCtl(d); pgctl != "" {
			c.tools.PGCtl = pgctl
			if fi, err := os.Stat(d); err == nil && os.Geteuid() == 0 {
				if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
					c.cred = &syscall.Credential{Uid: st.Uid, Gid: st.Gid}
				}
			}
		}
		_ = c.close(ctx)
		removed = append(removed, d)
	}
	return removed
}

// stalePGCtl finds a pg_ctl for a left-over cluster's data directory.
func stalePGCtl(dir string) string {
	v, err := os.ReadFile(filepath.Join(dir, "data", "PG_VERSION"))
	if err != nil {
		return ""
	}
	major, _ := strconv.Atoi(strings.TrimSpace(string(v)))
	for _, p := range []string{fmt.Sprintf("/usr/lib/postgresql/%d/bin/pg_ctl", major)} {
		if isExecutable(p) {
			return p
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return p
	}
	return ""
}

// scratchDB is a temporary database on the backed-up server.
type scratchDB struct {
	admin dbTarget // the source database, to create and drop from
	name  string
}

func (s *scratchDB) target() dbTarget { return s.admin.withDatabase(s.name) }

// createScratchDB creates a temporary database beside the source, after
// dropping the ones a killed process left behind.
func createScratchDB(ctx context.Context, src dbTarget) (*scratchDB, error) {
	conn, err := connect(ctx, src)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// The source's name is in the prefix: jobs of other databases on the
	// same server hold other advisory locks and keep their scratch databases.
	prefix := scratchDBPrefix + strings.ToLower(fileSafe(src.name))
	if len(prefix) > 45 {
		prefix = prefix[:45]
	}
	prefix += "_"
	dropStaleDBs(ctx, conn, prefix)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	s := &scratchDB{admin: src, name: prefix + hex.EncodeToString(b)}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{s.name}.Sanitize()+" TEMPLATE template0"); err != nil {
		return nil, fmt.Errorf("create scratch database (the role needs CREATEDB, or use verify = \"scratch-cluster\"): %w", err)
	}
	return s, nil
}

// dropStaleDBs drops scratch databases left by a killed verification.
func dropStaleDBs(ctx context.Context, conn *pgx.Conn, prefix string) {
	rows, err := conn.Query(ctx, "SELECT datname FROM pg_database WHERE starts_with(datname, $1) AND length(datname) = $2",
		prefix, len(prefix)+12)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, n := range names {
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)")
	}
}

func (s *scratchDB) close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	conn, err := connect(ctx, s.admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{s.name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop scratch database %s: %w", s.name, err)
	}
	return nil
}

// errNoScratch reports that verify is "none".
var errNoScratch = errors.New("verification is off (verify = \"none\")")
