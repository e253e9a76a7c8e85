package e2e

// [[limit]] rules against the real GitCourse API on uvicorn: rate limits,
// in-flight caps, bans and edge unban, with other client addresses
// (127.0.0.2 and up) to show who is not affected.

import (
	"context"
	"crypto/tls"
	"encoding/json"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clientFrom is a client of e whose connections come from the loopback
// address src, a second client as far as edge can tell.
func clientFrom(e *Edge, src string) *http.Client {
	var roots = e.RootCAs
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
			return d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", port))
		},
		DisableCompression:  true,
		MaxIdleConnsPerHost: 32,
	}
	if !e.Opts.NoHTTPS {
		tr.TLSClientConfig = &tls.Config{RootCAs: roots()}
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// appCounter reads a JSON counter of the app straight from uvicorn.
func appCounter(t *testing.T, api *apiServer, path, field string) int {
	t.Helper()
	resp, err := http.Get("http://" + api.Addr() + path)
	if err != nil {
		t.Fatalf("GET %s from uvicorn: %v", path, err)
	}
	defer resp.Body.Close()
	var m map[string]int
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return m[field]
}

func login(t *testing.T, c *http.Client, e *Edge, opts ...reqOpt) (*http.Response, []byte) {
	t.Helper()
	opts = append(opts, header("Content-Type", "application/json"))
	return do(t, c, http.MethodPost, e.URL("/api/auth/login"), strings.NewReader(`{"user":"ann","password":"guess"}`), opts...)
}

const loginRule = `
[[limit]]
name = "login"
path = "/api/auth/"
methods = ["POST"]
`

// TestLimitsUvicorn puts [[limit]] rules in front of uvicorn. Not
// parallel: the in-flight timings should not share the CPUs.
func TestLimitsUvicorn(t *testing.T) {
	t.Parallel()
	_, dbURL := apiDatabase(t)
	api := startAPIServer(t, dbURL, "a")
	t.Run("login-429", func(t *testing.T) { testLogin429(t, api) })
	t.Run("trusted-proxy", func(t *testing.T) { testLimitTrustedProxy(t, api) })
	t.Run("in-flight-503", func(t *testing.T) { testInFlight503(t, api) })
	t.Run("ban-reload-unban", func(t *testing.T) { testBanReloadUnban(t, api) })
}

// testLogin429: the 11th POST within a minute gets 429 with Retry-After,
// the JSON body and the security headers, and the app saw exactly 10;
// other paths and another client are not affected.
func testLogin429(t *testing.T, api *apiServer) {
	e := startEdge(t, Options{Routes: []Route{apiRoute(api.Addr())}, ExtraTOML: loginRule + "rate = \"10/m\"\nburst = 10\n"})
	c := e.Client()
	before := appCounter(t, api, "/api/auth/attempts", "attempts")
	for i := 1; i <= 10; i++ {
		resp, body := login(t, c, e)
		wantStatus(t, resp, body, http.StatusUnauthorized)
	}
	resp, body := login(t, c, e)
	wantStatus(t, resp, body, http.StatusTooManyRequests)
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 6 {
		t.Errorf("Retry-After %q, want 1..6 seconds (one token every 6 s at 10/m)", resp.Header.Get("Retry-After"))
	}
	var got map[string]string
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("429 body %q is not JSON: %v", body, err)
	}
	if got["error"] != "rate limited" || got["request_id"] == "" || got["request_id"] != resp.Header.Get("X-Request-Id") {
		t.Errorf("429 body %q, want error \"rate limited\" and the request id %q", body, resp.Header.Get("X-Request-Id"))
	}
	checkSecurityHeaders(t, "429", resp, true)
	if n := appCounter(t, api, "/api/auth/attempts", "attempts") - before; n != 10 {
		t.Errorf("the app saw %d login attempts, want exactly 10", n)
	}
	for _, path := range []string{"/api/courses", "/"} {
		resp, body := get(t, c, e.URL(path))
		wantStatus(t, resp, body, http.StatusOK)
	}
	resp, body = login(t, clientFrom(e, "127.0.0.2"), e)
	wantStatus(t, resp, body, http.StatusUnauthorized)
	if !e.WaitOutput(`"limited":"login"`, 5*time.Second) {
		t.Error(`the access log has no line with "limited":"login"`)
	}
	fams := scrapeMetrics(t, e, basicAuth(adminUser, adminPassword))
	if v := counterOf(fams["edge_limited_requests_total"], "limit", "login"); v != 1 {
		t.Errorf("edge_limited_requests_total{limit=\"login\"} = %v, want 1", v)
	}
	resp, body = get(t, c, e.URL("/admin/status.json"), basicAuth(adminUser, adminPassword))
	wantStatus(t, resp, body, http.StatusOK)
	var st struct {
		Limits struct {
			TopLimited []struct {
				Client, Rule string
				Rejected     int
			} `json:"top_limited"`
		} `json:"limits"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	if top := st.Limits.TopLimited; len(top) != 1 || top[0].Client != "127.0.0.1" || top[0].Rule != "login" || top[0].Rejected != 1 {
		t.Errorf("status.json limits.top_limited = %+v, want 127.0.0.1 rejected once by login", top)
	}
}

// counterOf is the value of f's series with label = value, or -1.
func counterOf(f *dto.MetricFamily, label, value string) float64 {
	if f == nil {
		return -1
	}
	for _, m := range f.Metric {
		for _, l := range m.Label {
			if l.GetName() == label && l.GetValue() == value {
				return m.GetCounter().GetValue()
			}
		}
	}
	return -1
}

// testLimitTrustedProxy: behind a trusted proxy each client is limited by
// its own address (X-Forwarded-For), not the proxy's.
func testLimitTrustedProxy(t *testing.T, api *apiServer) {
	e := startEdgeWith(t, Options{NoHTTPS: true, Routes: []Route{apiRoute(api.Addr())},
		ExtraTOML: loginRule + "rate = \"3/m\"\n"}, "", `trusted_proxies = ["127.0.0.1/32"]`)
	c := e.Client()
	xff := func(ip string) reqOpt { return header("X-Forwarded-For", ip) }
	for range 3 {
		resp, body := login(t, c, e, xff("203.0.113.7"))
		wantStatus(t, resp, body, http.StatusUnauthorized)
	}
	resp, body := login(t, c, e, xff("203.0.113.7"))
	wantStatus(t, resp, body, http.StatusTooManyRequests)
	resp, body = login(t, c, e, xff("203.0.113.8"))
	wantStatus(t, resp, body, http.StatusUnauthorized)
	// From a peer that is not trusted, X-Forwarded-For is not believed.
	resp, body = login(t, clientFrom(e, "127.0.0.2"), e, xff("203.0.113.7"))
	wantStatus(t, resp, body, http.StatusUnauthorized)
}

// testInFlight503: with max_in_flight = 4 and a slow endpoint, 20
// concurrent requests: never more than 4 at the app, the rest 503 after
// the queue timeout.
func testInFlight503(t *testing.T, api *apiServer) {
	e := startEdge(t, Options{NoHTTPS: true, Routes: []Route{apiRoute(api.Addr())},
		ExtraTOML: "[[limit]]\nname = \"slow\"\npath = \"/api/slow\"\nmax_in_flight = 4\nqueue_timeout = \"500ms\"\n"})
	c := clientFrom(e, "127.0.0.1")
	totalBefore := appCounter(t, api, "/api/slow/stats", "total")
	type result struct {
		code  int
		retry string
		took  time.Duration
	}
	results := make([]result, 20)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			start := time.Now()
			resp, err := c.Get(e.URL("/api/slow?s=1.5"))
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			results[i] = result{resp.StatusCode, resp.Header.Get("Retry-After"), time.Since(start)}
		})
	}
	if !eventually(time.Second, func() bool { return inFlightGauge(t, e, "/api/") >= 4 }) {
		t.Errorf("edge_in_flight{route=\"/api/\"} never reached 4 while 20 requests were out")
	}
	wg.Wait()
	codes := map[int]int{}
	for i, r := range results {
		codes[r.code]++
		if r.code == http.StatusServiceUnavailable && (r.retry == "" || r.took < 450*time.Millisecond) {
			t.Errorf("request %d: 503 after %s with Retry-After %q, want a Retry-After after the 500ms queue timeout", i, r.took, r.retry)
		}
	}
	if codes[http.StatusOK] != 4 || codes[http.StatusServiceUnavailable] != 16 {
		t.Errorf("statuses %v, want 4 × 200 and 16 × 503", codes)
	}
	if m := appCounter(t, api, "/api/slow/stats", "max"); m > 4 {
		t.Errorf("the app had %d slow requests at once, want at most 4", m)
	}
	if n := appCounter(t, api, "/api/slow/stats", "total") - totalBefore; n != 4 {
		t.Errorf("the app saw %d slow requests, want 4", n)
	}
}

// inFlightGauge scrapes edge_in_flight{route} from the site listener.
func inFlightGauge(t *testing.T, e *Edge, route string) float64 {
	t.Helper()
	resp, body := get(t, e.Client(), e.URL("/admin/metrics"), basicAuth(adminUser, adminPassword))
	wantStatus(t, resp, body, http.StatusOK)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse metrics: %v", err)
	}
	v, _ := gaugeOf(fams["edge_in_flight"], "route", route)
	return v
}

const banRule = loginRule + `rate = "100/m"
ban_after = 3
ban_window = "1m"
ban_for = "10m"
allow = ["127.0.0.5/32"]
`

// testBanReloadUnban: three 401s from the app ban the client: 403 on every
// path, logged once, listed in status.json and the metrics; other clients
// and the allow list are not affected; a reload under load keeps the ban;
// edge unban lifts it.
func testBanReloadUnban(t *testing.T, api *apiServer) {
	e := startEdge(t, Options{Routes: []Route{apiRoute(api.Addr())}, ExtraTOML: banRule})
	bad, other, allowed := clientFrom(e, "127.0.0.3"), clientFrom(e, "127.0.0.4"), clientFrom(e, "127.0.0.5")
	for range 3 {
		resp, body := login(t, bad, e)
		wantStatus(t, resp, body, http.StatusUnauthorized)
	}
	wantBanned(t, e, bad)
	for range 5 {
		resp, body := login(t, allowed, e)
		wantStatus(t, resp, body, http.StatusUnauthorized)
	}
	for _, c := range []*http.Client{other, allowed} {
		resp, body := get(t, c, e.URL("/"))
		wantStatus(t, resp, body, http.StatusOK)
	}
	if n := strings.Count(e.Output(), `"msg":"client banned"`); n != 1 {
		t.Errorf("%d \"client banned\" log lines, want 1", n)
	}
	wantBanListed(t, e, "127.0.0.3")

	// Reload (with one more rule) while another client keeps loading pages.
	stop := make(chan struct{})
	var sent, failed atomic.Int64
	var firstErr atomic.Value
	done := make(chan struct{})
	go func() { defer close(done); getLoop(other, e.URL("/"), stop, &sent, &failed, &firstErr) }()
	waitSent(t, &sent, 20)
	e.Opts.ExtraTOML = banRule + "\n[[limit]]\nname = \"search\"\npath = \"/api/courses\"\nrate = \"50/s\"\n"
	e.WriteConfig()
	if stdout, stderr, code := runEdge(t, nil, "reload", "-config", e.Config); code != 0 {
		t.Fatalf("edge reload: exit %d: %s%s", code, stdout, stderr)
	}
	waitSent(t, &sent, sent.Load()+20)
	close(stop)
	<-done
	if failed.Load() > 0 {
		t.Errorf("%d of %d requests of another client failed across the reload: %v", failed.Load(), sent.Load(), firstErr.Load())
	}
	wantBanned(t, e, bad)

	stdout, stderr, code := runEdge(t, nil, "unban", "-config", e.Config, "127.0.0.3")
	if code != 0 || !strings.Contains(stdout, "unbanned 127.0.0.3") {
		t.Fatalf("edge unban: exit %d: %s%s", code, stdout, stderr)
	}
	resp, body := get(t, bad, e.URL("/"))
	wantStatus(t, resp, body, http.StatusOK)
	if _, stderr, code := runEdge(t, nil, "unban", "-config", e.Config, "127.0.0.3"); code != 1 || !strings.Contains(stderr, "not banned") {
		t.Errorf("second edge unban: exit %d, stderr %q, want 1 and \"not banned\"", code, stderr)
	}
	if _, stderr, code := runEdge(t, nil, "unban", "-config", e.Config, "not-an-ip"); code != 2 || !strings.Contains(stderr, "not an IP address") {
		t.Errorf("edge unban not-an-ip: exit %d, stderr %q, want 2 and \"not an IP address\"", code, stderr)
	}
}

// wantBanned checks that c gets 403 everywhere: a page for the site, JSON
// under the proxy route, with Retry-After and the security headers.
func wantBanned(t *testing.T, e *Edge, c *http.Client) {
	t.Helper()
	resp, body := get(t, c, e.URL("/"))
	wantStatus(t, resp, body, http.StatusForbidden)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("banned GET /: Content-Type %q, Retry-After %q, want a page with Retry-After",
			resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"))
	}
	checkSecurityHeaders(t, "403 ban", resp, true)
	resp, body = get(t, c, e.URL("/api/courses"))
	wantStatus(t, resp, body, http.StatusForbidden)
	if !strings.Contains(string(body), `"error":"temporarily banned"`) {
		t.Errorf("banned GET /api/courses: body %q, want the JSON error", body)
	}
}

// wantBanListed checks status.json and the metrics show the ban.
func wantBanListed(t *testing.T, e *Edge, client string) {
	t.Helper()
	resp, body := get(t, e.Client(), e.URL("/admin/status.json"), basicAuth(adminUser, adminPassword))
	wantStatus(t, resp, body, http.StatusOK)
	var st struct {
		Limits struct {
			Bans  []struct{ Client, Rule string } `json:"bans"`
			Rules []struct {
				Name    string `json:"name"`
				Limited int    `json:"limited"`
			} `json:"rules"`
		} `json:"limits"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("status.json: %v", err)
	}
	if len(st.Limits.Bans) != 1 || st.Limits.Bans[0].Client != client || st.Limits.Bans[0].Rule != "login" {
		t.Errorf("status.json limits.bans = %+v, want one ban of %s by login", st.Limits.Bans, client)
	}
	fams := scrapeMetrics(t, e, basicAuth(adminUser, adminPassword))
	if f := fams["edge_banned_clients"]; f == nil || len(f.Metric) != 1 || f.Metric[0].GetGauge().GetValue() != 1 {
		t.Errorf("edge_banned_clients = %v, want 1", f)
	}
	resp, body = get(t, e.Client(), e.URL("/admin/status"), basicAuth(adminUser, adminPassword))
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(string(body), "<td>"+client+"</td><td>login</td>") {
		t.Errorf("the status page does not list the ban of %s", client)
	}
}
