package audit

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	toml "github.com/pelletier/go-toml/v2"
)

// Defaults of the reference deployment (docs/deployment.md).
const (
	defaultConfig    = "/etc/edge/edge.toml"
	defaultEnvFile   = "/var/www/gitcourse/.env"
	defaultStateDir  = "/var/lib/edge"
	defaultBackupDir = "/var/backups/gitcourse"
)

// resolvePaths fills in what p leaves empty: from the unit (the env file,
// -config in ExecStart=), from the config (state and backup dirs), else
// the defaults.
func (h *host) resolvePaths(p Paths, unit *unitFile) Paths {
	if p.Config == "" {
		p.Config = unit.configFlag()
	}
	if p.Config == "" {
		p.Config = defaultConfig
	}
	if p.EnvFile == "" && unit != nil {
		if files := unit.all("EnvironmentFile"); len(files) > 0 {
			p.EnvFile = strings.TrimPrefix(files[0], "-")
		}
	}
	if p.EnvFile == "" {
		p.EnvFile = defaultEnvFile
	}
	var doc struct {
		Server struct {
			StateDir string `toml:"state_dir"`
		} `toml:"server"`
		Backup struct {
			Dir string `toml:"dir"`
		} `toml:"backup"`
	}
	if data, ok := h.read(p.Config); ok {
		_ = toml.Unmarshal([]byte(data), &doc) // a broken config is edge validate's business
	}
	if p.StateDir == "" {
		p.StateDir = cmpOr(doc.Server.StateDir, defaultStateDir)
	}
	if p.BackupDir == "" {
		p.BackupDir = cmpOr(doc.Backup.Dir, defaultBackupDir)
	}
	return p
}

func cmpOr(a, b string) string {
	if a != "" && !strings.Contains(a, "${") {
		return a
	}
	return b
}

// fileRule is what one path should look like.
type fileRule struct {
	path, what string
	mode       string      // wanted mode, such as "0640"
	chown      string      // wanted owner[:group], such as "root:edge"
	dir        bool        // a directory
	worldBad   fs.FileMode // bits for others that are worldSev
	worldSev   Severity
	worldLow   fs.FileMode // bits for others that are LOW
	groupBad   fs.FileMode // bits for the group that are MEDIUM
	ownerSev   Severity    // when the owner is not the wanted one
}

// checkFiles checks the modes and owners of the secrets, the config, the
// state and the backups.
func (h *host) checkFiles(p Paths) []Finding {
	rules := []fileRule{
		{path: p.EnvFile, what: "env file (secrets)", mode: "0640", chown: "root:edge", worldBad: 0o007, worldSev: High, groupBad: 0o020, ownerSev: Medium},
		{path: p.Config, what: "config", mode: "0640", chown: "root:edge", worldBad: 0o002, worldSev: High, worldLow: 0o005, groupBad: 0o020, ownerSev: Medium},
		{path: p.StateDir, what: "state dir (certificate keys)", mode: "0700", chown: "edge", dir: true, worldBad: 0o007, worldSev: High, groupBad: 0o070, ownerSev: Low},
		{path: p.BackupDir, what: "backup dir (database dumps)", mode: "0750", chown: "edge", dir: true, worldBad: 0o007, worldSev: High, groupBad: 0o020, ownerSev: Low},
	}
	users, groups := h.accounts("/etc/passwd"), h.accounts("/etc/group")
	var out []Finding
	for _, r := range rules {
		out = append(out, h.checkFile(r, users, groups)...)
	}
	return out
}

func (h *host) checkFile(r fileRule, users, groups accounts) []Finding {
	fi, err := os.Stat(h.path(r.path))
	if err != nil {
		return []Finding{finding("files", Info, "", "%s %s: not found (not checked)", r.what, r.path)}
	}
	owner, group := "?", "?"
	st, _ := fi.Sys().(*syscall.Stat_t)
	if st != nil {
		owner, group = users.name(int(st.Uid)), groups.name(int(st.Gid))
	}
	mode := fi.Mode().Perm()
	have := fmt.Sprintf("%04o %s:%s", mode, owner, group)
	want := r.mode + " " + r.chown
	fix := fmt.Sprintf("sudo chmod %s %s && sudo chown %s %s", r.mode, r.path, r.chown, r.path)
	var out []Finding
	switch {
	case r.dir != fi.IsDir():
		out = append(out, finding("files", Medium, "", "%s %s: want a %s", r.what, r.path, map[bool]string{true: "directory", false: "file"}[r.dir]))
	case mode&r.worldBad != 0:
		out = append(out, finding("files", r.worldSev, fix, "%s %s is open to every user (%s, want %s)", r.what, r.path, have, want))
	case mode&r.groupBad != 0:
		out = append(out, finding("files", Medium, fix, "%s %s gives group %s more than it needs (%s, want %s)", r.what, r.path, group, have, want))
	case mode&r.worldLow != 0:
		out = append(out, finding("files", Low, fix, "%s %s is readable by every user (%s, want %s)", r.what, r.path, have, want))
	}
	wantOwner, _, _ := strings.Cut(r.chown, ":")
	if st != nil && owner != wantOwner {
		out = append(out, finding("files", r.ownerSev, fix, "%s %s is owned by %s, want %s (%s)", r.what, r.path, owner, wantOwner, have))
	}
	if len(out) == 0 {
		out = append(out, pass("files", "%s %s is %s", r.what, r.path, have))
	}
	return out
}
