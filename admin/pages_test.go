package admin

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) *time.Time { t := now.Add(d); return &t }

func pct(f float64) *float64 { return &f }

// fullStatus has something in every section.
func fullStatus() Status {
	days := 62.0
	st := Status{
		Schema: SchemaVersion, GeneratedAt: now, Version: "v1.2.3", StartedAt: now.Add(-3 * time.Hour),
		UptimeSeconds: 3 * 3600, Uptime: "3h0m0s", Config: "/etc/edge/edge.toml",
		Listeners: map[string]string{"http": ":80", "https": ":443"}, Warnings: []string{"running as root"},
		Domains: []string{"gitcourse.example.com"},
		Certificates: []Certificate{{Domain: "gitcourse.example.com", Source: "acme", Issuer: "R11",
			NotAfter: at(62 * 24 * time.Hour), NextRenewal: at(32 * 24 * time.Hour), DaysLeft: &days}},
		Routes: []Route{
			{Name: "/api/", Kind: "proxy", Upstreams: []Upstream{
				{Addr: "127.0.0.1:8000", Up: true, Since: at(-3 * time.Hour)},
				{Addr: "127.0.0.1:8001", Up: false, Since: at(-time.Minute), LastError: "connect: connection refused"}},
				Traffic: RouteTraffic{Requests: 120, RequestsPerSecond: 0.4, LatencyP50MS: 12, LatencyP95MS: 80}},
			{Name: "static", Kind: "static", Upstreams: []Upstream{}},
		},
		Traffic: Traffic{WindowSeconds: 300, SlotSeconds: 10, Requests: 300, RequestsPerSecond: 1, Errors5xx: 3, ErrorRate5xx: 0.01,
			Series: []TrafficBin{{Start: now.Add(-20 * time.Second), Requests: 100, Errors5xx: 3}, {Start: now.Add(-10 * time.Second), Requests: 200}}},
		Backup: Backup{Configured: true, LastSuccess: at(-9 * time.Hour), LastSizeBytes: 12_300_000, LastDurationSeconds: 42,
			Verified: true, LastVerifyAt: at(-9 * time.Hour), LastVerifyOK: true, NextRun: at(15 * time.Hour)},
		Checks: []Check{
			{Name: "api", Kind: "http", State: "up", Since: at(-3 * time.Hour), LastRun: at(-10 * time.Second),
				History: &CheckHistory{Uptime24h: pct(99.5), Uptime7d: pct(99.9), Uptime30d: pct(99.95),
					Bars24h: []HistoryBar{{Start: now.Add(-time.Hour), SpanSeconds: 900, Uptime: pct(100)}, {Start: now, SpanSeconds: 900}}}},
			{Name: "db", Kind: "postgres", State: "pending"},
		},
		Alerts: Alerts{Channels: []string{"email"}, Recent: []Alert{{At: now.Add(-time.Hour), Check: "api", State: "down", Channel: "email", OK: true}}},
	}
	st.Assess(now)
	return st
}

func serve(t *testing.T, h http.Handler, method, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, "https://edge.test"+path, nil))
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var metricsStub = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "edge_build_info 1\n") })

func TestPageStyleIsAllowedByItsHash(t *testing.T) {
	h := Handler("/admin", func() Status { return fullStatus() }, metricsStub)
	resp, body := serve(t, h, http.MethodGet, "/admin/status")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	styles := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(body, -1)
	if len(styles) != 1 {
		t.Fatalf("%d <style> elements, want exactly one", len(styles))
	}
	sum := sha256.Sum256([]byte(styles[0][1]))
	want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, want) || !strings.HasPrefix(csp, "default-src 'none'") {
		t.Errorf("CSP %q does not allow the page's style (%s) under default-src 'none'", csp, want)
	}
	for _, banned := range []string{"<script", " style=", "javascript:", "http://", "https://", "<link rel=\"stylesheet"} {
		if strings.Contains(body, banned) {
			t.Errorf("the page contains %q: it must load nothing and use no inline style attributes", banned)
		}
	}
	if !strings.Contains(body, `<meta http-equiv="refresh" content="30">`) || !strings.Contains(body, `name="viewport"`) {
		t.Error("the page must refresh itself and set a viewport for phones")
	}
}

