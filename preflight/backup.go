package preflight

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sys/unix"
)

var pgDumpVersion = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

// findPGDump looks in backup.pg_bin, then PATH, then the newest
// /usr/lib/postgresql/*/bin, as edge backup does.
func findPGDump(pgBin string) (string, error) {
	if pgBin != "" {
		return filepath.Join(pgBin, "pg_dump"), nil
	}
	if p, err := exec.LookPath("pg_dump"); err == nil {
		return p, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
	if len(matches) == 0 {
		return "", errors.New("no pg_dump on PATH or in /usr/lib/postgresql/*/bin")
	}
	slices.SortFunc(matches, func(a, b string) int { return majorOfPath(a) - majorOfPath(b) })
	return matches[len(matches)-1], nil
}

func majorOfPath(p string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
	return n
}

// checkPGDump wants a pg_dump whose major version is at least the
// server's: pg_dump refuses to dump a newer server.
func (p *runner) checkPGDump(ctx context.Context) []Result {
	b := p.cfg.Backup
	if b == nil {
		return []Result{result("pg_dump", Skip, "", "no [backup]")}
	}
	bin, err := findPGDump(b.PGBin)
	if err != nil {
		return []Result{result("pg_dump", Fail, "sudo apt-get install postgresql-client", "%v", err)}
	}
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	m := pgDumpVersion.FindSubmatch(out)
	if err != nil || m == nil {
		return []Result{result("pg_dump", Fail, "check backup.pg_bin", "%s --version: %v %q", bin, err, out)}
	}
	client, _ := strconv.Atoi(string(m[1]))
	server, err := serverMajor(ctx, b.DatabaseURL.Reveal(), p.opts.Timeout)
	if err != nil {
		return []Result{result("pg_dump", Fail, "check DATABASE_URL and that PostgreSQL runs", "connect to the database: %v", err)}
	}
	if client < server {
		return []Result{result("pg_dump", Fail, fmt.Sprintf("sudo apt-get install postgresql-client-%d, or set backup.pg_bin", server),
			"%s is version %d, older than the server (%d): it cannot dump it", bin, client, server)}
	}
	return []Result{result("pg_dump", Pass, "", "%s is version %d; the server is %d", bin, client, server)}
}

// serverMajor connects and returns the server's major version.
func serverMajor(ctx context.Context, url string, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	var num string
	if err := conn.QueryRow(ctx, "SHOW server_version_num").Scan(&num); err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return 0, fmt.Errorf("server_version_num %q: %w", num, err)
	}
	return n / 10000, nil
}

// checkBackupDir wants the backup directory to take a file and to have
// Options.MinFree bytes free.
func (p *runner) checkBackupDir(_ context.Context) []Result {
	b := p.cfg.Backup
	if b == nil {
		return []Result{result("backup_dir", Skip, "", "no [backup]")}
	}
	probe := filepath.Join(b.Dir, fmt.Sprintf(".preflight-%d", os.Getpid()))
	f, err := os.OpenFile(probe, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err == nil {
		_, err = f.Write([]byte("preflight\n"))
		if serr := f.Sync(); err == nil {
			err = serr
		}
		f.Close()
		os.Remove(probe)
	}
	if err != nil {
		return []Result{result("backup_dir", Fail, fmt.Sprintf("sudo install -d -o edge -g edge -m 0750 %s", b.Dir),
			"cannot write to %s: %v", b.Dir, err)}
	}
	var st unix.Statfs_t
	if err := unix.Statfs(b.Dir, &st); err != nil {
		return []Result{result("backup_dir", Warn, "", "%s is writable; free space unknown: %v", b.Dir, err)}
	}
	free := int64(st.Bavail) * st.Bsize
	if free < p.opts.MinFree {
		return []Result{result("backup_dir", Fail, "free space on that file system, or move backup.dir",
			"%s has %s free, less than %s", b.Dir, gb(free), gb(p.opts.MinFree))}
	}
	return []Result{result("backup_dir", Pass, "", "%s is writable, %s free", b.Dir, gb(free))}
}

func gb(n int64) string { return fmt.Sprintf("%.1f GB", float64(n)/1e9) }

// checkAlerts sends a test message through every channel when asked.
func (p *runner) checkAlerts(ctx context.Context) []Result {
	a := p.cfg.Alerts
	if a.Email == nil && a.Telegram == nil && a.Webhook == nil {
		return []Result{result("alerts", Warn, "configure [alerts] email, telegram or webhook: nobody hears about failures otherwise",
			"no alert channel configured")}
	}
	if p.opts.SendTest == nil {
		return []Result{result("alerts", Skip, "", "channels not tested (pass -send-test to send a test message through each)")}
	}
	return p.opts.SendTest(ctx)
}
