package e2e

// Cluster jobs end to end: backup slots and alert incidents decided in
// the shared PostgreSQL by three real edge processes.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/health/alert/alerttest"
)

// startClusterNode starts a plain-HTTP edge node of the cluster at dbURL
// with extra tables.
func startClusterNode(t *testing.T, dbURL, name, extra string, env ...string) *Edge {
	t.Helper()
	return startEdgeWithTables(t, Options{NoHTTPS: true, Domains: []string{domain},
		Env: append([]string{"EDGE_CLUSTER_DATABASE_URL=" + dbURL}, env...)},
		fmt.Sprintf("[cluster]\ndatabase_url = \"${EDGE_CLUSTER_DATABASE_URL}\"\nnode = %q\n%s", name, extra))
}

// waitMembers waits until e's status shows every name up.
func waitMembers(t *testing.T, e *Edge, names ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		members, raw := clusterStatus(t, e)
		all := true
		for _, n := range names {
			all = all && members[n]
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("members not all up within 20s: %s", raw)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// waitLogCount waits until the nodes' outputs hold n lines with substr in
// all.
func waitLogCount(t *testing.T, nodes []*Edge, substr string, n int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	got := 0
	for time.Now().Before(deadline) {
		got = 0
		for _, e := range nodes {
			got += strings.Count(e.Output(), substr)
		}
		if got >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%d log lines with %q within %s, want %d", got, substr, d, n)
}

// Every node runs the check; when it goes down one mail goes out for the
// cluster, and one "resolved" when it is back.
func TestClusterAlertOncePerIncident(t *testing.T) {
	t.Parallel()
	edgeBinary(t)
	pg := startPGCluster(t)
	dbURL := pg.createDatabase(t, "edgealerts")
	sink := alerttest.StartSink(t, "", nil)
	target, failing := switchableTarget(t)
	extra := fmt.Sprintf(`
[[check]]
name = "api"
http = %q
interval = "1s"
timeout = "500ms"
failures = 2
successes = 2

[alerts]
repeat = "1h"
email = { smtp = %q, from = "edge@example.com", to = ["ops@example.com"] }
`, target.URL+"/api/health", sink.Addr)
	names := []string{"n0", "n1", "n2"}
	var nodes []*Edge
	for _, n := range names {
		nodes = append(nodes, startClusterNode(t, dbURL, n, extra))
	}
	waitMembers(t, nodes[0], names...)

	failing.Store(true)
	waitLogCount(t, nodes, `"msg":"check down"`, 3, 20*time.Second)
	waitLogCount(t, nodes, "alert left to another instance of the cluster", 2, 10*time.Second)
	if _, err := sink.WaitMessages(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	failing.Store(false)
	waitLogCount(t, nodes, `"msg":"check up"`, 3, 20*time.Second)
	waitLogCount(t, nodes, "alert left to another instance of the cluster", 4, 10*time.Second)
	mails, err := sink.WaitMessages(2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(mails) != 2 || !strings.Contains(mails[0].Subject(), "DOWN: api") || !strings.Contains(mails[1].Subject(), "RESOLVED: api") {
		t.Errorf("mails: %q; want one DOWN and one RESOLVED for three nodes", subjects(mails))
	}

	// A node dies: after three missed heartbeats it is shown down and
	// alerted once, by one of the two survivors.
	nodes[2].kill()
	nodes[2].stopped = true
	killed := time.Now()
	waitLogCount(t, nodes[:2], `"msg":"cluster node state changed"`, 2, 40*time.Second)
	mails, err = sink.WaitMessages(3, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("node killed: alerted %s later", time.Since(killed).Round(time.Second))
	if len(mails) != 3 || !strings.Contains(mails[2].Subject(), "DOWN: cluster node n2") {
		t.Errorf("mails: %q; want a third, one DOWN for node n2", subjects(mails))
	}
	if members, raw := clusterStatus(t, nodes[0]); members["n2"] || !members["n1"] {
		t.Errorf("status -cluster after the kill: %s; want n2 down, n1 up", raw)
	}
}

func subjects(ms []alerttest.Mail) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Subject())
	}
	return out
}

var slotRE = regexp.MustCompile(`"msg":"slot claimed; this node runs it".*?"slot":"([^"]+)"`)

// Three nodes with a backup every minute: each slot is dumped by exactly
// one node, and every slot that came due is dumped.
func TestClusterBackupOncePerSlot(t *testing.T) {
	t.Parallel()
	edgeBinary(t)
	pg := startPGCluster(t)
	appURL := pg.createDatabase(t, "gitcourse")
	pg.psql(t, "gitcourse", "gitcourse", "pw-gitcourse", "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)")
	dbURL := pg.createDatabase(t, "edgebackup")
	names := []string{"n0", "n1", "n2"}
	var nodes []*Edge
	var dirs []string
	for _, n := range names {
		dir := filepath.Join(shortTempDir(t), "backups")
		dirs = append(dirs, dir)
		extra := fmt.Sprintf("\n[backup]\ndatabase_url = \"${DATABASE_URL}\"\ndir = %q\nschedule = \"* * * * *\"\nverify = \"none\"\n", dir)
		nodes = append(nodes, startClusterNode(t, dbURL, n, extra, "DATABASE_URL="+appURL))
	}
	// The start-up catch-up slot, then two scheduled minutes.
	waitLogCount(t, nodes, `"msg":"slot claimed; this node runs it"`, 3, 150*time.Second)
	waitLogCount(t, nodes, `"msg":"backup done"`, 3, 60*time.Second)
	claims := map[string]int{}
	for _, e := range nodes {
		for _, m := range slotRE.FindAllStringSubmatch(e.Output(), -1) {
			claims[m[1]]++
		}
	}
	for slot, n := range claims {
		if n != 1 {
			t.Errorf("slot %s run by %d nodes, want 1", slot, n)
		}
	}
	// Retention keeps the newest backup of a day per directory, so the
	// dumps are counted in the logs, not on disk.
	done := 0
	for _, e := range nodes {
		done += strings.Count(e.Output(), `"msg":"backup done"`)
	}
	if done != len(claims) {
		t.Errorf("%d dumps finished on the three nodes for %d claimed slots %v, want one each", done, len(claims), claims)
	}
	manifests := 0
	for _, d := range dirs {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".json") && !strings.HasPrefix(e.Name(), ".") {
				manifests++
			}
		}
	}
	if manifests == 0 || manifests > len(claims) {
		t.Errorf("%d backups kept on disk for %d slots", manifests, len(claims))
	}
}
