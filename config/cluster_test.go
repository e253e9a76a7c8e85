package config_test

import (
	"os"
	"strings"
	"testing"

	"github.com/gitcourse/edge/config"
)

func TestClusterSection(t *testing.T) {
	root := t.TempDir()
	base := "[site]\ndomains = [\"edge.test\"]\nroot = \"" + root + "\"\n"
	env := map[string]string{"EDGE_CLUSTER_DATABASE_URL": "postgres://edge:pw@127.0.0.1:5432/app"}

	cfg := mustParse(t, base+"[cluster]\ndatabase_url = \"${EDGE_CLUSTER_DATABASE_URL}\"\nnode = \"web-1\"\n", env)
	if cfg.Cluster == nil || cfg.Cluster.Node != "web-1" || cfg.Cluster.DatabaseURL.Reveal() != env["EDGE_CLUSTER_DATABASE_URL"] {
		t.Fatalf("cluster = %+v", cfg.Cluster)
	}
	if cfg := mustParse(t, base, env); cfg.Cluster != nil {
		t.Errorf("no [cluster] table gave %+v, want nil", cfg.Cluster)
	}
	host, _ := os.Hostname()
	if cfg := mustParse(t, base+"[cluster]\ndatabase_url = \"${EDGE_CLUSTER_DATABASE_URL}\"\n", env); cfg.Cluster.Node != host {
		t.Errorf("default node = %q, want the host name %q", cfg.Cluster.Node, host)
	}

	for _, tc := range []struct {
		name, body, key, msg string
		err                  error
		lineOf               string // the line reported; default: the key's own line
	}{
		{"missing url", "node = \"a\"\n", "cluster.database_url", "EDGE_CLUSTER_DATABASE_URL", config.ErrRequired, "[cluster]"},
		{"not postgres", "database_url = \"mysql://x/y\"\nnode = \"a\"\n", "cluster.database_url", "postgres://", config.ErrInvalidValue, ""},
		{"password in file", "database_url = \"postgres://u:hunter2@h/db\"\nnode = \"a\"\n", "cluster.database_url", "${VAR}", config.ErrSecretInFile, ""},
		{"bad sslmode", "database_url = \"postgres://edge@h/db?sslmode=sometimes\"\nnode = \"a\"\n", "cluster.database_url", "sslmode is invalid", config.ErrInvalidValue, ""},
		{"bad port", "database_url = \"postgres://edge@h:99999/db\"\nnode = \"a\"\n", "cluster.database_url", "invalid port", config.ErrInvalidValue, ""},
		{"bad pool setting", "database_url = \"postgres://edge@h/db?pool_max_conns=many\"\nnode = \"a\"\n", "cluster.database_url", "pool_max_conns", config.ErrInvalidValue, ""},
		{"bad node", "database_url = \"${EDGE_CLUSTER_DATABASE_URL}\"\nnode = \"web 1\"\n", "cluster.node", "letters, digits", config.ErrInvalidValue, ""},
		{"long node", "database_url = \"${EDGE_CLUSTER_DATABASE_URL}\"\nnode = \"" + strings.Repeat("a", 64) + "\"\n", "cluster.node", "at most 63", config.ErrInvalidValue, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := base + "[cluster]\n" + tc.body
			cfg, err := parse(t, src, "edge.toml", env)
			if err == nil {
				err = cfg.Validate()
			}
			got := fieldErrors(t, err, "edge.toml")
			at := tc.lineOf
			if at == "" {
				at = strings.SplitN(tc.key, ".", 2)[1]
			}
			want := []problem{{lineOf(t, src, at), tc.key, tc.err}}
			checkProblems(t, got, want)
			if !strings.Contains(got[0].Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", got[0].Error(), tc.msg)
			}
		})
	}
}

// The SPEC example's [cluster] decodes with its environment.
func TestSpecExampleCluster(t *testing.T) {
	src, _ := specSource(t)
	cfg := mustParse(t, src, specEnv())
	if c := cfg.Cluster; c == nil || c.Node != "web-1" || c.DatabaseURL.Reveal() != specEnv()["EDGE_CLUSTER_DATABASE_URL"] {
		t.Errorf("cluster = %+v", c)
	}
}
