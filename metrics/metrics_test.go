package metrics

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/status"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// specNames are the metric names of SPEC §7.
var specNames = []string{
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

var (
	t0      = time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	expires = time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
)

func fullSnapshot() status.Snapshot {
	return status.Snapshot{
		Upstreams: []status.Upstream{
			{Route: "/api/", Addr: "127.0.0.1:8000", Up: true},
			{Route: "/api/", Addr: "127.0.0.1:8001", Up: false},
			{Route: "/v2/", Addr: "127.0.0.1:8000", Up: false}, // down in one route: down
		},
		Certificates: []status.Certificate{{Domain: "edge.test", NotAfter: expires}, {Domain: "pending.test"}},
		Backup: status.Backup{Configured: true, LastSuccess: t0, LastSizeBytes: 12345,
			LastDuration: 42 * time.Second, LastVerifySuccess: t0.Add(time.Minute)},
		Checks: []status.Check{{Name: "api", Up: true, LastRun: t0}, {Name: "db", LastRun: t0}, {Name: "new"}},
	}
}

// scrape serves m's handler once and parses the text format.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want text/plain", ct)
	}
	body, _ := io.ReadAll(resp.Body)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return fams
}

// series maps the label values (joined with ",") of a family to values.
func series(f *dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	if f == nil {
		return out
	}
	for _, m := range f.Metric {
		var labels []string
		for _, l := range m.Label {
			labels = append(labels, l.GetName()+"="+l.GetValue())
		}
		var v float64
		switch {
		case m.Gauge != nil:
			v = m.Gauge.GetValue()
		case m.Counter != nil:
			v = m.Counter.GetValue()
		case m.Histogram != nil:
			v = float64(m.Histogram.GetSampleCount())
		}
		out[strings.Join(labels, ",")] = v
	}
	return out
}

func TestEverySpecNameWithItsLabels(t *testing.T) {
	m := New(Options{Version: "v1.2.3", State: fullSnapshot})
	m.Observe("static", 200, 3*time.Millisecond)
	m.Observe("/api/", 502, time.Second)
	m.Observe("", 308, 0)
	m.Observe("admin", 0, 0)
	fams := scrape(t, m)
	for _, name := range specNames {
		if fams[name] == nil {
			t.Errorf("%s missing from /metrics", name)
		}
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if fams[name] == nil {
			t.Errorf("%s missing: Go and process collectors must be registered", name)
		}
	}
	tests := []struct {
		name string
		want map[string]float64
	}{
		{"edge_http_requests_total", map[string]float64{
			"code=200,route=static": 1, "code=502,route=/api/": 1, "code=308,route=unrouted": 1, "code=000,route=admin": 1}},
		{"edge_http_request_duration_seconds", map[string]float64{
			"route=static": 1, "route=/api/": 1, "route=unrouted": 1, "route=admin": 1}},
		{"edge_upstream_up", map[string]float64{"upstream=127.0.0.1:8000": 0, "upstream=127.0.0.1:8001": 0}},
		{"edge_cert_expiry_timestamp_seconds", map[string]float64{"domain=edge.test": float64(expires.Unix())}},
		{"edge_backup_last_success_timestamp_seconds", map[string]float64{"": float64(t0.Unix())}},
		{"edge_backup_last_size_bytes", map[string]float64{"": 12345}},
		{"edge_backup_last_duration_seconds", map[string]float64{"": 42}},
		{"edge_backup_verify_last_success_timestamp_seconds", map[string]float64{"": float64(t0.Add(time.Minute).Unix())}},
		{"edge_check_up", map[string]float64{"check=api": 1, "check=db": 0}},
		{"edge_build_info", map[string]float64{"version=v1.2.3": 1}},
	}
	for _, tt := range tests {
		got := series(fams[tt.name])
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	if f := fams["edge_http_request_duration_seconds"]; f != nil && f.GetType() != dto.MetricType_HISTOGRAM {
		t.Errorf("edge_http_request_duration_seconds is a %s, want a histogram", f.GetType())
	} else if f != nil && len(f.Metric[0].Histogram.Bucket) != len(Buckets)+1 {
		t.Errorf("histogram has %d buckets, want %d and +Inf", len(f.Metric[0].Histogram.Bucket), len(Buckets))
	}
}

func TestUnconfiguredBackupHasNoGauges(t *testing.T) {
	m := New(Options{Version: "v", State: func() status.Snapshot { return status.Snapshot{} }})
	fams := scrape(t, m)
	for name := range fams {
		if strings.HasPrefix(name, "edge_backup_") || name == "edge_check_up" || name == "edge_upstream_up" {
			t.Errorf("%s present with nothing configured", name)
		}
	}
	if fams["edge_build_info"] == nil {
		t.Error("edge_build_info missing")
	}
}

func TestRouteLabelsAreBounded(t *testing.T) {
	m := New(Options{Version: "v"})
	for i := range maxRoutes + 10 {
		m.Observe(fmt.Sprintf("/r%d/", i), 200, time.Millisecond)
	}
	got := series(scrape(t, m)["edge_http_request_duration_seconds"])
	if len(got) != maxRoutes+1 || got["route=other"] != 10 {
		t.Errorf("%d route series (other=%v), want %d plus other=10", len(got), got["route=other"], maxRoutes)
	}
}

func TestBucketsMatchTheRing(t *testing.T) {
	if len(Buckets) != nBuckets-1 || !slices.IsSorted(Buckets) {
		t.Fatalf("Buckets has %d sorted=%v bounds, the ring expects %d", len(Buckets), slices.IsSorted(Buckets), nBuckets-1)
	}
	if bounds[len(bounds)-1] != Buckets[len(Buckets)-1] {
		t.Errorf("bounds %v differ from Buckets %v", bounds, Buckets)
	}
}

func BenchmarkObserve(b *testing.B) {
	m := New(Options{Version: "v"})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Observe("static", 200, time.Millisecond)
		}
	})
}
