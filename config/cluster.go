package config

import (
	"os"
	"regexp"
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
	}
	if !nodeRE.MatchString(c.Node) {
		v.failf("cluster.node", ErrInvalidValue,
			"%q (fix: a unique name of letters, digits, \".\", \"-\" or \"_\", at most 63, such as \"${HOSTNAME}\")", c.Node)
	}
}
