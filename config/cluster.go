package config

import (
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// nodeRE is what a cluster node name may be: it shows in status pages,
// metrics labels and log lines.
var nodeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// applyDefaults names the node after the host when the file does not.
func (c *Cluster) applyDefaults() {
	if c == nil || c.Node != "" {
		return
	}
	if h, err := os.Hostname(); err == nil {
		c.Node = h
	}
}

// cluster checks [cluster]: a postgres:// URL from the environment and a
// node name usable as a label.
func (v *validator) cluster() {
	c := v.c.Cluster
	if c == nil {
		return
	}
	if c.DatabaseURL == "" {
		v.failf("cluster.database_url", ErrRequired, "the database holding schema \"edge\", such as \"${EDGE_CLUSTER_DATABASE_URL}\"")
	} else {
		v.databaseURL("cluster.database_url", c.DatabaseURL.Reveal())
		v.clusterPool(c.DatabaseURL.Reveal())
	}
	if !nodeRE.MatchString(c.Node) {
		v.failf("cluster.node", ErrInvalidValue,
			"%q (fix: a unique name of letters, digits, \".\", \"-\" or \"_\", at most 63, such as \"${HOSTNAME}\")", c.Node)
	}
}

// clusterPool parses the URL as the cluster opens its pool at start
// (pgxpool.ParseConfig: port, sslmode, connect_timeout, pool_* settings),
// so that a URL "edge run" refuses fails "edge validate" too.
func (v *validator) clusterPool(raw string) {
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return // databaseURL said so
	}
	_, err := pgxpool.ParseConfig(raw)
	if err == nil {
		return
	}
	// The parse error repeats the URL ("cannot parse `URL`: why"); the
	// URL came from the environment, so only why is said.
	why := err.Error()
	if _, after, ok := strings.Cut(why, "`: "); ok {
		why = after
	}
	v.failf("cluster.database_url", ErrInvalidValue,
		"%s (fix: a URL such as \"postgres://edge@db.internal:5432/gitcourse?sslmode=verify-full\")", why)
}
