package server

import (
	"math"
	"time"

	"github.com/gitcourse/edge/admin"
	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/health"
	"github.com/gitcourse/edge/metrics"
	"github.com/gitcourse/edge/status"
)

// Status is what the status page, status.json and "edge status" show
// (docs/status-json.md): the registry made current, the request ring, the
// running config and the process, with the overall state assessed.
func (s *Server) Status() admin.Status {
	snap := s.observedSnapshot()
	cfg := s.site.Load().cfg
	now := time.Now()
	lastErr, _ := s.lastErr.Load().(string)
	file := cfg.File
	if file == "" {
		file = "(built-in defaults)"
	}
	w := s.obs.metrics.Ring().Window()
	st := admin.Status{
		Schema: admin.SchemaVersion, GeneratedAt: now.UTC(),
		Version: s.opts.Version, StartedAt: s.started.UTC(),
		UptimeSeconds: int64(now.Sub(s.started).Seconds()), Uptime: now.Sub(s.started).Round(time.Second).String(),
		Config: file, Reloads: int(s.reloads.Load()), LastError: lastErr,
		Listeners:    map[string]string{"http": s.HTTPAddr(), "https": s.HTTPSAddr(), "h3": s.H3Addr()},
		Warnings:     nonNil(s.Warnings()),
		Domains:      nonNil(cfg.Site.Domains),
		Certificates: certificatesView(snap.Certificates, now),
		Routes:       routesView(cfg, snap.Upstreams, w),
		Traffic:      trafficView(w),
		Backup:       withRemote(backupView(snap.Backup, now), snap.BackupRemote, now),
		Checks:       checksView(cfg, snap.Checks, s.Health()),
		Alerts:       alertsView(cfg.Alerts, snap.Alerts),
		Limits:       snap.Limits,
		Logs:         s.logSinkView(),
		Cluster:      snap.Cluster,
	}
	st.Assess(now)
	return st
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func certificatesView(cs []status.Certificate, now time.Time) []admin.Certificate {
	out := []admin.Certificate{}
	for _, c := range cs {
		v := admin.Certificate{Domain: c.Domain, Source: c.Source, Issuer: c.Issuer, Error: c.Error,
			NotAfter: admin.TimeOrNil(c.NotAfter), NextRenewal: admin.TimeOrNil(c.NextRenewal)}
		if !c.NotAfter.IsZero() {
			days := math.Round(c.NotAfter.Sub(now).Hours()/24*10) / 10
			v.DaysLeft = &days
		}
		out = append(out, v)
	}
	return out
}

// routesView lists the proxy routes in config order, then static and
// admin, then what no route answered when it had traffic.
func routesView(cfg *config.Config, ups []status.Upstream, w metrics.Window) []admin.Route {
	out := []admin.Route{}
	for _, rc := range cfg.Routes {
		r := admin.Route{Name: rc.Path, Kind: "proxy", Upstreams: []admin.Upstream{}, Traffic: routeTraffic(w, rc.Path)}
		for _, u := range ups {
			if u.Route == rc.Path {
				r.Upstreams = append(r.Upstreams, admin.Upstream{Addr: u.Addr, Up: u.Up, Since: admin.TimeOrNil(u.Since), LastError: u.LastError})
			}
		}
		out = append(out, r)
	}
	for _, kind := range []string{"static", "admin"} {
		out = append(out, admin.Route{Name: kind, Kind: kind, Upstreams: []admin.Upstream{}, Traffic: routeTraffic(w, kind)})
	}
	if c := w.Routes[metrics.Unrouted]; c.Requests > 0 {
		out = append(out, admin.Route{Name: metrics.Unrouted, Kind: metrics.Unrouted, Upstreams: []admin.Upstream{},
			Traffic: routeTraffic(w, metrics.Unrouted)})
	}
	return out
}

func routeTraffic(w metrics.Window, name string) admin.RouteTraffic {
	c := w.Routes[name]
	return admin.RouteTraffic{
		Requests: c.Requests, RequestsPerSecond: round3(w.PerSecond(c.Requests)),
		Errors5xx: c.Errors5xx, ErrorRate5xx: round3(c.ErrorRate()),
		LatencyMeanMS: millis(c.Mean()), LatencyP50MS: millis(c.Quantile(0.5)), LatencyP95MS: millis(c.Quantile(0.95)),
	}
}

func trafficView(w metrics.Window) admin.Traffic {
	t := admin.Traffic{
		WindowSeconds: math.Round(w.Seconds()), SlotSeconds: int(metrics.SlotDuration / time.Second),
		Requests: w.Total.Requests, RequestsPerSecond: round3(w.PerSecond(w.Total.Requests)),
		Errors5xx: w.Total.Errors5xx, ErrorRate5xx: round3(w.Total.ErrorRate()),
		Series: make([]admin.TrafficBin, 0, len(w.Series)),
	}
	for _, b := range w.Series {
		t.Series = append(t.Series, admin.TrafficBin{Start: b.Start.UTC(), Requests: b.Requests, Errors5xx: b.Errors5xx})
	}
	return t
}

func backupView(b status.Backup, now time.Time) admin.Backup {
	v := admin.Backup{
		Configured: b.Configured, LastSuccess: admin.TimeOrNil(b.LastSuccess), LastSizeBytes: b.LastSizeBytes,
		LastDurationSeconds: round3(b.LastDuration.Seconds()), LastID: b.LastBackupID,
		LastVerifyAt: admin.TimeOrNil(b.LastVerified), LastVerifyOK: b.LastVerifyOK,
		LastVerifySuccess: admin.TimeOrNil(b.LastVerifySuccess), LastVerifyDetail: b.LastVerifyDetail,
		LastAttempt: admin.TimeOrNil(b.LastAttempt), LastError: b.LastError, NextRun: admin.TimeOrNil(b.NextRun),
	}
	if !b.LastSuccess.IsZero() {
		age := int64(now.Sub(b.LastSuccess).Seconds())
		v.LastSuccessAgeSecs = &age
		v.Verified = !b.LastVerifySuccess.IsZero() && !b.LastVerifySuccess.Before(b.LastSuccess)
	}
	return v
}

// checksView lists the checks of the registry, then configured checks
// that have not reported yet (pending), each with its history when the
// health monitor keeps one.
func checksView(cfg *config.Config, cs []status.Check, mon *health.Monitor) []admin.Check {
	out := []admin.Check{}
	seen := map[string]bool{}
	for _, c := range cs {
		seen[c.Name] = true
		v := admin.Check{Name: c.Name, Kind: c.Kind, State: "down", LastError: c.LastError,
			Since: admin.TimeOrNil(c.Since), LastRun: admin.TimeOrNil(c.LastRun),
			DurationMS: millis(c.Duration), History: checkHistory(mon, c.Name)}
		switch {
		case c.LastRun.IsZero():
			v.State, v.Since = "pending", nil
		case c.Up:
			v.State = "up"
		}
		out = append(out, v)
	}
	for _, c := range cfg.Checks {
		if !seen[c.Name] {
			out = append(out, admin.Check{Name: c.Name, Kind: c.Kind(), State: "pending"})
		}
	}
	return out
}

// checkHistory is the uptime history of a check, or nil when there is no
// monitor or no sample yet.
func checkHistory(mon *health.Monitor, name string) *admin.CheckHistory {
	if mon == nil {
		return nil
	}
	h := &admin.CheckHistory{
		Uptime24h: percentOrNil(mon.Uptime(name, 24*time.Hour)),
		Uptime7d:  percentOrNil(mon.Uptime(name, 7*24*time.Hour)),
		Uptime30d: percentOrNil(mon.Uptime(name, 30*24*time.Hour)),
	}
	sampled := h.Uptime30d != nil
	for _, b := range mon.Strip24h(name) {
		bar := admin.HistoryBar{Start: b.Start.UTC(), SpanSeconds: int64(b.Span / time.Second)}
		if r := b.Ratio(); r >= 0 {
			bar.Uptime = percentOrNil(100 * r)
			sampled = true
		}
		h.Bars24h = append(h.Bars24h, bar)
	}
	if !sampled {
		return nil
	}
	return h
}

// percentOrNil rounds p to two decimals; negative (no data) is nil.
func percentOrNil(p float64) *float64 {
	if p < 0 {
		return nil
	}
	v := math.Round(p*100) / 100
	return &v
}

func alertsView(cfg config.Alerts, as []status.Alert) admin.Alerts {
	v := admin.Alerts{Channels: []string{}, Recent: make([]admin.Alert, 0, len(as))}
	if cfg.Email != nil {
		v.Channels = append(v.Channels, "email")
	}
	if cfg.Telegram != nil {
		v.Channels = append(v.Channels, "telegram")
	}
	if cfg.Webhook != nil {
		v.Channels = append(v.Channels, "webhook")
	}
	for i := len(as) - 1; i >= 0; i-- {
		a := as[i]
		v.Recent = append(v.Recent, admin.Alert{At: a.At.UTC(), Check: a.Check, State: a.State, Channel: a.Channel, OK: a.OK, Error: a.Error})
	}
	return v
}

func millis(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
