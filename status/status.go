// Package status holds the facts the admin page, "edge status", the
// systemd STATUS= line, metrics and alerts all show: small value structs
// and a concurrency-safe Registry that producers write and readers copy.
// It imports none of edge's capability packages, so they can all use it
// without importing each other.
package status

import (
	"sort"
	"sync"
	"time"
)

// Upstream is one proxy backend as the proxy sees it.
type Upstream struct {
	Route     string    `json:"route"`
	Addr      string    `json:"addr"`
	Up        bool      `json:"up"`
	Since     time.Time `json:"since"`
	LastError string    `json:"last_error,omitempty"`
}

// Certificate is the certificate served for one domain.
type Certificate struct {
	Domain      string    `json:"domain"`
	Source      string    `json:"source"` // acme | internal | file
	Issuer      string    `json:"issuer"`
	NotAfter    time.Time `json:"not_after"`
	NextRenewal time.Time `json:"next_renewal,omitempty"`
	Error       string    `json:"error,omitempty"` // last obtain/renew error
}

// Backup is the state of the backup worker.
type Backup struct {
	Configured       bool          `json:"configured"`
	LastSuccess      time.Time     `json:"last_success,omitempty"`
	LastAttempt      time.Time     `json:"last_attempt,omitempty"`
	LastSizeBytes    int64         `json:"last_size_bytes"`
	LastDuration     time.Duration `json:"last_duration_ns"`
	LastVerified     time.Time     `json:"last_verified,omitempty"`
	LastVerifyOK     bool          `json:"last_verify_ok"`
	LastError        string        `json:"last_error,omitempty"`
	NextRun          time.Time     `json:"next_run,omitempty"`
	LastBackupID     string        `json:"last_backup_id,omitempty"`
	LastVerifyDetail string        `json:"last_verify_detail,omitempty"`
	// LastVerifySuccess is when a verification last passed (LastVerified
	// is the last attempt, passed or not); zero if none did.
	LastVerifySuccess time.Time `json:"last_verify_success,omitempty"`
}

// Check is the state of one health check.
type Check struct {
	Name      string        `json:"name"`
	Kind      string        `json:"kind"` // http | tcp | postgres | disk | cert | backup | upstream ...
	Up        bool          `json:"up"`
	Since     time.Time     `json:"since"`
	LastRun   time.Time     `json:"last_run"`
	Duration  time.Duration `json:"duration_ns"`
	LastError string        `json:"last_error,omitempty"`
}

// Alert is one alert sent (or attempted) on one channel.
type Alert struct {
	At      time.Time `json:"at"`
	Check   string    `json:"check"`
	State   string    `json:"state"` // down | up | repeat | manual
	Channel string    `json:"channel"`
	OK      bool      `json:"ok"`
	Error   string    `json:"error,omitempty"`
}

// maxAlerts bounds the alert history kept in memory.
const maxAlerts = 50

// Registry is the shared, concurrency-safe store. The zero value is not
// usable; use New.
type Registry struct {
	mu        sync.RWMutex
	upstreams map[string]Upstream // by route + " " + addr
	certs     map[string]Certificate
	backup    Backup
	remote    *RemoteBackup // nil without [backup.remote]
	checks    map[string]Check
	alerts    []Alert
	limits    Limits
	cluster   *Cluster // nil without [cluster]
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{upstreams: map[string]Upstream{}, certs: map[string]Certificate{}, checks: map[string]Check{}}
}

// SetUpstream records an upstream's state.
func (r *Registry) SetUpstream(u Upstream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.upstreams[u.Route+" "+u.Addr] = u
}

// ReplaceUpstreams drops every upstream and records us (after a reload).
func (r *Registry) ReplaceUpstreams(us []Upstream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.upstreams = make(map[string]Upstream, len(us))
	for _, u := range us {
		r.upstreams[u.Route+" "+u.Addr] = u
	}
}

// SetCertificate records the certificate of a domain.
func (r *Registry) SetCertificate(c Certificate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.certs[c.Domain] = c
}

// ReplaceCertificates drops every certificate and records cs (after a
// reload, domains that are no longer configured disappear).
func (r *Registry) ReplaceCertificates(cs []Certificate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.certs = make(map[string]Certificate, len(cs))
	for _, c := range cs {
		r.certs[c.Domain] = c
	}
}

// SetBackup records the backup worker's state.
func (r *Registry) SetBackup(b Backup) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.backup = b
}

// SetCheck records a check's state.
func (r *Registry) SetCheck(c Check) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks[c.Name] = c
}

// AddAlert appends to the bounded alert history.
func (r *Registry) AddAlert(a Alert) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, a)
	if len(r.alerts) > maxAlerts {
		r.alerts = append([]Alert(nil), r.alerts[len(r.alerts)-maxAlerts:]...)
	}
}

// Snapshot is a copy of everything in the registry, sorted for display.
type Snapshot struct {
	Upstreams    []Upstream    `json:"upstreams"`
	Certificates []Certificate `json:"certificates"`
	Backup       Backup        `json:"backup"`
	BackupRemote *RemoteBackup `json:"backup_remote,omitempty"`
	Checks       []Check       `json:"checks"`
	Alerts       []Alert       `json:"alerts"`
	Limits       Limits        `json:"limits"`
	Cluster      *Cluster      `json:"cluster,omitempty"`
}

// Snapshot copies the registry.
func (r *Registry) Snapshot() Snapshot {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := Snapshot{Backup: r.backup, Alerts: append([]Alert(nil), r.alerts...), Limits: r.limits, Cluster: r.clusterCopy()}
	if r.remote != nil {
		rb := *r.remote
		s.BackupRemote = &rb
	}
	for _, u := range r.upstreams {
		s.Upstreams = append(s.Upstreams, u)
	}
	for _, c := range r.certs {
		s.Certificates = append(s.Certificates, c)
	}
	for _, c := range r.checks {
		s.Checks = append(s.Checks, c)
	}
	sort.Slice(s.Upstreams, func(i, j int) bool {
		a, b := s.Upstreams[i], s.Upstreams[j]
		return a.Route < b.Route || a.Route == b.Route && a.Addr < b.Addr
	})
	sort.Slice(s.Certificates, func(i, j int) bool { return s.Certificates[i].Domain < s.Certificates[j].Domain })
	sort.Slice(s.Checks, func(i, j int) bool { return s.Checks[i].Name < s.Checks[j].Name })
	return s
}
