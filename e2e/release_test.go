package e2e

import (
	"context"
	"encoding/json"
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

// Release-under-load bounds.
const (
	loadWorkers   = 4
	maxPageLoads  = 200000 // per worker: the loop is bounded even if stop never comes
	releaseRounds = 10
)

var assetRefRE = regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`)

// writeBuild writes a frontend build for version v: index.html naming
// content-hashed assets of that version only, each above 1 KiB so that
// edge release precompresses them.
func writeBuild(t testing.TB, dir string, v int) string {
	t.Helper()
	tag := fmt.Sprintf("v%02d", v)
	build := filepath.Join(dir, "builds", tag)
	filler := strings.Repeat("/* padding so the file is worth compressing */\n", 40)
	files := map[string]string{
		"index.html": fmt.Sprintf(`<!doctype html><html><head><title>release %s</title>
<link rel="stylesheet" href="/assets/app-%s.css">
<link rel="modulepreload" href="/assets/vendor-%s.js">
<script type="module" src="/assets/app-%s.js"></script>
</head><body><div id="root" data-release="%s"></div></body></html>
`, tag, tag, tag, tag, tag),
		"assets/app-" + tag + ".js":    "export const release = '" + tag + "';\n" + filler,
		"assets/vendor-" + tag + ".js": "export const vendor = '" + tag + "';\n" + filler,
		"assets/app-" + tag + ".css":   "/* release " + tag + " */ body { margin: 0 }\n" + filler,
		"favicon.ico":                  "ico",
	}
	for name, body := range files {
		p := filepath.Join(build, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return build
}

// startReleasedEdge starts edge (HTTP only) with site.root a "current"
// symlink that "edge release" creates before edge starts.
func startReleasedEdge(t *testing.T, first string) *Edge {
	t.Helper()
	dir := shortTempDir(t)
	e := &Edge{
		t: t, Bin: edgeBinary(t), Dir: dir, Opts: Options{NoHTTPS: true},
		Site:   filepath.Join(dir, "frontend", "current"),
		State:  filepath.Join(dir, "state"),
		Socket: filepath.Join(dir, "admin.sock"),
		Config: filepath.Join(dir, "edge.toml"),
	}
	if err := os.MkdirAll(filepath.Dir(e.Site), 0o755); err != nil {
		t.Fatal(err)
	}
	e.HTTPPort = freePort(t)
	e.WriteConfig()
	out, errOut, code := runEdge(t, nil, "release", "-config", e.Config, writeBuild(t, first, 0))
	if code != 0 || !strings.Contains(out, "edge is not running") {
		t.Fatalf("first release before edge runs: exit %d, want 0 and \"edge is not running\"\n%s%s", code, out, errOut)
	}
	for attempt := 1; ; attempt++ {
		err := e.launch([]string{"run", "-config", e.Config})
		if err == nil {
			return e
		}
		if attempt < 3 && strings.Contains(e.Output(), "address already in use") {
			e.HTTPPort = freePort(t)
			e.WriteConfig()
			continue
		}
		t.Fatalf("start edge: %v\n--- edge output ---\n%s", err, e.Output())
	}
}

// loadStats counts what the page-load loop saw.
type loadStats struct {
	pages, requests, failed, mixed atomic.Int64
	mu                             sync.Mutex
	versions                       map[string]int
	firstErrors                    []string
}

func (s *loadStats) fail(mixed bool, format string, args ...any) {
	s.failed.Add(1)
	if mixed {
		s.mixed.Add(1)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.firstErrors) < 10 {
		s.firstErrors = append(s.firstErrors, fmt.Sprintf(format, args...))
	}
}

// pageLoad fetches index.html, then every asset it references, as a
// browser would. Every answer must be 200 and each asset must belong to
// the release of the page.
func (s *loadStats) pageLoad(ctx context.Context, c *http.Client, e *Edge, enc string) {
	status, body, err := fetch(ctx, c, e.HTTP("/"), enc)
	if ctx.Err() != nil {
		return
	}
	s.requests.Add(1)
	if err != nil || status != http.StatusOK {
		s.fail(false, "GET /: %d %v", status, err)
		return
	}
	m := regexp.MustCompile(`data-release="(v\d+)"`).FindStringSubmatch(body)
	if m == nil {
		s.fail(false, "GET /: no release marker in %.100q", body)
		return
	}
	tag := m[1]
	for _, ref := range assetRefRE.FindAllStringSubmatch(body, -1) {
		status, asset, err := fetch(ctx, c, e.HTTP(ref[1]), enc)
		if ctx.Err() != nil {
			return
		}
		s.requests.Add(1)
		switch {
		case err != nil || status != http.StatusOK:
			s.fail(true, "page of %s: GET %s: %d %v", tag, ref[1], status, err)
		case enc == "" && !strings.Contains(asset, "'"+tag+"'") && !strings.Contains(asset, "release "+tag):
			s.fail(true, "page of %s: GET %s: body of another release: %.60q", tag, ref[1], asset)
		}
	}
	s.pages.Add(1)
	s.mu.Lock()
	s.versions[tag]++
	s.mu.Unlock()
}

func fetch(ctx context.Context, c *http.Client, url, enc string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if enc != "" {
		req.Header.Set("Accept-Encoding", enc)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && enc != "" && resp.StatusCode == http.StatusOK && strings.HasPrefix(url[strings.LastIndex(url, "/"):], "/app-") &&
		strings.HasSuffix(url, ".js") && resp.Header.Get("Content-Encoding") != enc {
		err = fmt.Errorf("Content-Encoding %q, want the precompressed %q", resp.Header.Get("Content-Encoding"), enc)
	}
	return resp.StatusCode, string(b), err
}

// TestReleaseUnderLoad releases 10 times and rolls back twice while
// clients load the page and its assets in a loop: no request may fail and
// no page may miss an asset of its own release. Right after each command,
// new requests get the new release (the admin socket dropped the caches).
func TestReleaseUnderLoad(t *testing.T) {
	dir := shortTempDir(t)
	e := startReleasedEdge(t, dir)
	stats := &loadStats{versions: map[string]int{}}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range loadWorkers {
		c := newClient(nil, false)
		wg.Go(func() {
			defer c.CloseIdleConnections()
			encs := []string{"", "br", "gzip"}
			for i := 0; i < maxPageLoads && ctx.Err() == nil; i++ {
				stats.pageLoad(ctx, c, e, encs[(w+i)%len(encs)])
			}
		})
	}
	defer func() { stop(); wg.Wait() }()

	check := newClient(nil, false)
	want := func(tag string) {
		t.Helper()
		_, body, err := fetch(context.Background(), check, e.HTTP("/"), "")
		if err != nil || !strings.Contains(body, `data-release="`+tag+`"`) {
			t.Fatalf("right after the switch: GET / got %.120q (%v), want release %s", body, err, tag)
		}
	}
	history := []string{"v00"} // releases not rolled back from, oldest first
	ops := 0
	for v := 1; v <= releaseRounds; v++ {
		time.Sleep(150 * time.Millisecond)
		out, errOut, code := runEdge(t, nil, "release", "-config", e.Config, writeBuild(t, dir, v))
		if code != 0 || !strings.Contains(out, "static caches dropped") {
			t.Fatalf("release v%02d: exit %d\n%s%s", v, code, out, errOut)
		}
		ops++
		tag := fmt.Sprintf("v%02d", v)
		want(tag)
		history = append(history, tag)
		if v == 4 || v == 8 {
			time.Sleep(150 * time.Millisecond)
			out, errOut, code := runEdge(t, nil, "rollback", "-config", e.Config)
			if code != 0 || !strings.Contains(out, "static caches dropped") {
				t.Fatalf("rollback after v%02d: exit %d\n%s%s", v, code, out, errOut)
			}
			ops++
			history = history[:len(history)-1]
			want(history[len(history)-1])
		}
	}
	time.Sleep(150 * time.Millisecond)
	stop()
	wg.Wait()

	t.Logf("release under load: %d releases + 2 rollbacks; %d page loads, %d requests, %d failed, %d asset requests of a loaded page failed; pages per release %v",
		releaseRounds, stats.pages.Load(), stats.requests.Load(), stats.failed.Load(), stats.mixed.Load(), stats.versions)
	if n := stats.failed.Load(); n > 0 {
		t.Errorf("%d failed request(s), %d of them assets of an already loaded page; first: %s",
			n, stats.mixed.Load(), strings.Join(stats.firstErrors, "; "))
	}
	if stats.pages.Load() < 100 || len(stats.versions) < 8 {
		t.Errorf("too little load to mean anything: %d page loads over %d releases", stats.pages.Load(), len(stats.versions))
	}
	checkReleaseList(t, e, ops)
}

// checkReleaseList wants at most 5 releases kept plus the protected ones.
func checkReleaseList(t *testing.T, e *Edge, ops int) {
	t.Helper()
	out, errOut, code := runEdge(t, nil, "rollback", "-config", e.Config, "-list", "-json")
	if code != 0 {
		t.Fatalf("rollback -list: exit %d: %s", code, errOut)
	}
	var infos []struct {
		ID       string `json:"id"`
		Current  bool   `json:"current"`
		Previous bool   `json:"previous"`
	}
	if err := json.Unmarshal([]byte(out), &infos); err != nil {
		t.Fatalf("rollback -list -json: %v\n%s", err, out)
	}
	if len(infos) < 5 || len(infos) > 7 {
		t.Errorf("after %d operations: %d releases kept, want 5 (+ current and previous when older)", ops, len(infos))
	}
	var cur int
	for _, in := range infos {
		if in.Current {
			cur++
		}
	}
	if cur != 1 {
		t.Errorf("releases marked current: %d, want 1: %s", cur, out)
	}
}

// TestReleaseRefusesBrokenBuild: a build missing an asset index.html
// references is refused with exit 1 and the site keeps serving.
func TestReleaseRefusesBrokenBuild(t *testing.T) {
	dir := shortTempDir(t)
	e := startReleasedEdge(t, dir)
	broken := writeBuild(t, dir, 1)
	if err := os.Remove(filepath.Join(broken, "assets", "vendor-v01.js")); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runEdge(t, nil, "release", "-config", e.Config, broken)
	if code != 1 || !strings.Contains(errOut, "/assets/vendor-v01.js") {
		t.Fatalf("release of a broken build: exit %d, stderr %q; want 1 naming the missing asset", code, errOut)
	}
	resp, body := get(t, newClient(nil, false), e.HTTP("/"))
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(string(body), `data-release="v00"`) {
		t.Errorf("after a refused release: GET / serves %.100q, want v00", body)
	}
	_, errOut, code = runEdge(t, nil, "rollback", "-config", e.Config)
	if code != 1 || !strings.Contains(errOut, "no earlier release") {
		t.Errorf("rollback with one release: exit %d, stderr %q; want 1", code, errOut)
	}
	if _, _, code := runEdge(t, nil, "release", "-config", e.Config); code != 2 {
		t.Errorf("release without DIR: exit %d, want 2", code)
	}
}
