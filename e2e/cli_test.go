package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// writeConfigFile writes a config that names a real site root.
func writeConfigFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCLI(t *testing.T) {
	t.Parallel()
	dir := shortTempDir(t)
	writeSite(t, dir)
	site := filepath.Join(dir, "site")
	validText := fmt.Sprintf(`[server]
http = "127.0.0.1:18080"
https = ""
state_dir = %q
admin_socket = %q

[site]
domains = ["edge.test"]
root = %q
`, filepath.Join(dir, "state"), filepath.Join(dir, "admin.sock"), site)
	valid := writeConfigFile(t, dir, "valid.toml", validText)
	// Three problems, on lines 3, 4 and 7.
	bad := writeConfigFile(t, dir, "bad.toml", fmt.Sprintf(`[server]
http = "127.0.0.1:18080"
shutdown_timeout = "ten seconds"
bogus_key = true

[site]
domains = ["203.0.113.7"]
root = %q
`, site))

	t.Run("no-args", func(t *testing.T) {
		stdout, stderr, code := runEdge(t, nil)
		if code != 2 {
			t.Errorf("edge: exit %d, want 2", code)
		}
		if !strings.Contains(stderr, "Usage") || !strings.Contains(stderr, "validate") {
			t.Errorf("edge: help not on stderr: %q", stderr)
		}
		if stdout != "" {
			t.Errorf("edge: stdout %q, want empty", stdout)
		}
	})

	t.Run("help", func(t *testing.T) {
		stdout, _, code := runEdge(t, nil, "-h")
		if code != 0 || !strings.Contains(stdout, "Usage") {
			t.Errorf("edge -h: exit %d, stdout %q; want 0 and help", code, stdout)
		}
		for _, sub := range []string{"run", "demo", "validate", "reload", "status", "version",
			"backup", "release", "rollback", "audit", "notify", "upstream"} {
			stdout, stderr, code := runEdge(t, nil, sub, "-h")
			if code != 0 || stdout == "" {
				t.Errorf("edge %s -h: exit %d, stdout %q, stderr %q; want 0 and help on stdout", sub, code, stdout, stderr)
			}
		}
		stdout, _, _ = runEdge(t, nil, "run", "-h")
		if !strings.Contains(stdout, "-config") {
			t.Errorf("edge run -h does not show -config: %q", stdout)
		}
	})

	t.Run("usage-errors", func(t *testing.T) {
		for _, args := range [][]string{
			{"bogus"}, {"run", "-bogus-flag"}, {"validate", "-config", valid, "extra"},
			{"upstream"}, {"upstream", "pause", "127.0.0.1:8000"}, {"upstream", "drain"},
		} {
			_, stderr, code := runEdge(t, nil, args...)
			if code != 2 || stderr == "" {
				t.Errorf("edge %s: exit %d, stderr %q; want 2 and a reason", strings.Join(args, " "), code, stderr)
			}
		}
	})

	// A subcommand whose capability is not built yet says so and exits 2;
	// once built, it fails with exit 1 and one line when there is no config.
	t.Run("pending-subcommands", func(t *testing.T) {
		noConfig := []string{"EDGE_CONFIG=" + filepath.Join(dir, "absent.toml")}
		for _, args := range [][]string{
			{"backup", "now"}, {"backup", "list"}, {"release", site}, {"rollback"}, {"audit"},
			{"notify", "-status", "ok", "-title", "e2e"},
		} {
			help, _, _ := runEdge(t, noConfig, args[0], "-h")
			_, stderr, code := runEdge(t, noConfig, args...)
			cmd := "edge " + strings.Join(args, " ")
			if strings.Contains(help, "not available in this build yet") {
				if code != 2 || !strings.Contains(stderr, "not available") {
					t.Errorf("%s (not built yet): exit %d, stderr %q; want 2 and \"not available\"", cmd, code, stderr)
				}
				continue
			}
			if code != 1 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "absent.toml") {
				t.Errorf("%s without a config file: exit %d, stderr %q; want 1 and one line naming the file", cmd, code, stderr)
			}
		}
	})

	t.Run("version", func(t *testing.T) {
		stdout, _, code := runEdge(t, nil, "version")
		if code != 0 || strings.TrimSpace(stdout) != "edge "+Version {
			t.Errorf("edge version: exit %d, stdout %q; want 0 and %q", code, stdout, "edge "+Version)
		}
	})

	t.Run("validate-valid", func(t *testing.T) {
		stdout, stderr, code := runEdge(t, nil, "validate", "-config", valid)
		if code != 0 {
			t.Errorf("edge validate valid.toml: exit %d, stderr %q; want 0", code, stderr)
		}
		if !strings.Contains(stdout, valid) {
			t.Errorf("edge validate valid.toml: stdout %q does not name the file", stdout)
		}
	})

	t.Run("validate-invalid", func(t *testing.T) {
		stdout, stderr, code := runEdge(t, nil, "validate", "-config", bad)
		if code != 1 {
			t.Errorf("edge validate bad.toml: exit %d, want 1", code)
		}
		re := regexp.MustCompile(`^` + regexp.QuoteMeta(bad) + `:(\d+): ([a-z_.\[\]0-9]+): (.+)$`)
		got := map[string]int{}
		for _, line := range strings.Split(stdout+stderr, "\n") {
			if m := re.FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[1])
				got[m[2]] = n
			}
		}
		want := map[string]int{"server.shutdown_timeout": 3, "server.bogus_key": 4, "site.domains[0]": 7}
		for key, line := range want {
			if got[key] != line {
				t.Errorf("no line %q for %s (got %v)", fmt.Sprintf("%s:%d: %s: ...", bad, line, key), key, got)
			}
		}
		if len(got) != len(want) {
			t.Errorf("problems reported: %v, want exactly %v\nstderr:\n%s", got, want, stderr)
		}
	})

	// The values of issue #21 that "edge validate" used to accept and
	// "edge run" refused at start without a line: both now refuse them,
	// each with FILE:LINE: key.
	t.Run("validate-matches-run", func(t *testing.T) {
		runBad := writeConfigFile(t, dir, "runbad.toml", validText+fmt.Sprintf(`
[[route]]
path = "/api/"
upstreams = ["127.0.0.1:99999"]

[backup]
database_url = "${DB}"
dir = %q
schedule = "99 99 * * *"
encrypt_to = ["age1notakey"]
`, dir))
		env := []string{"DB=postgres://edge@127.0.0.1:1/edge"}
		want := map[string]int{"route[0].upstreams[0]": 13, "backup.schedule": 18, "backup.encrypt_to[0]": 19}
		re := regexp.MustCompile(`^` + regexp.QuoteMeta(runBad) + `:(\d+): ([a-z_.\[\]0-9]+): (.+)$`)
		stdout, stderr, code := runEdge(t, env, "validate", "-config", runBad)
		if code != 1 {
			t.Errorf("edge validate runbad.toml: exit %d, want 1\n%s%s", code, stdout, stderr)
		}
		got := map[string]int{}
		for _, line := range strings.Split(stdout+stderr, "\n") {
			if m := re.FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[1])
				got[m[2]] = n
			}
		}
		for key, line := range want {
			if got[key] != line {
				t.Errorf("edge validate: no %s:%d: %s: ... (got %v)\n%s", runBad, line, key, got, stderr)
			}
		}
		// edge run refuses at start with the first problem and points to
		// edge validate for the others.
		_, stderr, code = runEdge(t, env, "run", "-config", runBad)
		if first := runBad + ":13: route[0].upstreams[0]: "; code != 1 || !strings.Contains(stderr, first) || !strings.Contains(stderr, "edge validate") {
			t.Errorf("edge run runbad.toml: exit %d, stderr %q; want 1 with %q and a pointer to edge validate", code, stderr, first)
		}
	})

	t.Run("validate-missing-file", func(t *testing.T) {
		_, stderr, code := runEdge(t, nil, "validate", "-config", filepath.Join(dir, "nope.toml"))
		if code != 1 || !strings.Contains(stderr, "nope.toml") {
			t.Errorf("edge validate nope.toml: exit %d, stderr %q; want 1 naming the file", code, stderr)
		}
	})

	t.Run("EDGE_CONFIG", func(t *testing.T) {
		stdout, stderr, code := runEdge(t, []string{"EDGE_CONFIG=" + valid}, "validate")
		if code != 0 || !strings.Contains(stdout, valid) {
			t.Errorf("EDGE_CONFIG=valid.toml edge validate: exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		_, stderr, code = runEdge(t, []string{"EDGE_CONFIG=" + bad}, "validate")
		if code != 1 || !strings.Contains(stderr, bad) {
			t.Errorf("EDGE_CONFIG=bad.toml edge validate: exit %d, stderr %q; want 1", code, stderr)
		}
		// -config wins over $EDGE_CONFIG.
		_, _, code = runEdge(t, []string{"EDGE_CONFIG=" + bad}, "validate", "-config", valid)
		if code != 0 {
			t.Errorf("EDGE_CONFIG=bad.toml edge validate -config valid.toml: exit %d, want 0", code)
		}
	})

	t.Run("run-invalid-config", func(t *testing.T) {
		_, stderr, code := runEdge(t, nil, "run", "-config", bad)
		if code != 1 {
			t.Errorf("edge run -config bad.toml: exit %d, want 1", code)
		}
		if lines := strings.Count(strings.TrimSpace(stderr), "\n") + 1; lines != 1 || !strings.Contains(stderr, bad) {
			t.Errorf("edge run -config bad.toml: stderr %q, want one line naming the file", stderr)
		}
	})
}
