package cluster

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func openTestCluster(t *testing.T, url, node string) *Cluster {
	t.Helper()
	c, err := Open(t.Context(), url, Options{Node: node, Version: "v1", Listeners: func() string { return "127.0.0.1:1" }, LocalDir: t.TempDir(),
		Release: func() string { return "r-" + node }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// Three nodes claim each slot at once: one runs it; an older slot is
// never claimed again; leadership follows the latest claim.
func TestClaimSlotOnce(t *testing.T) {
	url := needPostgres(t).createDB(t)
	nodes := []*Cluster{openTestCluster(t, url, "a"), openTestCluster(t, url, "b"), openTestCluster(t, url, "c")}
	base := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	for i := range 20 {
		slot := base.Add(time.Duration(i) * time.Minute)
		var wg sync.WaitGroup
		won := make([]bool, len(nodes))
		for j, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := n.ClaimSlot(t.Context(), "backup", slot)
				if err != nil {
					t.Error(err)
				}
				won[j] = ok
			}()
		}
		wg.Wait()
		count := 0
		for j, ok := range won {
			if ok {
				count++
			}
			if nodes[j].Leaders()["backup"] != ok {
				t.Errorf("slot %d: node %d Leaders()=%v, claimed %v", i, j, nodes[j].Leaders()["backup"], ok)
			}
		}
		if count != 1 {
			t.Fatalf("slot %s claimed by %d nodes, want 1", slot, count)
		}
	}
	if ok, err := nodes[0].ClaimSlot(t.Context(), "backup", base); ok || err != nil {
		t.Errorf("an old slot was claimed again: %v, %v", ok, err)
	}
	if ok, err := nodes[1].ClaimSlot(t.Context(), "backup-remote", base); !ok || err != nil {
		t.Errorf("another job's slot is independent: %v, %v", ok, err)
	}
}

// Heartbeats fill the membership table; a node silent for DownAfter is
// shown down.
func TestMembers(t *testing.T) {
	url := needPostgres(t).createDB(t)
	a, b := openTestCluster(t, url, "a"), openTestCluster(t, url, "b")
	for _, c := range []*Cluster{a, b} {
		if err := c.beat(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.pool.Exec(t.Context(), `UPDATE edge.nodes SET last_seen = now() - make_interval(secs => $1) WHERE name = 'b'`,
		DownAfter.Seconds()+1); err != nil {
		t.Fatal(err)
	}
	ms, err := a.Members(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(len(ms))
	if len(ms) == 2 {
		got = fmt.Sprintf("%s %s %v %s; %s %v", ms[0].Name, ms[0].Release, ms[0].Up, ms[0].Version, ms[1].Name, ms[1].Up)
	}
	if want := "a r-a true v1; b false"; got != want {
		t.Errorf("members = %s, want %s", got, want)
	}
}

// Three nodes see a check go down together: one notifies. It is resolved
// once, by the last live node that saw it down; a new outage opens again.
func TestIncidentsOnce(t *testing.T) {
	url := needPostgres(t).createDB(t)
	nodes := []*Cluster{openTestCluster(t, url, "a"), openTestCluster(t, url, "b"), openTestCluster(t, url, "c")}
	for _, n := range nodes {
		if err := n.beat(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 3 {
		var wg sync.WaitGroup
		opened := make([]bool, len(nodes))
		for i, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := n.OpenIncident(t.Context(), "api")
				if err != nil {
					t.Error(err)
				}
				opened[i] = ok
			}()
		}
		wg.Wait()
		if trues(opened) != 1 {
			t.Fatalf("round %d: %d nodes opened the incident, want 1", round, trues(opened))
		}
		resolved := make([]bool, len(nodes))
		for i, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := n.ResolveIncident(t.Context(), "api")
				if err != nil {
					t.Error(err)
				}
				resolved[i] = ok
			}()
		}
		wg.Wait()
		if trues(resolved) != 1 {
			t.Fatalf("round %d: %d nodes resolved the incident, want 1", round, trues(resolved))
		}
	}
	// One node of three alone sees it down: no alert. A second one makes
	// a majority and opens it; the third does not open it again.
	if ok, _ := nodes[0].OpenIncident(t.Context(), "db"); ok {
		t.Fatal("one node of three opened an incident alone")
	}
	if ok, _ := nodes[1].OpenIncident(t.Context(), "db"); !ok {
		t.Fatal("the majority's vote did not open the incident")
	}
	if ok, _ := nodes[2].OpenIncident(t.Context(), "db"); ok {
		t.Fatal("the third down opened it again")
	}
	if ok, _ := nodes[2].ResolveIncident(t.Context(), "db"); ok {
		t.Error("resolved while nodes a and b still see the check down")
	}
	if ok, _ := nodes[0].ResolveIncident(t.Context(), "db"); ok {
		t.Error("resolved while node b still sees the check down")
	}
	if ok, _ := nodes[1].ResolveIncident(t.Context(), "db"); !ok {
		t.Error("the last node to recover did not resolve")
	}
	if ok, _ := nodes[2].ResolveIncident(t.Context(), "never-down"); ok {
		t.Error("resolved an incident that was never opened")
	}
}

func trues(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// A success recorded by the node that ran a slot is seen by every node.
func TestJobLastSuccessShared(t *testing.T) {
	url := needPostgres(t).createDB(t)
	a, b := openTestCluster(t, url, "a"), openTestCluster(t, url, "b")
	if at, err := b.LastSuccess(t.Context(), "backup"); err != nil || !at.IsZero() {
		t.Fatalf("LastSuccess before any = %v, %v; want zero", at, err)
	}
	if ok, err := a.ClaimSlot(t.Context(), "backup", time.Now()); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	before := time.Now().Add(-time.Minute)
	if err := a.JobSucceeded(t.Context(), "backup"); err != nil {
		t.Fatal(err)
	}
	if at, err := b.LastSuccess(t.Context(), "backup"); err != nil || at.Before(before) {
		t.Errorf("b sees LastSuccess %v, %v; want a's success", at, err)
	}
	if ok, _ := b.ClaimSlot(t.Context(), "backup", time.Now().Add(time.Minute)); !ok {
		t.Error("recording a success must not block the next slot")
	}
}
