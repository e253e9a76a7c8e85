package admin

import "github.com/gitcourse/edge/status"

// Cluster is status.json's "cluster" object: this node's name and the
// membership table (name, version, release, last_seen, up), present only
// with [cluster].
type Cluster = status.Cluster

// cluster adds a problem per node shown down and when PostgreSQL could not
// be read.
func (a *assessor) cluster(c *Cluster) {
	if c == nil {
		return
	}
	if c.Error != "" {
		a.add(Amber, "cluster", "the cluster database is unreachable; serving from local copies, jobs paused: %s", c.Error)
	}
	for _, n := range c.Nodes {
		if !n.Up && n.Name != c.Node {
			a.add(Amber, "cluster", "node %s has sent no heartbeat since %s", n.Name, n.LastSeen.Format("2006-01-02 15:04:05Z07:00"))
		}
	}
}
