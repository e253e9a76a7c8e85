package metrics

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gitcourse/edge/status"
)

func TestClusterGauges(t *testing.T) {
	snap := status.Snapshot{Cluster: &status.Cluster{Node: "a",
		Nodes:   []status.ClusterNode{{Name: "a", Up: true}, {Name: "b", Up: true}, {Name: "c"}},
		Leaders: map[string]bool{"backup": true, "backup-remote": false}}}
	fams := scrape(t, New(Options{Version: "v", State: func() status.Snapshot { return snap }}))
	if got, want := fmt.Sprint(series(fams["edge_cluster_nodes"])), "map[state=down:1 state=up:2]"; got != want {
		t.Errorf("edge_cluster_nodes = %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(series(fams["edge_cluster_leader"])), "map[job=backup:1 job=backup-remote:0]"; got != want {
		t.Errorf("edge_cluster_leader = %s, want %s", got, want)
	}
	for name := range scrape(t, New(Options{Version: "v", State: func() status.Snapshot { return status.Snapshot{} }})) {
		if strings.HasPrefix(name, "edge_cluster_") {
			t.Errorf("%s present without [cluster]", name)
		}
	}
}
