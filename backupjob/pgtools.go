package backupjob

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Tools are the PostgreSQL client programs of one major version.
type Tools struct {
	// Major is the major version of PGDump (15 for 15.18).
	Major int
	// Version is what "pg_dump --version" printed, such as "15.18".
	Version string
	// PGDump, PGRestore and PSQL are the client programs.
	PGDump, PGRestore, PSQL string
	// InitDB and PGCtl start a scratch cluster; "" when not installed.
	InitDB, PGCtl string
}

// ErrClientTooOld reports client programs older than the server they dump.
var ErrClientTooOld = errors.New("pg_dump is older than the server")

// debianBinGlob is where Debian and Ubuntu install each major version.
const debianBinGlob = "/usr/lib/postgresql/*/bin"

var versionRE = regexp.MustCompile(`\(PostgreSQL\)\s+([0-9]+)(?:\.([0-9]+))?`)

// toolVersion runs "prog --version" and returns the version text and major.
func toolVersion(ctx context.Context, prog string) (string, int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, prog, "--version").Output()
	if err != nil {
		return "", 0, fmt.Errorf("run %s --version: %w", prog, err)
	}
	m := versionRE.FindStringSubmatch(string(out))
	if m == nil {
		return "", 0, fmt.Errorf("read the version of %s from %q", prog, strings.TrimSpace(string(out)))
	}
	major, _ := strconv.Atoi(m[1])
	v := m[1]
	if m[2] != "" {
		v += "." + m[2]
	}
	return v, major, nil
}

// candidateDirs lists where pg_dump may be: pgBin alone when set, else
// the PATH entries that hold it, then /usr/lib/postgresql/*/bin newest first.
func candidateDirs(pgBin string) []string {
	if pgBin != "" {
		return []string{pgBin}
	}
	var dirs []string
	seen := map[string]bool{}
	add := func(d string) {
		if d != "" && !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if isExecutable(filepath.Join(d, "pg_dump")) {
			add(d)
		}
	}
	deb, _ := filepath.Glob(debianBinGlob)
	sort.Slice(deb, func(i, j int) bool { return dirMajor(deb[i]) > dirMajor(deb[j]) })
	for _, d := range deb {
		add(d)
	}
	return dirs
}

// dirMajor is the major version in a /usr/lib/postgresql/N/bin path.
func dirMajor(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// FindTools picks the client programs for a server of major version
// serverMajor: the same major if installed, else the oldest newer one.
// A client older than the server is refused with ErrClientTooOld.
func FindTools(ctx context.Context, pgBin string, serverMajor int) (*Tools, error) {
	dirs := candidateDirs(pgBin)
	if len(dirs) == 0 {
		return nil, errors.New("find pg_dump: not on PATH nor in " + debianBinGlob +
			" (fix: apt-get install postgresql-client, or set backup.pg_bin)")
	}
	var best *Tools
	var newest *Tools
	for _, d := range dirs {
		prog := filepath.Join(d, "pg_dump")
		if !isExecutable(prog) {
			continue
		}
		v, major, err := toolVersion(ctx, prog)
		if err != nil {
			return nil, err
		}
		t := &Tools{Major: major, Version: v, PGDump: prog}
		if newest == nil || major > newest.Major {
			newest = t
		}
		if major >= serverMajor && (best == nil || major < best.Major) {
			best = t
		}
		if major == serverMajor {
			break
		}
	}
	if best == nil {
		if newest == nil {
			return nil, fmt.Errorf("find pg_dump in %s: not found", strings.Join(dirs, ", "))
		}
		return nil, fmt.Errorf("%w: pg_dump %s (%s) cannot dump a PostgreSQL %d server (fix: install postgresql-client-%d, or set backup.pg_bin)",
			ErrClientTooOld, newest.Version, newest.PGDump, serverMajor, serverMajor)
	}
	if err := best.complete(); err != nil {
		return nil, err
	}
	return best, nil
}

// complete finds the other programs beside pg_dump, or in the Debian
// directory of the same major version.
func (t *Tools) complete() error {
	dirs := []string{filepath.Dir(t.PGDump), fmt.Sprintf("/usr/lib/postgresql/%d/bin", t.Major)}
	find := func(name string) string {
		for _, d := range dirs {
			if p := filepath.Join(d, name); isExecutable(p) {
				return p
			}
		}
		return ""
	}
	t.PGRestore, t.PSQL, t.InitDB, t.PGCtl = find("pg_restore"), find("psql"), find("initdb"), find("pg_ctl")
	if t.PGRestore == "" || t.PSQL == "" {
		return fmt.Errorf("find pg_restore and psql beside %s: not found (fix: install the full postgresql-client package)", t.PGDump)
	}
	return nil
}
