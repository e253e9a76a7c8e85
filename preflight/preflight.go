// Package preflight checks what "nginx -t" never does, before a site goes
// live and at every deploy: that each domain's DNS points at this host,
// ports 80 and 443 answer there, CAA records let the configured CA issue,
// the ACME directory answers, HTTP/3 answers on UDP 443 with big enough
// UDP buffers, every upstream passes its health check,
// pg_dump can dump the database server, the backup directory takes files,
// and (on request) every alert channel delivers.
//
// Each check yields one Result with a status and, for failures, a fix.
// Nothing is changed on the host beyond a probe file in the backup
// directory, removed at once.
package preflight

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/gitcourse/edge/config"
)

// Status is the outcome of one check.
type Status string

// Statuses: Fail makes the preflight fail; Warn needs a look; Skip did
// not apply or could not run.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Warn Status = "warn"
	Skip Status = "skip"
)

// Result is one check's outcome.
type Result struct {
	// Check names the area: dns, ports, http3, caa, acme, upstream, pg_dump,
	// backup_dir, alerts.
	Check string `json:"check"`
	// Status is pass, fail, warn or skip.
	Status Status `json:"status"`
	// Detail is one line on what was seen.
	Detail string `json:"detail"`
	// Fix is one line on what to do, for fail and warn.
	Fix string `json:"fix,omitempty"`
}

// Report is every result, in the order the checks ran.
type Report struct {
	// Results are the outcomes.
	Results []Result `json:"results"`
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool { return r.Count(Fail) > 0 }

// Count returns how many results have status s.
func (r *Report) Count(s Status) int {
	n := 0
	for _, res := range r.Results {
		if res.Status == s {
			n++
		}
	}
	return n
}

// Options configure Run.
type Options struct {
	// Resolver is the DNS server (host:port) asked for A, AAAA and CAA.
	// Default: the first nameserver of /etc/resolv.conf.
	Resolver string
	// PublicIPs are this host's public addresses, for a host behind NAT.
	// Default: the global unicast addresses of its interfaces.
	PublicIPs []netip.Addr
	// HTTPPort and HTTPSPort are probed on the DNS addresses. Default: 80, 443.
	HTTPPort, HTTPSPort int
	// MinFree is the free space the backup directory needs. Default: 1 GB.
	MinFree int64
	// SendTest sends a test message through every alert channel; nil
	// skips the alerts check.
	SendTest func(ctx context.Context) []Result
	// ProcSys is where the kernel's settings are read (net/core/rmem_max).
	// Default: /proc/sys.
	ProcSys string
	// Timeout bounds each network probe. Default: 5s.
	Timeout time.Duration
	// HTTPClient is used for the ACME directory and upstream probes.
	// Default: one with Timeout, trusting tls.acme_ca_root too.
	HTTPClient *http.Client
}

func (o *Options) defaults() {
	if o.HTTPPort == 0 {
		o.HTTPPort = 80
	}
	if o.HTTPSPort == 0 {
		o.HTTPSPort = 443
	}
	if o.MinFree == 0 {
		o.MinFree = 1e9
	}
	if o.ProcSys == "" {
		o.ProcSys = "/proc/sys"
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
}

// Run checks a validated configuration. Checks run one after the other,
// each bounded by Options.Timeout per probe.
func Run(ctx context.Context, cfg *config.Config, opts Options) *Report {
	opts.defaults()
	if opts.HTTPClient == nil {
		opts.HTTPClient = httpClient(cfg, opts.Timeout)
	}
	p := &runner{cfg: cfg, opts: opts}
	r := &Report{}
	for _, check := range []func(context.Context) []Result{
		p.checkDNS, p.checkPorts, p.checkHTTP3, p.checkCAA, p.checkACME, p.checkUpstreams,
		p.checkPGDump, p.checkBackupDir, p.checkAlerts,
	} {
		r.Results = append(r.Results, check(ctx)...)
	}
	return r
}

// runner holds what the checks share.
type runner struct {
	cfg   *config.Config
	opts  Options
	addrs map[string][]netip.Addr // domain -> its A/AAAA records that are this host (checkDNS)
}

func result(check string, st Status, fix, format string, args ...any) Result {
	return Result{Check: check, Status: st, Detail: fmt.Sprintf(format, args...), Fix: fix}
}
