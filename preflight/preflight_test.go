package preflight

import (
	"context"
	"github.com/gitcourse/edge/internal/testutil"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/config"
	"github.com/miekg/dns"
)

// dnsStub answers from a fixed zone on a free loopback UDP port.
func dnsStub(t *testing.T, zone map[string][]string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		known := false
		for _, rec := range zone[strings.ToLower(q.Name)] {
			rr, err := dns.NewRR(q.Name + " 60 IN " + rec)
			if err != nil {
				t.Errorf("zone record %q: %v", rec, err)
				continue
			}
			known = true
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
		if !known {
			m.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

func testConfig(t *testing.T, toml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse(strings.NewReader(toml), "test.toml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("parse config: %v", err)
	}
	return cfg
}

func newRunner(t *testing.T, cfg *config.Config, opts Options) *runner {
	t.Helper()
	opts.defaults()
	opts.Timeout = 2 * time.Second
	if opts.HTTPClient == nil {
		opts.HTTPClient = httpClient(cfg, opts.Timeout)
	}
	return &runner{cfg: cfg, opts: opts}
}

func want(t *testing.T, got []Result, st Status, substr string) {
	t.Helper()
	for _, r := range got {
		if r.Status == st && strings.Contains(r.Detail, substr) {
			if (st == Fail || st == Warn) && r.Fix == "" {
				t.Errorf("%s result without a fix: %s", st, r.Detail)
			}
			return
		}
	}
	t.Errorf("no %s result containing %q in %+v", st, substr, got)
}

func TestDNSAndPorts(t *testing.T) {
	ln := testutil.ServeTCP(t, func(c net.Conn) { c.Close() })
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()

	resolver := dnsStub(t, map[string][]string{
		"good.test.":      {"A 127.0.0.1"},
		"other.test.":     {"A 127.0.0.2"}, // loopback, but nothing listens there
		"elsewhere.test.": {"A 192.0.2.1", "AAAA 2001:db8::1"},
		"mixed.test.":     {"A 127.0.0.1", "A 192.0.2.9"},
		"notxt.test.":     {"TXT \"only text\""},
	})
	cfg := testConfig(t, `[site]
domains = ["good.test", "other.test", "elsewhere.test", "mixed.test", "notxt.test", "missing.test", "*.wild.test", "localhost"]
root = "/nonexistent"
`)
	p := newRunner(t, cfg, Options{Resolver: resolver, PublicIPs: []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")},
		HTTPPort: ln.Addr().(*net.TCPAddr).Port, HTTPSPort: closedPort})
	got := p.checkDNS(context.Background())
	want(t, got, Pass, "good.test points at this host (127.0.0.1)")
	want(t, got, Fail, "elsewhere.test points at 192.0.2.1, 2001:db8::1, not at this host")
	want(t, got, Warn, "mixed.test points at this host (127.0.0.1) and elsewhere (192.0.2.9)")
	want(t, got, Fail, "notxt.test has no A or AAAA record")
	want(t, got, Fail, "missing.test has no A or AAAA record")
	want(t, got, Skip, "*.wild.test: a wildcard name")
	want(t, got, Skip, "localhost: a local name")

	ports := p.checkPorts(context.Background())
	want(t, ports, Pass, "127.0.0.1:"+itoa(p.opts.HTTPPort)+" (good.test) accepts connections")
	want(t, ports, Warn, "nothing listens on port "+itoa(closedPort))
	want(t, ports, Fail, "127.0.0.2:"+itoa(p.opts.HTTPPort)+" (other.test) does not accept connections")
	for _, r := range ports {
		if strings.Contains(r.Detail, "192.0.2.") && r.Status == Pass {
			t.Errorf("a documentation address answered: %s", r.Detail)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestCAA(t *testing.T) {
	resolver := dnsStub(t, map[string][]string{
		"free.test.":             {"A 127.0.0.1"},
		"le.test.":               {`CAA 0 issue "letsencrypt.org"`, `CAA 0 iodef "mailto:ops@le.test"`},
		"www.le.test.":           {"A 127.0.0.1"},
		"other-ca.test.":         {`CAA 0 issue "sectigo.com; validationmethods=dns-01"`},
		"sub.other-ca.test.":     {"A 127.0.0.1"},
		"nobody.test.":           {`CAA 0 issue ";"`},
		"wild.test.":             {`CAA 0 issue "sectigo.com"`, `CAA 0 issuewild "letsencrypt.org"`},
		"staging-only.test.":     {`CAA 128 issue "LetsEncrypt.org"`},
		"zerossl-only.test.":     {`CAA 0 issue "sectigo.com"`},
		"www.zerossl-only.test.": {"A 127.0.0.1"},
	})
	cfg := testConfig(t, `[site]
domains = ["free.test", "www.le.test", "sub.other-ca.test", "nobody.test", "*.wild.test", "staging-only.test"]
root = "/nonexistent"
`)
	p := newRunner(t, cfg, Options{Resolver: resolver})
	got := p.checkCAA(context.Background())
	want(t, got, Pass, "free.test: no CAA record")
	want(t, got, Pass, "www.le.test: CAA at le.test allows letsencrypt.org")
	want(t, got, Fail, "sub.other-ca.test: CAA at other-ca.test allows only sectigo.com, not letsencrypt.org")
	want(t, got, Fail, "nobody.test: CAA at nobody.test allows only no CA")
	want(t, got, Pass, "*.wild.test: CAA at wild.test allows letsencrypt.org")
	want(t, got, Pass, "staging-only.test: CAA at staging-only.test allows letsencrypt.org")

	cfg.TLS.ACMECA = "https://acme.zerossl.com/v2/DV90"
	cfg.Site.Domains = []string{"www.zerossl-only.test"}
	want(t, p.checkCAA(context.Background()), Pass, "allows sectigo.com")
	cfg.TLS.ACMECA = "https://ca.internal.example/acme/directory"
	want(t, p.checkCAA(context.Background()), Warn, "is not known to edge")
	cfg.TLS.Internal = true
	want(t, p.checkCAA(context.Background()), Skip, "internal CA")
}

func TestACMEAndUpstreams(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /directory", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"newNonce":"https://x/n","newAccount":"https://x/a","newOrder":"https://x/o"}`))
	})
	mux.HandleFunc("GET /api/health", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("GET /sick/health", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	plain := httptest.NewServer(mux)
	defer plain.Close()
	down, _ := net.Listen("tcp", "127.0.0.1:0")
	downAddr := down.Addr().String()
	down.Close()
	up := strings.TrimPrefix(plain.URL, "http://")
	cfg := testConfig(t, `[site]
domains = ["edge.test"]
root = "/nonexistent"

[tls]
email = "ops@edge.test"
acme_ca = "`+srv.URL+`/directory"

[[route]]
path = "/api/"
upstreams = ["`+up+`", "`+downAddr+`"]
health = { path = "/api/health" }

[[route]]
path = "/sick/"
upstreams = ["`+up+`"]
health = { path = "/sick/health" }
`)
	p := newRunner(t, cfg, Options{HTTPClient: srv.Client()})
	want(t, p.checkACME(context.Background()), Pass, "ACME directory "+srv.URL+"/directory answers")
	cfg.TLS.ACMECA = srv.URL + "/api/health"
	want(t, p.checkACME(context.Background()), Fail, "not an ACME directory")
	cfg.TLS.Internal = true
	want(t, p.checkACME(context.Background()), Skip, "internal CA")

	got := p.checkUpstreams(context.Background())
	want(t, got, Pass, "route /api/: http://"+up+"/api/health answers 200 OK")
	want(t, got, Fail, "route /api/: http://"+downAddr+"/api/health:")
	want(t, got, Fail, "route /sick/: http://"+up+"/sick/health answers 503")
}

func TestBackupDirAndAlerts(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, `[site]
domains = ["edge.test"]
root = "/nonexistent"

[backup]
database_url = "postgresql://u:p@127.0.0.1:1/db"
dir = "`+dir+`"
`)
	p := newRunner(t, cfg, Options{MinFree: 1})
	want(t, p.checkBackupDir(context.Background()), Pass, dir+" is writable")
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the probe file was left behind: %v", ents)
	}
	p.opts.MinFree = 1 << 62
	want(t, p.checkBackupDir(context.Background()), Fail, "free, less than")
	cfg.Backup.Dir = filepath.Join(dir, "missing")
	want(t, p.checkBackupDir(context.Background()), Fail, "cannot write to")

	want(t, p.checkAlerts(context.Background()), Warn, "no alert channel configured")
	cfg.Alerts.Webhook = &config.Webhook{URL: "https://hooks.example/x"}
	want(t, p.checkAlerts(context.Background()), Skip, "-send-test")
	p.opts.SendTest = func(context.Context) []Result {
		return []Result{{Check: "alerts", Status: Pass, Detail: "webhook: sent"}}
	}
	want(t, p.checkAlerts(context.Background()), Pass, "webhook: sent")

	cfg.Backup = nil
	want(t, p.checkPGDump(context.Background()), Skip, "no [backup]")
}

func TestPGDumpVersion(t *testing.T) {
	for out, want := range map[string]string{
		"pg_dump (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)\n": "15",
		"pg_dump (PostgreSQL) 17.2\n":                           "17",
		"pg_dump (PostgreSQL) 9.6.24\n":                         "9",
	} {
		m := pgDumpVersion.FindStringSubmatch(out)
		if m == nil || m[1] != want {
			t.Errorf("version of %q: got %v, want %s", out, m, want)
		}
	}
	if got := majorOfPath("/usr/lib/postgresql/16/bin/pg_dump"); got != 16 {
		t.Errorf("majorOfPath: got %d, want 16", got)
	}
}

func TestRunReport(t *testing.T) {
	resolver := dnsStub(t, map[string][]string{})
	cfg := testConfig(t, `[site]
domains = ["missing.test"]
root = "/nonexistent"

[tls]
internal = true
`)
	rep := Run(context.Background(), cfg, Options{Resolver: resolver, Timeout: 2 * time.Second})
	if !rep.Failed() || rep.Count(Fail) != 1 {
		t.Errorf("report: %d failed, want 1 (the DNS of missing.test): %+v", rep.Count(Fail), rep.Results)
	}
	checks := map[string]bool{}
	for _, r := range rep.Results {
		checks[r.Check] = true
	}
	for _, c := range []string{"dns", "ports", "caa", "acme", "upstream", "pg_dump", "backup_dir", "alerts"} {
		if !checks[c] {
			t.Errorf("no result for check %s", c)
		}
	}
}
