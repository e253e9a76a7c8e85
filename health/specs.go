package health

import (
	"time"

	"github.com/gitcourse/edge/config"
)

// Intervals and thresholds of the built-in checks.
const (
	certInterval     = 10 * time.Minute
	backupInterval   = 5 * time.Minute
	upstreamInterval = 10 * time.Second
	trafficInterval  = 30 * time.Second
)

// Specs returns the checks of cfg: the [[check]] tables, then the
// built-ins whose source opts provides: "cert:DOMAIN" per site domain,
// "backup" when [backup] is set, and per [[route]] "upstream:PATH" and
// "traffic:PATH" (unless a [[check]] with route = PATH replaces it).
func Specs(cfg *config.Config, opts Options) []Spec {
	var out []Spec
	client := opts.HTTPClient
	routeChecked := map[string]bool{}
	for _, c := range cfg.Checks {
		s := Spec{Name: c.Name, Interval: c.Interval.Duration, Timeout: c.Timeout.Duration,
			Failures: c.Failures, Successes: c.Successes}
		switch s.Kind = c.Kind(); s.Kind {
		case config.CheckHTTP:
			s.Checker = &HTTP{URL: c.HTTP, Status: c.Status, Contains: c.Contains, Client: client}
		case config.CheckTCP:
			s.Checker = &TCP{Addr: c.TCP}
		case config.CheckPostgres:
			s.Checker = &Postgres{URL: c.Postgres.Reveal()}
		case config.CheckDisk:
			s.Checker = &Disk{Path: c.Disk, MinFree: c.MinFree.Bytes, MinFreeInodes: c.MinFreeInodes}
		case config.CheckTraffic:
			if opts.Traffic == nil {
				continue
			}
			routeChecked[c.Route] = true
			s.Checker = &Traffic{Route: c.Route, Read: opts.Traffic, Window: c.Window.Duration,
				MaxErrorRate: c.MaxErrorRate, MaxP95: c.MaxP95.Duration, MinRequests: c.MinRequests, Now: opts.Now}
		default:
			continue
		}
		out = append(out, s)
	}
	return append(out, builtins(cfg, opts, routeChecked)...)
}

func builtins(cfg *config.Config, opts Options, routeChecked map[string]bool) []Spec {
	var out []Spec
	if opts.Certificates != nil {
		for _, d := range cfg.Site.Domains {
			out = append(out, Spec{Name: "cert:" + d, Kind: "cert", Interval: certInterval, Timeout: 5 * time.Second,
				Failures: 2, Successes: 1, Checker: &CertExpiry{Domain: d, Expiry: opts.Certificates, Now: opts.Now}})
		}
	}
	if cfg.Backup != nil && opts.Backup != nil {
		out = append(out, Spec{Name: "backup", Kind: "backup", Interval: backupInterval, Timeout: 5 * time.Second,
			Failures: 1, Successes: 1, Checker: &BackupFreshness{State: opts.Backup, Now: opts.Now}})
	}
	if cfg.Backup != nil && cfg.Backup.Remote != nil && opts.BackupRemote != nil {
		out = append(out, remoteBackupSpec(opts))
	}
	for _, r := range cfg.Routes {
		if opts.Upstreams != nil {
			// The proxy has debounced its verdict already; two runs in a row
			// keep a single passive cool-down (one refused connection) quiet.
			out = append(out, Spec{Name: "upstream:" + r.Path, Kind: "upstream", Interval: upstreamInterval,
				Timeout: time.Second, Failures: 2, Successes: 1, Checker: &Upstreams{Route: r.Path, State: opts.Upstreams}})
		}
		if opts.Traffic != nil && !routeChecked[r.Path] {
			out = append(out, Spec{Name: "traffic:" + r.Path, Kind: "traffic", Interval: trafficInterval,
				Timeout: time.Second, Failures: 2, Successes: 2, Checker: &Traffic{Route: r.Path, Read: opts.Traffic,
					Window: 5 * time.Minute, MaxErrorRate: 0.05, MaxP95: 2 * time.Second, MinRequests: 20, Now: opts.Now}})
		}
	}
	return out
}
