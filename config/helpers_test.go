package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitcourse/edge/config"
)

// testHash is a bcrypt-shaped hash (cost 12), as htpasswd -nbBC 12 prints.
const testHash = "$2a$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"

// Secrets the SPEC example reads from the environment. Each is distinctive
// so that a leak is found by a substring search.
const (
	dbPassword      = "s3cr3t-db-pw"
	smtpPassword    = "smtp-s3cr3t"
	telegramToken   = "123456:TELEGRAM-s3cr3t"
	webhookSecret   = "hook-s3cr3t-path"
	databaseURL     = "postgres://gitcourse:" + dbPassword + "@127.0.0.1:5432/gitcourse"
	webhookURL      = "https://hooks.example.com/" + webhookSecret
	smtpUser        = "edge-mailer"
	adminToken      = "admin-t0ken-s3cr3t-0123456789"
	heartbeatSecret = "beat-s3cr3t-uuid"
	backupBeatPath  = "backup-beat-s3cr3t"
	heartbeatURL    = "https://hc-ping.example.com/" + heartbeatSecret
	backupBeatURL   = "https://hc-ping.example.com/" + backupBeatPath
	unsetVarForTest = "EDGE_TEST_SURELY_UNSET_VARIABLE"
)

// specEnv is the environment the SPEC example needs.
func specEnv() map[string]string {
	return map[string]string{
		"EDGE_ADMIN_BCRYPT":         testHash,
		"DATABASE_URL":              databaseURL,
		"SMTP_USER":                 smtpUser,
		"SMTP_PASSWORD":             smtpPassword,
		"TELEGRAM_TOKEN":            telegramToken,
		"ALERT_WEBHOOK_URL":         webhookURL,
		"EDGE_ADMIN_TOKEN":          adminToken,
		"HEARTBEAT_URL":             heartbeatURL,
		"BACKUP_HEARTBEAT_URL":      backupBeatURL,
		"S3_ACCESS_KEY":             "AKIAEXAMPLE",
		"S3_SECRET_KEY":             "secret-example",
		"EDGE_CLUSTER_DATABASE_URL": databaseURL,
		"HOSTNAME":                  "web-1",
	}
}

// lookupIn returns a config.LookupFunc reading env.
func lookupIn(env map[string]string) config.LookupFunc {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

// specPaths are the directories the SPEC example names, created under a
// temporary directory so that Validate finds them.
type specPaths struct {
	root      string // site.root
	backupDir string // backup.dir (its parent exists)
	disk      string // check "disk"
}

// specSource returns testdata/spec.toml with its paths moved into a
// temporary directory that exists.
func specSource(t *testing.T) (string, specPaths) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "spec.toml"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	p := specPaths{
		root:      filepath.Join(tmp, "www", "current"),
		backupDir: filepath.Join(tmp, "backups", "gitcourse"),
		disk:      filepath.Join(tmp, "backups"),
	}
	for _, d := range []string{p.root, p.disk} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src := string(b)
	for _, r := range []struct{ old, new string }{
		{`"/var/www/gitcourse/frontend/current"`, `"` + p.root + `"`},
		{`"/var/backups/gitcourse"`, `"` + p.backupDir + `"`},
		{`"/var/backups"`, `"` + p.disk + `"`},
	} {
		if strings.Count(src, r.old) != 1 {
			t.Fatalf("testdata/spec.toml: want %s exactly once", r.old)
		}
		src = strings.Replace(src, r.old, r.new, 1)
	}
	return src, p
}

// parse runs config.Parse on src with env.
func parse(t *testing.T, src, filename string, env map[string]string) (*config.Config, error) {
	t.Helper()
	return config.Parse(strings.NewReader(src), filename, lookupIn(env))
}

// mustParse parses and validates src and fails the test on any error.
func mustParse(t *testing.T, src string, env map[string]string) *config.Config {
	t.Helper()
	cfg, err := parse(t, src, "edge.toml", env)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate:\n%v", err)
	}
	return cfg
}

// fieldErrors returns the problems in err, which must be an *config.Errors
// whose every line starts with file.
func fieldErrors(t *testing.T, err error, file string) []*config.FieldError {
	t.Helper()
	if err == nil {
		return nil
	}
	var errs *config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %T %q is not a *config.Errors", err, err)
	}
	if len(errs.List) == 0 {
		t.Fatalf("non-nil *config.Errors with no problems: %q", err)
	}
	for _, fe := range errs.List {
		if !strings.HasPrefix(fe.Error(), file+":") {
			t.Errorf("problem %q does not start with %q", fe.Error(), file+":")
		}
	}
	return errs.List
}

// lineOf returns the 1-based line of the first line of src containing sub.
func lineOf(t *testing.T, src, sub string) int {
	t.Helper()
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, sub) {
			return i + 1
		}
	}
	t.Fatalf("no line contains %q", sub)
	return 0
}

// problem is an expected FieldError.
type problem struct {
	line int
	key  string
	err  error // sentinel for errors.Is; nil: not checked
}

func (p problem) String() string { return fmt.Sprintf("%d: %s: %v", p.line, p.key, p.err) }

// checkProblems compares got with want, in order.
func checkProblems(t *testing.T, got []*config.FieldError, want []problem) {
	t.Helper()
	if len(got) != len(want) {
		var b strings.Builder
		for _, fe := range got {
			b.WriteString("\n\t" + fe.Error())
		}
		t.Fatalf("got %d problems, want %d %v:%s", len(got), len(want), want, b.String())
	}
	for i, w := range want {
		g := got[i]
		if g.Key != w.key {
			t.Errorf("problem %d key: got %q, want %q (%s)", i, g.Key, w.key, g)
		}
		if g.Line != w.line {
			t.Errorf("problem %d (%s) line: got %d, want %d", i, g.Key, g.Line, w.line)
		}
		if w.err != nil && !errors.Is(g, w.err) {
			t.Errorf("problem %d (%s): got %q, want errors.Is %q", i, g.Key, g.Err, w.err)
		}
	}
}
