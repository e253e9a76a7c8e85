package metrics

import (
	"sort"

	"github.com/gitcourse/edge/status"
	"github.com/prometheus/client_golang/prometheus"
)

// Cluster gauges, present only with [cluster].
var (
	clusterNodesDesc = prometheus.NewDesc("edge_cluster_nodes",
		"Nodes in the cluster's membership table, by state (up: heartbeat seen within three intervals).",
		[]string{"state"}, nil)
	clusterLeaderDesc = prometheus.NewDesc("edge_cluster_leader",
		"1 when this node ran the latest slot of the singleton job, 0 when another node did.",
		[]string{"job"}, nil)
)

// collectCluster sends the cluster gauges of s, if it has a cluster.
func collectCluster(c *status.Cluster, gauge func(*prometheus.Desc, float64, ...string)) {
	if c == nil {
		return
	}
	up, down := 0, 0
	for _, n := range c.Nodes {
		if n.Up {
			up++
		} else {
			down++
		}
	}
	gauge(clusterNodesDesc, float64(up), "up")
	gauge(clusterNodesDesc, float64(down), "down")
	jobs := make([]string, 0, len(c.Leaders))
	for j := range c.Leaders {
		jobs = append(jobs, j)
	}
	sort.Strings(jobs)
	for _, j := range jobs {
		gauge(clusterLeaderDesc, boolValue(c.Leaders[j]), j)
	}
}
