package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/internal/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// specMetrics are the metric names of SPEC §7.
var specMetrics = []string{
	"edge_http_requests_total",
	"edge_http_request_duration_seconds",
	"edge_upstream_up",
	"edge_cert_expiry_timestamp_seconds",
	"edge_backup_last_success_timestamp_seconds",
	"edge_backup_last_size_bytes",
	"edge_backup_last_duration_seconds",
	"edge_backup_verify_last_success_timestamp_seconds",
	"edge_check_up",
	"edge_build_info",
}

// apiUpstream is a live upstream for /api/, closed at the end of the test.
func apiUpstream(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/boom") {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// deadAddr is a loopback address where nothing listens.
func deadAddr(t *testing.T) string { return net.JoinHostPort("127.0.0.1", freePort(t)) }

// observedOptions configure a route with a live and a dead upstream, a
// backup (whose database does not answer) and a TCP check.
func observedOptions(t *testing.T, live, dead string) Options {
	backupDir := filepath.Join(shortTempDir(t), "backups")
	return Options{
		Routes: []Route{{Path: "/api/", Upstreams: []string{live, dead}, Timeouts: `connect = "1s"`}},
		ExtraTOML: "[backup]\ndatabase_url = \"${DATABASE_URL}\"\ndir = \"" + backupDir + "\"\nverify = \"none\"\n\n" +
			"[[check]]\nname = \"api-port\"\ntcp = \"" + live + "\"\ninterval = \"2s\"\ntimeout = \"1s\"\n",
		Env: []string{"DATABASE_URL=postgres://edge@" + deadAddr(t) + "/edgedb?connect_timeout=1"},
	}
}

// scrapeMetrics GETs /admin/metrics with opt and parses the text format.
func scrapeMetrics(t *testing.T, e *Edge, opt reqOpt) map[string]*dto.MetricFamily {
	t.Helper()
	resp, body := get(t, e.Client(), e.HTTPS("/admin/metrics"), opt)
	wantStatus(t, resp, body, http.StatusOK)
	wantAdminHeaders(t, resp)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("/admin/metrics Content-Type %q, want the text format", ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse /admin/metrics: %v\n%s", err, body)
	}
	return fams
}

func labelValues(f *dto.MetricFamily, name string) []string {
	var out []string
	if f == nil {
		return nil
	}
	for _, m := range f.Metric {
		for _, l := range m.Label {
			if l.GetName() == name && !slices.Contains(out, l.GetValue()) {
				out = append(out, l.GetValue())
			}
		}
	}
	slices.Sort(out)
	return out
}

func gaugeOf(f *dto.MetricFamily, label, value string) (float64, bool) {
	if f == nil {
		return 0, false
	}
	for _, m := range f.Metric {
		for _, l := range m.Label {
			if l.GetName() == label && l.GetValue() == value {
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

func TestAdminMetrics(t *testing.T) {
	t.Parallel()
	live, dead := apiUpstream(t), deadAddr(t)
	e := startEdge(t, tokenOptions(observedOptions(t, live, dead)))
	c := e.Client()
	for _, path := range []string{"/", "/courses/1", "/api/a", "/api/b", "/api/c", "/api/boom", "/nope.png"} {
		get(t, c, e.HTTPS(path))
	}
	get(t, c, e.HTTP("/x")) // a redirect to HTTPS: no route

	var fams map[string]*dto.MetricFamily
	if !eventually(10*time.Second, func() bool {
		fams = scrapeMetrics(t, e, bearer(adminToken))
		return fams["edge_check_up"] != nil
	}) {
		t.Errorf("edge_check_up never appeared (the health checks report within a second)")
	}
	for _, name := range specMetrics {
		if fams[name] == nil {
			t.Errorf("%s missing from /admin/metrics", name)
		}
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes"} {
		if fams[name] == nil {
			t.Errorf("%s missing: the Go and process collectors must be registered", name)
		}
	}

	reqs := fams["edge_http_requests_total"]
	for _, route := range labelValues(reqs, "route") {
		if !slices.Contains([]string{"static", "admin", "/api/", "redirect", "unknown-host", "unrouted"}, route) {
			t.Errorf("route label %q: labels must be route names, never paths", route)
		}
	}
	for _, want := range []string{"static", "/api/", "redirect"} {
		if !slices.Contains(labelValues(reqs, "route"), want) {
			t.Errorf("no request counted for route %q; routes %q", want, labelValues(reqs, "route"))
		}
	}
	for _, code := range labelValues(reqs, "code") {
		if !regexp.MustCompile(`^[1-5][0-9][0-9]$`).MatchString(code) {
			t.Errorf("code label %q is not a 3-digit status", code)
		}
	}
	if !slices.Contains(labelValues(reqs, "code"), "500") || !slices.Contains(labelValues(reqs, "code"), "308") {
		t.Errorf("codes %q, want 500 (from /api/boom) and 308 (the redirect)", labelValues(reqs, "code"))
	}
	if f := fams["edge_http_request_duration_seconds"]; f.GetType() != dto.MetricType_HISTOGRAM || len(f.Metric[0].GetHistogram().GetBucket()) < 8 {
		t.Errorf("edge_http_request_duration_seconds: %s with %d buckets, want a histogram", f.GetType(), len(f.Metric[0].GetHistogram().GetBucket()))
	}
	if v, ok := gaugeOf(fams["edge_upstream_up"], "upstream", live); !ok || v != 1 {
		t.Errorf("edge_upstream_up{upstream=%q} = %v (present %v), want 1", live, v, ok)
	}
	if got := labelValues(fams["edge_cert_expiry_timestamp_seconds"], "domain"); !slices.Equal(got, []string{domain, wwwDomain}) {
		t.Errorf("edge_cert_expiry_timestamp_seconds domains %q, want %s and %s", got, domain, wwwDomain)
	}
	if v, _ := gaugeOf(fams["edge_cert_expiry_timestamp_seconds"], "domain", domain); time.Unix(int64(v), 0).Before(time.Now().Add(24 * time.Hour)) {
		t.Errorf("certificate expiry %v is not in the future", time.Unix(int64(v), 0))
	}
	if v, ok := gaugeOf(fams["edge_build_info"], "version", Version); !ok || v != 1 {
		t.Errorf("edge_build_info{version=%q} = %v (present %v), want 1", Version, v, ok)
	}
	if v, ok := gaugeOf(fams["edge_check_up"], "check", "api-port"); ok && v != 1 {
		t.Errorf("edge_check_up{check=\"api-port\"} = %v, want 1 (its port listens)", v)
	}
	if got := fams["edge_backup_last_success_timestamp_seconds"].GetMetric(); len(got) != 1 || got[0].GetGauge().GetValue() != 0 {
		t.Errorf("edge_backup_last_success_timestamp_seconds %v, want 0: no backup has succeeded", got)
	}
}

func TestAdminStatusCommand(t *testing.T) {
	t.Parallel()
	live, dead := apiUpstream(t), deadAddr(t)
	e := startEdge(t, observedOptions(t, live, dead))
	c := e.Client()
	for range 4 {
		get(t, c, e.HTTPS("/api/x"))
	}
	get(t, c, e.HTTPS("/"))

	stdout, stderr, code := runEdge(t, nil, "status", "-json", "-config", e.Config)
	if code != 0 {
		t.Fatalf("edge status -json: exit %d, stderr %q", code, stderr)
	}
	var st struct {
		State    string `json:"state"`
		Problems []struct {
			Level, Component, Message string
		} `json:"problems"`
		Routes []struct {
			Name      string `json:"name"`
			Upstreams []struct {
				Addr string `json:"addr"`
				Up   bool   `json:"up"`
			} `json:"upstreams"`
			Traffic struct {
				Requests int `json:"requests"`
			} `json:"traffic"`
		} `json:"routes"`
		Traffic struct {
			Requests int `json:"requests"`
		} `json:"traffic"`
		Backup struct {
			Configured bool `json:"configured"`
		} `json:"backup"`
		Checks []struct {
			Name  string `json:"name"`
			State string `json:"state"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("edge status -json printed %q: %v", stdout, err)
	}
	if len(st.Routes) == 0 || st.Routes[0].Name != "/api/" || len(st.Routes[0].Upstreams) != 2 || st.Routes[0].Traffic.Requests < 4 {
		t.Errorf("status routes %+v, want /api/ with 2 upstreams and its 4 requests", st.Routes)
	}
	if st.Traffic.Requests < 5 || !st.Backup.Configured || st.State == "green" {
		t.Errorf("status traffic %d, backup configured %v, state %q; want ≥5 requests, a backup and not green (it failed)",
			st.Traffic.Requests, st.Backup.Configured, st.State)
	}
	names := []string{}
	for _, ch := range st.Checks {
		names = append(names, ch.Name)
	}
	if !slices.Contains(names, "api-port") {
		t.Errorf("status checks %q, want the configured api-port", names)
	}

	stdout, stderr, code = runEdge(t, nil, "status", "-config", e.Config)
	if code != 0 {
		t.Fatalf("edge status: exit %d, stderr %q", code, stderr)
	}
	t.Logf("edge status:\n%s", stdout)
	for _, want := range []string{"edge " + Version, strings.ToUpper(st.State), "domains", domain, "traffic", "route", "/api/",
		live, dead, "backup", "check", "api-port", "alerts     not configured"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("edge status output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "\x1b[") {
		t.Errorf("edge status writes colours to a pipe:\n%q", stdout)
	}

	// On a terminal (script(1) gives it a pseudo-terminal): colours.
	script, err := exec.LookPath("script")
	testutil.RequireOrSkip(t, "script(1) from util-linux", err)
	cmd := exec.Command(script, "-qefc", shellQuote(edgeBinary(t), "status", "-config", e.Config), os.DevNull)
	cmd.Env = append(os.Environ(), "TERM=xterm", "NO_COLOR=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "\x1b[") || !strings.Contains(string(out), live) {
		t.Errorf("edge status on a terminal: %v; want colours:\n%q", err, out)
	}
}

// shellQuote joins args as single-quoted shell words.
func shellQuote(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
