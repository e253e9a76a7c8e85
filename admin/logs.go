package admin

import "time"

// LogSink is the state of log shipping ([logs]): where lines go, whether
// the collector is reachable, and the counters behind the edge_log_*
// metrics.
type LogSink struct {
	Remote string `json:"remote"`
	// State is "connected" or "down" (never reached yet, or lost).
	State string `json:"state"`
	// Since is when the state began (for a collector never reached, when
	// edge started).
	Since     *time.Time `json:"since"`
	LastError string     `json:"last_error,omitempty"`
	LastSent  *time.Time `json:"last_sent"`
	Shipped   uint64     `json:"shipped"`
	Dropped   uint64     `json:"dropped"`
	// SpooledBytes wait on disk for the collector.
	SpooledBytes int64 `json:"spooled_bytes"`
	// AlertAfterSeconds is how long the collector may be down before the
	// "logs" check fails and alerts.
	AlertAfterSeconds int64 `json:"alert_after_seconds"`
}
