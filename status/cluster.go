package status

import "time"

// Cluster is this node's view of its cluster ([cluster] configured).
type Cluster struct {
	// Node is this node's name.
	Node string `json:"node"`
	// Nodes is the membership table, by name.
	Nodes []ClusterNode `json:"nodes"`
	// Leaders maps each singleton job to whether this node ran its
	// latest slot.
	Leaders map[string]bool `json:"leaders"`
	// Error is why the table could not be read (PostgreSQL down); Nodes
	// then holds the last table read.
	Error string `json:"error,omitempty"`
	// CheckedAt is when the table was read.
	CheckedAt time.Time `json:"checked_at"`
	// BackupLastSuccess is when a scheduled backup last succeeded on any
	// node; zero when none did.
	BackupLastSuccess time.Time `json:"backup_last_success,omitempty"`
}

// ClusterNode is one member as its heartbeats show it.
type ClusterNode struct {
	Name      string    `json:"name"`
	Version   string    `json:"version"`
	Release   string    `json:"release"`
	Listeners string    `json:"listeners,omitempty"`
	LastSeen  time.Time `json:"last_seen"`
	Up        bool      `json:"up"`
}

// SetCluster records the cluster view.
func (r *Registry) SetCluster(c Cluster) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.Nodes = append([]ClusterNode(nil), c.Nodes...)
	r.cluster = &c
}

func (r *Registry) clusterCopy() *Cluster {
	if r.cluster == nil {
		return nil
	}
	c := *r.cluster
	c.Nodes = append([]ClusterNode(nil), c.Nodes...)
	c.Leaders = make(map[string]bool, len(r.cluster.Leaders))
	for k, v := range r.cluster.Leaders {
		c.Leaders[k] = v
	}
	return &c
}
