package admin

import (
	"time"

	"github.com/gitcourse/edge/status"
)

// Snapshot returns the current status.
type Snapshot func() Status

// SchemaVersion is Status.Schema: it changes only when a field is
// renamed, removed or changes meaning (added fields keep it).
const SchemaVersion = 1

// The overall states, worst last.
const (
	Green = "green"
	Amber = "amber"
	Red   = "red"
)

// Status is what the status page, status.json and "edge status" show.
// Its JSON form is a stable contract documented in docs/status-json.md:
// times are RFC 3339 in UTC, or null when unknown; durations are
// seconds or milliseconds as the field name says.
type Status struct {
	Schema      int       `json:"schema"`
	GeneratedAt time.Time `json:"generated_at"`
	// State is Green, Amber or Red: the worst level among Problems.
	State    string    `json:"state"`
	Problems []Problem `json:"problems"`

	Version       string            `json:"version"`
	StartedAt     time.Time         `json:"started_at"`
	UptimeSeconds int64             `json:"uptime_seconds"`
	Uptime        string            `json:"uptime"`
	Config        string            `json:"config"`
	Listeners     map[string]string `json:"listeners"`
	Reloads       int               `json:"reloads"`
	LastError     string            `json:"last_reload_error,omitempty"`
	Warnings      []string          `json:"warnings"`

	Domains      []string      `json:"domains"`
	Certificates []Certificate `json:"certificates"`
	Routes       []Route       `json:"routes"`
	Traffic      Traffic       `json:"traffic"`
	Backup       Backup        `json:"backup"`
	Checks       []Check       `json:"checks"`
	Alerts       Alerts        `json:"alerts"`
	// Limits are the [[limit]] rules' counters, the bans in force and the
	// clients rejected most.
	Limits status.Limits `json:"limits"`
	// Logs is the log shipping sink; absent without [logs].
	Logs    *LogSink `json:"logs,omitempty"`
	Cluster *Cluster `json:"cluster,omitempty"`
}

// Problem is one reason the state is not green.
type Problem struct {
	// Level is Amber or Red.
	Level string `json:"level"`
	// Component is what it is about: "certificate", "upstream",
	// "traffic", "backup", "check", "config" or "self-check".
	Component string `json:"component"`
	// Message says what is wrong, for a person.
	Message string `json:"message"`
}

// Certificate is the certificate of one site domain.
type Certificate struct {
	Domain      string     `json:"domain"`
	Source      string     `json:"source"` // acme | internal | file
	Issuer      string     `json:"issuer"`
	NotAfter    *time.Time `json:"not_after"`
	NextRenewal *time.Time `json:"next_renewal"`
	DaysLeft    *float64   `json:"days_left"`
	Error       string     `json:"error,omitempty"`
}

// Route is one route with its traffic and, for proxy routes, upstreams.
type Route struct {
	// Name is the route label of metrics: "/api/", "static", "admin".
	Name string `json:"name"`
	// Kind is "proxy", "static" or "admin".
	Kind      string       `json:"kind"`
	Upstreams []Upstream   `json:"upstreams"`
	Traffic   RouteTraffic `json:"traffic"`
}

// Upstream is one backend of a proxy route.
type Upstream struct {
	Addr      string     `json:"addr"`
	Up        bool       `json:"up"`
	Since     *time.Time `json:"since"`
	LastError string     `json:"last_error,omitempty"`
}

// RouteTraffic is a route's share of the traffic window.
type RouteTraffic struct {
	Requests          uint64  `json:"requests"`
	RequestsPerSecond float64 `json:"requests_per_second"`
	Errors5xx         uint64  `json:"errors_5xx"`
	ErrorRate5xx      float64 `json:"error_rate_5xx"`
	LatencyMeanMS     float64 `json:"latency_mean_ms"`
	LatencyP50MS      float64 `json:"latency_p50_ms"`
	LatencyP95MS      float64 `json:"latency_p95_ms"`
}

// Traffic is what the request ring saw over its window.
type Traffic struct {
	WindowSeconds     float64      `json:"window_seconds"`
	SlotSeconds       int          `json:"slot_seconds"`
	Requests          uint64       `json:"requests"`
	RequestsPerSecond float64      `json:"requests_per_second"`
	Errors5xx         uint64       `json:"errors_5xx"`
	ErrorRate5xx      float64      `json:"error_rate_5xx"`
	Series            []TrafficBin `json:"series"`
}

// TrafficBin is one slot of the traffic series.
type TrafficBin struct {
	Start     time.Time `json:"start"`
	Requests  uint64    `json:"requests"`
	Errors5xx uint64    `json:"errors_5xx"`
}

// Backup is the state of the database backups.
type Backup struct {
	Configured          bool       `json:"configured"`
	LastSuccess         *time.Time `json:"last_success"`
	LastSuccessAgeSecs  *int64     `json:"last_success_age_seconds"`
	LastSizeBytes       int64      `json:"last_size_bytes"`
	LastDurationSeconds float64    `json:"last_duration_seconds"`
	LastID              string     `json:"last_id,omitempty"`
	// Verified reports whether a verification passed after the newest
	// backup was written.
	Verified          bool       `json:"verified"`
	LastVerifyAt      *time.Time `json:"last_verify_at"`
	LastVerifyOK      bool       `json:"last_verify_ok"`
	LastVerifySuccess *time.Time `json:"last_verify_success"`
	LastVerifyDetail  string     `json:"last_verify_detail,omitempty"`
	LastAttempt       *time.Time `json:"last_attempt"`
	LastError         string     `json:"last_error,omitempty"`
	NextRun           *time.Time `json:"next_run"`
	// Remote is the off-site copy; null without [backup.remote].
	Remote *BackupRemote `json:"remote"`
}

// Check is one health check.
type Check struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// State is "up", "down" or "pending" (configured, no result yet).
	State      string     `json:"state"`
	Since      *time.Time `json:"since"`
	LastRun    *time.Time `json:"last_run"`
	DurationMS float64    `json:"duration_ms"`
	LastError  string     `json:"last_error,omitempty"`
	// History is null until the health checker keeps one.
	History *CheckHistory `json:"history"`
}

// CheckHistory is the uptime history of one check.
type CheckHistory struct {
	// Uptime24h, Uptime7d and Uptime30d are percentages (0–100), null
	// when the period has no data.
	Uptime24h *float64 `json:"uptime_24h"`
	Uptime7d  *float64 `json:"uptime_7d"`
	Uptime30d *float64 `json:"uptime_30d"`
	// Bars24h cover the last 24 h, oldest first; the last one holds the
	// current minute.
	Bars24h []HistoryBar `json:"bars_24h"`
}

// HistoryBar is one bar of a check's 24 h strip.
type HistoryBar struct {
	Start       time.Time `json:"start"`
	SpanSeconds int64     `json:"span_seconds"`
	// Uptime is the percentage of sampled minutes the check was up,
	// null without samples.
	Uptime *float64 `json:"uptime"`
}

// Alerts are the alert channels and the alerts sent last.
type Alerts struct {
	// Channels lists the configured channels ("email", "telegram",
	// "webhook"); empty when alerts are not configured.
	Channels []string `json:"channels"`
	// Recent are the last alerts, newest first.
	Recent []Alert `json:"recent"`
}

// Alert is one alert sent (or attempted) on one channel.
type Alert struct {
	At      time.Time `json:"at"`
	Check   string    `json:"check"`
	State   string    `json:"state"`
	Channel string    `json:"channel"`
	OK      bool      `json:"ok"`
	Error   string    `json:"error,omitempty"`
}

// TimeOrNil returns &t in UTC, or nil for the zero time.
func TimeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