func TestPageShowsEverySection(t *testing.T) {
	h := Handler("/admin", func() Status { return fullStatus() }, metricsStub)
	_, body := serve(t, h, http.MethodGet, "/admin/status")
	for _, want := range []string{
		`id="overall" data-state="amber"`, "AMBER", "edge v1.2.3", "up 3h",
		`id="traffic"`, "1.00", "1.0%",
		`id="certificates"`, "gitcourse.example.com", "R11", "2027-01-26", "(in 62d)", "2026-12-27",
		`id="routes"`, "/api/", "127.0.0.1:8000", "127.0.0.1:8001", "connection refused", "p95 80 ms",
		`id="backup"`, "9h ago", "12.3 MB", "took 42s", "verified", "(in 15h)",
		`id="checks"`, "99.50%", "99.90%", "99.95%", "db", "no history yet", "h-full", "h-none",
		`id="alerts"`, "Channels: email", "1h ago",
		`id="warnings"`, "running as root",
		`id="problems"`, "route /api/: 1 of 2 upstreams down", "check db has not reported a result",
		`href="/admin/status.json"`, `href="/admin/metrics"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestPageSaysNotConfigured(t *testing.T) {
	st := Status{Schema: SchemaVersion, GeneratedAt: now, StartedAt: now, Version: "v", Listeners: map[string]string{}}
	st.Assess(now)
	h := Handler("/admin", func() Status { return st }, nil)
	_, body := serve(t, h, http.MethodGet, "/admin")
	if n := strings.Count(body, "not configured"); n != 5 {
		t.Errorf("%d sections say \"not configured\", want 5 (certificates, routes, backup, checks, alerts)", n)
	}
	if !strings.Contains(body, `data-state="green"`) || !strings.Contains(body, "no warnings") {
		t.Error("an empty status must be green without warnings")
	}
	if resp, _ := serve(t, h, http.MethodGet, "/admin/metrics"); resp.StatusCode != 404 {
		t.Errorf("/metrics without a metrics handler: %d, want 404", resp.StatusCode)
	}
}

func TestPageEscapes(t *testing.T) {
	st := fullStatus()
	st.Routes[0].Upstreams[1].LastError = `<script>alert(1)</script>`
	h := Handler("/admin", func() Status { return st }, nil)
	_, body := serve(t, h, http.MethodGet, "/admin/status")
	if strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;") {
		t.Error("values are not HTML-escaped")
	}
}

func TestStatusJSONAndRouting(t *testing.T) {
	h := Handler("/admin", func() Status { return fullStatus() }, metricsStub)
	resp, body := serve(t, h, http.MethodGet, "/admin/status.json")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status.json: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"schema", "generated_at", "state", "problems", "version", "started_at", "uptime_seconds",
		"config", "listeners", "reloads", "warnings", "domains", "certificates", "routes", "traffic", "backup", "checks", "alerts"} {
		if _, ok := got[key]; !ok {
			t.Errorf("status.json lacks %q", key)
		}
	}
	if got["state"] != "amber" {
		t.Errorf("state %v, want amber", got["state"])
	}
	tests := []struct {
		method, path string
		want         int
		body         string
	}{
		{http.MethodGet, "/admin/metrics", 200, "edge_build_info"},
		{http.MethodHead, "/admin/status", 200, ""},
		{http.MethodGet, "/admin/", 200, "<!doctype html>"},
		{http.MethodGet, "/admin/nope", 404, ""},
		{http.MethodPost, "/admin/status", 405, ""},
	}
	for _, tt := range tests {
		resp, body := serve(t, h, tt.method, tt.path)
		if resp.StatusCode != tt.want || !strings.Contains(body, tt.body) {
			t.Errorf("%s %s: %d %.60q, want %d with %q", tt.method, tt.path, resp.StatusCode, body, tt.want, tt.body)
		}
	}
}

func TestHumanAndBytes(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 850 * time.Millisecond: "850ms", 12 * time.Second: "12s", 4*time.Minute + 3*time.Second: "4m 3s",
		5*time.Hour + 12*time.Minute + 9*time.Second: "5h 12m", 3*24*time.Hour + 4*time.Hour: "3d 4h",
		2 * time.Hour: "2h", -90 * time.Second: "1m 30s",
	} {
		if got := Human(d); got != want {
			t.Errorf("Human(%s) = %q, want %q", d, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 12_300_000: "12.3 MB", 1_500_000_000: "1.5 GB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
