package e2e

// Cluster mode end to end: several real edge processes sharing one
// throwaway PostgreSQL (startPGCluster) and one Pebble, behind a small
// front that forwards each request to the first node that answers (as
// DNS round robin or a load balancer would): Pebble's HTTP-01 requests
// reach whichever node is first alive, not necessarily the one that
// placed the order.

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// front forwards plain HTTP to the first node whose port accepts.
type front struct {
	port  string
	mu    sync.Mutex
	ports []string
}

func startFront(t *testing.T) *front {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &front{}
	_, f.port, _ = net.SplitHostPort(ln.Addr().String())
	client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		ports := append([]string(nil), f.ports...)
		f.mu.Unlock()
		for _, p := range ports {
			req, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://127.0.0.1:"+p+r.URL.RequestURI(), nil)
			req.Host = r.Host
			resp, err := client.Do(req)
			if err != nil {
				continue // node down: next one
			}
			w.WriteHeader(resp.StatusCode)
			_, _ = io.Copy(w, resp.Body)
			resp.Body.Close()
			return
		}
		http.Error(w, "no node answers", http.StatusBadGateway)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return f
}

func (f *front) add(port string) {
	f.mu.Lock()
	f.ports = append(f.ports, port)
	f.mu.Unlock()
}

// clusterEnv is one PostgreSQL, one Pebble and a front for the nodes.
type clusterEnv struct {
	t     *testing.T
	pg    *pgCluster
	dbURL string
	peb   *pebble
	front *front
}

func newClusterEnv(t *testing.T) *clusterEnv {
	t.Helper()
	edgeBinary(t)
	c := &clusterEnv{t: t, pg: startPGCluster(t), front: startFront(t)}
	c.dbURL = c.pg.createDatabase(t, "edgecluster")
	c.peb = newPebble(t, c.front.port, freePort(t), 90*24*3600)
	c.peb.start()
	return c
}

// node prepares (does not start) edge node name of the cluster.
func (c *clusterEnv) node(name string) *Edge {
	e := newACMEEdge(c.t)
	e.Opts = Options{Env: []string{"EDGE_CLUSTER_DATABASE_URL=" + c.dbURL}}
	e.WriteConfigText(acmeConfig(e, c.peb, `["http-01"]`, "") + fmt.Sprintf(`[cluster]
database_url = "${EDGE_CLUSTER_DATABASE_URL}"
node = %q
`, name))
	c.front.add(e.HTTPPort)
	return e
}

// startAll launches the nodes at the same instant (an empty schema: they
// migrate it together).
func startAll(t *testing.T, nodes ...*Edge) {
	t.Helper()
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, e := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.launch([]string{"run", "-config", e.Config})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start node %d: %v\n%s", i, err, nodes[i].Output())
		}
	}
}

