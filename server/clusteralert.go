package server

import (
	"context"
	"fmt"
	"time"

	"github.com/gitcourse/edge/health/alert"
	"github.com/gitcourse/edge/status"
)

// nodeWatch remembers which members this node has seen up, so that a
// member going silent alerts once for the cluster (an incident named
// "node NAME") and its return once; members already down when this node
// starts (removed long ago) do not alert.
type nodeWatch struct {
	up map[string]bool
}

// watchNodes compares the fresh table with the last one and raises the
// transitions through the cluster's incidents.
func (s *Server) watchNodes(ctx context.Context, w *nodeWatch, nodes []status.ClusterNode) {
	if w.up == nil {
		w.up = map[string]bool{}
		for _, n := range nodes {
			w.up[n.Name] = n.Up
		}
		return
	}
	for _, n := range nodes {
		was, known := w.up[n.Name]
		w.up[n.Name] = n.Up
		if n.Name == s.cluster.Node() || (known && was == n.Up) || (!known && n.Up) {
			continue
		}
		s.nodeTransition(ctx, n)
	}
}

func (s *Server) nodeTransition(ctx context.Context, n status.ClusterNode) {
	check := "node " + n.Name
	open := s.cluster.OpenIncident
	if n.Up {
		open = s.cluster.ResolveIncident
	}
	mine, err := open(ctx, check)
	if err != nil {
		s.log.Warn("cluster node incident not recorded", "node", n.Name, "error", err)
		return
	}
	s.log.Warn("cluster node state changed", "node", n.Name, "up", n.Up, "last_seen", n.LastSeen, "notifies", mine)
	mon := s.Health()
	if !mine || mon == nil {
		return
	}
	msg := alert.Message{Event: alert.EventDown, Check: check, Host: s.cluster.Node(), Since: n.LastSeen, At: time.Now().UTC(),
		Title: fmt.Sprintf("DOWN: cluster node %s (seen from %s)", n.Name, s.cluster.Node()),
		Text: fmt.Sprintf("Cluster node %s has sent no heartbeat since %s.\nSeen from %s.",
			n.Name, n.LastSeen.Format(time.RFC3339), s.cluster.Node())}
	if n.Up {
		msg.Event, msg.OK = alert.EventResolved, true
		msg.Title = fmt.Sprintf("RESOLVED: cluster node %s is back", n.Name)
		msg.Text = fmt.Sprintf("Cluster node %s heartbeats again (seen from %s).", n.Name, s.cluster.Node())
	}
	mon.Alerts().Enqueue(msg)
}
