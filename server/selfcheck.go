package server

import (
	"fmt"
	"io/fs"
	"os"

	"github.com/gitcourse/edge/config"
)

// DefaultEnvFile is the EnvironmentFile= of the shipped unit; $EDGE_ENV_FILE
// overrides where the self-check looks.
const DefaultEnvFile = "/var/www/gitcourse/.env"

// selfCheck returns start-up warnings about how edge runs: as root, with
// secrets or state readable by others, with a config file the service
// could rewrite. It only reads.
func selfCheck(cfg *config.Config) []string {
	var out []string
	if os.Geteuid() == 0 {
		out = append(out, "running as root (fix: run as the edge user with the shipped systemd units)")
	}
	envFile := os.Getenv("EDGE_ENV_FILE")
	if envFile == "" {
		envFile = DefaultEnvFile
	}
	if m, ok := mode(envFile); ok && m&0o007 != 0 {
		out = append(out, fmt.Sprintf("%s is readable by others (mode %04o; fix: chmod 0640, owner root:edge)", envFile, m))
	}
	if m, ok := mode(cfg.Server.StateDir); ok && m&0o077 != 0 {
		out = append(out, fmt.Sprintf("state dir %s has mode %04o (fix: chmod 0700)", cfg.Server.StateDir, m))
	}
	out = append(out, remoteSelfCheck(cfg)...)
	if cfg.Backup != nil {
		if m, ok := mode(cfg.Backup.Dir); ok && m&0o027 != 0 {
			out = append(out, fmt.Sprintf("backup dir %s has mode %04o (fix: chmod 0750)", cfg.Backup.Dir, m))
		}
	}
	if cfg.File != "" && os.Geteuid() != 0 {
		if f, err := os.OpenFile(cfg.File, os.O_WRONLY, 0); err == nil {
			f.Close()
			out = append(out, fmt.Sprintf("config %s is writable by the service user (fix: chown root:edge, chmod 0640)", cfg.File))
		}
	}
	return out
}

func mode(path string) (fs.FileMode, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	return fi.Mode().Perm(), true
}

// Warnings returns the start-up self-check findings.
func (s *Server) Warnings() []string { return append([]string(nil), s.warnings...) }