// clusterStatus runs "edge status -cluster -json" against e.
func clusterStatus(t *testing.T, e *Edge) (nodes map[string]bool, raw string) {
	t.Helper()
	out, errOut, code := runEdge(t, nil, "status", "-cluster", "-json", "-config", e.Config)
	if code != 0 {
		t.Fatalf("edge status -cluster: exit %d: %s", code, errOut)
	}
	var c struct {
		Node  string `json:"node"`
		Error string `json:"error"`
		Nodes []struct {
			Name     string    `json:"name"`
			Version  string    `json:"version"`
			LastSeen time.Time `json:"last_seen"`
			Up       bool      `json:"up"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("edge status -cluster -json: %v\n%s", err, out)
	}
	nodes = map[string]bool{}
	for _, n := range c.Nodes {
		nodes[n.Name] = n.Up
	}
	return nodes, out
}

// waitSameCert waits until every node serves a certificate from roots and
// returns the serial each serves.
func waitSameCert(t *testing.T, roots *x509.CertPool, limit time.Duration, nodes ...*Edge) string {
	t.Helper()
	serial := ""
	for i, e := range nodes {
		cert := waitHTTPS(t, e, roots, limit)
		if i == 0 {
			serial = cert.SerialNumber.String()
		} else if got := cert.SerialNumber.String(); got != serial {
			t.Errorf("node %d serves certificate %s, node 0 serves %s: want one certificate for the cluster", i, got, serial)
		}
	}
	return serial
}

func (c *clusterEnv) issued() int { return strings.Count(c.peb.out.String(), "Issued certificate") }

// Three nodes started together on an empty schema: one ACME order for
// the name, every node serves the same certificate within 30 s, and
// every node sees the three members up.
func TestClusterOneOrderThreeNodes(t *testing.T) {
	t.Parallel()
	c := newClusterEnv(t)
	nodes := []*Edge{c.node("n0"), c.node("n1"), c.node("n2")}
	start := time.Now()
	startAll(t, nodes...)
	waitSameCert(t, c.peb.issuingRoots(), 30*time.Second, nodes...)
	t.Logf("three nodes, empty storage: all serving the same certificate after %s", time.Since(start).Round(time.Millisecond))
	if got := c.peb.orders(); got != 1 {
		t.Errorf("pebble saw %d orders, want 1 for the cluster\n%s", got, c.peb.out.String())
	}
	if got := c.issued(); got != 1 {
		t.Errorf("pebble issued %d certificates, want 1", got)
	}
	var (
		members map[string]bool
		raw     string
	)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if members, raw = clusterStatus(t, nodes[2]); len(members) == 3 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if !members["n0"] || !members["n1"] || !members["n2"] {
		t.Errorf("edge status -cluster on n2: %s; want n0, n1, n2 up", raw)
	}
	var versions int
	conn := c.connect(t)
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM edge.schema_version`).Scan(&versions); err != nil || versions < 1 {
		t.Errorf("schema_version rows %d (%v)", versions, err)
	}
}

// connect opens a connection to the cluster database.
func (c *clusterEnv) connect(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), c.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// The node holding the order's lock is SIGKILLed: after its lease
// expires another node takes the lock and completes the order; the
// survivors serve one certificate.
func TestClusterLockHolderKilled(t *testing.T) {
	t.Parallel()
	c := newClusterEnv(t)
	names := []string{"n0", "n1", "n2"}
	nodes := []*Edge{c.node(names[0]), c.node(names[1]), c.node(names[2])}
	conn := c.connect(t)
	startAll(t, nodes...)
	var owner string
	deadline := time.Now().Add(20 * time.Second)
	for owner == "" && time.Now().Before(deadline) {
		err := conn.QueryRow(t.Context(), `SELECT owner FROM edge.locks WHERE name = 'issue_cert_localhost' AND expires > now()`).Scan(&owner)
		if err != nil && err != pgx.ErrNoRows && !strings.Contains(err.Error(), "does not exist") {
			t.Fatal(err)
		}
		if owner == "" {
			time.Sleep(5 * time.Millisecond)
		}
	}
	holder := -1
	for i, n := range names {
		if strings.HasPrefix(owner, n+"/") {
			holder = i
		}
	}
	if holder < 0 {
		t.Fatalf("no node held the certificate lock within 20s (owner %q)", owner)
	}
	nodes[holder].kill()
	nodes[holder].stopped = true
	killed := time.Now()
	issuedAtKill := c.issued()
	var survivors []*Edge
	for i, e := range nodes {
		if i != holder {
			survivors = append(survivors, e)
		}
	}
	waitSameCert(t, c.peb.issuingRoots(), 60*time.Second, survivors...)
	t.Logf("holder %s killed during the order (%d issued then); survivors serve one certificate %s later; pebble orders %d",
		names[holder], issuedAtKill, time.Since(killed).Round(time.Millisecond), c.peb.orders())
	var crts int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM edge.kv WHERE key LIKE 'certificates/%/localhost/localhost.crt'`).Scan(&crts); err != nil || crts != 1 {
		t.Errorf("stored certificates for localhost: %d (%v), want 1", crts, err)
	}
	if issuedAtKill == 0 && time.Since(killed) < 10*time.Second {
		t.Errorf("the order completed %s after the holder died: before its lease (15s) could expire", time.Since(killed))
	}
}

// PostgreSQL stops: every node keeps serving HTTPS, a node restarted
// meanwhile serves from its local copy, status shows the outage; when
// PostgreSQL returns the heartbeats resume.
func TestClusterPostgresDown(t *testing.T) {
	t.Parallel()
	c := newClusterEnv(t)
	a, b := c.node("n0"), c.node("n1")
	startAll(t, a, b)
	roots := c.peb.issuingRoots()
	serial := waitSameCert(t, roots, 30*time.Second, a, b)

	c.pg.Halt()
	if code := b.Stop(); code != 0 {
		t.Fatalf("n1 exit %d on SIGTERM\n%s", code, b.Output())
	}
	if err := b.launch([]string{"run", "-config", b.Config}); err != nil {
		t.Fatalf("restart n1 while PostgreSQL is down: %v\n%s", err, b.Output())
	}
	for _, e := range []*Edge{a, b} {
		if got := waitHTTPS(t, e, roots, 10*time.Second).SerialNumber.String(); got != serial {
			t.Errorf("while PostgreSQL is down a node serves %s, want the stored %s", got, serial)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	_, raw := clusterStatus(t, a)
	for !strings.Contains(raw, `"error"`) && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		_, raw = clusterStatus(t, a)
	}
	if !strings.Contains(raw, `"error"`) {
		t.Errorf("status -cluster while PostgreSQL is down shows no error: %s", raw)
	}

	if err := c.pg.Resume(); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if members, raw := clusterStatus(t, b); members["n0"] && members["n1"] && !strings.Contains(raw, `"error"`) {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	_, raw = clusterStatus(t, b)
	t.Errorf("30s after PostgreSQL returned, status -cluster on n1 = %s; want both nodes up, no error", raw)
}
