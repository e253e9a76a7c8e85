package e2e

import (
	"crypto/x509"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestACMEReloadsLeakNoGoroutines: with certificates from Pebble, 20
// reloads (each builds a new certificate manager with its ACME loops and
// stops the old one) leave edge's goroutine count (go_goroutines) where it
// was before them, within the few goroutines periodic work moves it by.
func TestACMEReloadsLeakNoGoroutines(t *testing.T) {
	t.Parallel()
	e, p, _ := acmeEdge(t, `["http-01"]`, "")
	p.start()
	if err := e.launch([]string{"run", "-config", e.Config}); err != nil {
		t.Fatalf("start edge: %v\n%s", err, e.Output())
	}
	roots := p.issuingRoots()
	waitHTTPS(t, e, roots, 30*time.Second)
	// Settled: the obtain loop and certmagic's lock refreshers (5s) are done.
	before := settledGoroutines(t, e, roots, 0, 20*time.Second)
	const reloads = 20
	// Periodic work (health checks, samplers, lock refreshers) moves the
	// count by a few goroutines from one scrape to the next; a leak of even
	// one goroutine per reload adds reloads of them, far more than slack.
	const slack = 5
	for i := 1; i <= reloads; i++ {
		e.Signal(syscall.SIGHUP)
		if !eventually(10*time.Second, func() bool { return strings.Count(e.Output(), `"msg":"reloaded"`) >= i }) {
			t.Fatalf("reload %d: no \"reloaded\" in the log\n%s", i, e.Output())
		}
	}
	waitHTTPS(t, e, roots, 10*time.Second)
	after := settledGoroutines(t, e, roots, before+slack, 20*time.Second)
	t.Logf("go_goroutines: %d before %d reloads, %d after (slack %d)", before, reloads, after, slack)
	if after > before+slack {
		t.Errorf("go_goroutines %d after %d reloads, %d before: goroutines leak per reload\n%s", after, reloads, before, e.Output())
	}
	if n := strings.Count(e.Output(), `"msg":"certificate obtained"`); n != 1 {
		t.Errorf("%d certificates obtained, want 1: a reload must reuse the stored certificate", n)
	}
}

// settledGoroutines reads go_goroutines until it is at most want (want 0:
// until it stays the same over three reads a second apart), within limit.
func settledGoroutines(t *testing.T, e *Edge, roots *x509.CertPool, want int, limit time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(limit)
	last, same := -1, 0
	for {
		n := goroutinesOf(t, e, roots)
		if n == last {
			same++
		} else {
			last, same = n, 0
		}
		if (want > 0 && n <= want) || (want == 0 && same >= 2) || time.Now().After(deadline) {
			return n
		}
		time.Sleep(time.Second)
	}
}

// goroutinesOf scrapes go_goroutines over a fresh connection that is
// closed afterwards, so the scrape itself leaves nothing behind.
func goroutinesOf(t *testing.T, e *Edge, roots *x509.CertPool) int {
	t.Helper()
	c := newClient(roots, false)
	defer c.CloseIdleConnections()
	resp, body := get(t, c, "https://localhost:"+e.HTTPSPort+"/admin/metrics", basicAuth(adminUser, adminPassword),
		header("Connection", "close"))
	wantStatus(t, resp, body, http.StatusOK)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse metrics: %v", err)
	}
	g := fams["go_goroutines"]
	if g == nil || len(g.Metric) == 0 {
		t.Fatal("go_goroutines missing from /admin/metrics")
	}
	return int(g.Metric[0].GetGauge().GetValue())
}
