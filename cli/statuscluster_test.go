package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/admin"
	"github.com/gitcourse/edge/status"
)

func TestPrintClusterStatus(t *testing.T) {
	seen := time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)
	st := admin.Status{Cluster: &status.Cluster{Node: "a", CheckedAt: seen, Leaders: map[string]bool{"backup": true},
		Nodes: []status.ClusterNode{{Name: "a", Version: "v1", Release: "20261206T150000Z", LastSeen: seen, Up: true},
			{Name: "b", Version: "v1", LastSeen: seen.Add(-time.Minute)}}}}
	body, _ := json.Marshal(st)
	var out bytes.Buffer
	if err := printClusterStatus(&out, body, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a (this)  up", "20261206T150000Z", "b         down", "ran the latest backup slot"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := printClusterStatus(&out, body, true); err != nil {
		t.Fatal(err)
	}
	var c status.Cluster
	if err := json.Unmarshal(out.Bytes(), &c); err != nil || len(c.Nodes) != 2 || c.Nodes[1].Up || c.Node != "a" {
		t.Errorf("-json -cluster = %s (%v)", out.String(), err)
	}
	alone, _ := json.Marshal(admin.Status{})
	if err := printClusterStatus(&out, alone, false); err == nil || !strings.Contains(err.Error(), "[cluster]") {
		t.Errorf("without [cluster]: %v, want an error naming [cluster]", err)
	}
}
