package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// releasedClusterNode starts a plain-HTTP node whose site.root is a
// release symlink, after a first release of build: through the cluster
// (shared) or with -root (this node only).
func releasedClusterNode(t *testing.T, dbURL, name, build string, shared bool) *Edge {
	t.Helper()
	dir := shortTempDir(t)
	env := []string{"EDGE_CLUSTER_DATABASE_URL=" + dbURL}
	e := &Edge{t: t, Bin: edgeBinary(t), Dir: dir, Site: filepath.Join(dir, "frontend", "current"),
		State: filepath.Join(dir, "state"), Socket: filepath.Join(dir, "admin.sock"), Config: filepath.Join(dir, "edge.toml"),
		Opts: Options{NoHTTPS: true, Env: env,
			ExtraTOML: fmt.Sprintf("[cluster]\ndatabase_url = \"${EDGE_CLUSTER_DATABASE_URL}\"\nnode = %q\n", name)}}
	if err := os.MkdirAll(filepath.Dir(e.Site), 0o755); err != nil {
		t.Fatal(err)
	}
	e.HTTPPort = freePort(t)
	e.WriteConfig()
	args := []string{"release", "-config", e.Config, build}
	if !shared {
		args = []string{"release", "-root", e.Site, build}
	}
	if out, errOut, code := runEdge(t, env, args...); code != 0 {
		t.Fatalf("first release on %s: exit %d\n%s%s", name, code, out, errOut)
	}
	if err := launchWithRetry(e, e.WriteConfig); err != nil {
		t.Fatalf("start %s: %v\n%s", name, err, e.Output())
	}
	return e
}

var releaseMarkRE = regexp.MustCompile(`data-release="(v\d+)"`)

// servedTag is the release marker of the page e serves ("" on error).
func servedTag(e *Edge) string {
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(siteRequest(e))
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := releaseMarkRE.FindSubmatch(body); m != nil {
		return string(m[1])
	}
	return ""
}

// siteRequest is GET / on e for the site's domain.
func siteRequest(e *Edge) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+e.HTTPPort+"/", nil)
	req.Host = domain
	return req
}

// waitTag waits until e serves tag and returns how long that took.
func waitTag(t *testing.T, e *Edge, tag string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		if servedTag(e) == tag {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("node still serves %q %s after the switch, want %s\n%s", servedTag(e), limit, tag, e.Output())
	return 0
}

// A release made on node A is installed on B (which had only a local
// release: it catches up at start) and on C, under load, within 10 s; a
// rollback on A rolls every node back.
func TestClusterReleaseEverywhere(t *testing.T) {
	t.Parallel()
	edgeBinary(t)
	pg := startPGCluster(t)
	dbURL := pg.createDatabase(t, "edgerelease")
	builds := shortTempDir(t)
	a := releasedClusterNode(t, dbURL, "a", writeBuild(t, builds, 0), true)
	// Release ids are UTC seconds: b's own release must not reuse a's id.
	for t0 := time.Now().Unix(); time.Now().Unix() == t0; {
		time.Sleep(10 * time.Millisecond)
	}
	b := releasedClusterNode(t, dbURL, "b", writeBuild(t, builds, 9), false)
	c := releasedClusterNode(t, dbURL, "c", writeBuild(t, builds, 0), false)
	for _, e := range []*Edge{b, c} {
		waitTag(t, e, "v00", 10*time.Second) // caught up with the cluster's release
	}

	var failed, requests atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, e := range []*Edge{b, c} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 2 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Do(siteRequest(e))
				requests.Add(1)
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	env := []string{"EDGE_CLUSTER_DATABASE_URL=" + dbURL}
	out, errOut, code := runEdge(t, env, "release", "-config", a.Config, writeBuild(t, builds, 1))
	if code != 0 || !strings.Contains(out, "cluster: release") {
		t.Fatalf("edge release on a: exit %d\n%s%s", code, out, errOut)
	}
	released := time.Now()
	waitTag(t, b, "v01", 10*time.Second)
	waitTag(t, c, "v01", 10*time.Second)
	t.Logf("release made on a served by b and c %s after edge release returned", time.Since(released).Round(time.Millisecond))

	out, errOut, code = runEdge(t, env, "rollback", "-config", a.Config)
	if code != 0 || !strings.Contains(out, "cluster: every node switches") {
		t.Fatalf("edge rollback on a: exit %d\n%s%s", code, out, errOut)
	}
	waitTag(t, b, "v00", 10*time.Second)
	waitTag(t, c, "v00", 10*time.Second)
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during the release and the rollback", failed.Load(), requests.Load())
	}
	t.Logf("%d requests on b and c during release and rollback, %d failed", requests.Load(), failed.Load())
	if got := servedTag(a); got != "v00" {
		t.Errorf("a serves %q after its rollback, want v00", got)
	}
}
