package health

import (
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/status"
)

func TestCertExpiry(t *testing.T) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		left    time.Duration
		missing bool
		warn    bool
		fail    string
	}{
		{left: 60 * day},
		{left: 21*day + time.Hour},
		{left: 20 * day, warn: true},
		{left: 7*day + time.Hour, warn: true},
		{left: 6 * day, fail: "expires in 6 days"},
		{left: -time.Hour, fail: "expired at"},
		{missing: true, fail: "no certificate for example.com"},
	}
	for _, tt := range tests {
		c := &CertExpiry{Domain: "example.com", Now: func() time.Time { return now }, Expiry: func() map[string]time.Time {
			if tt.missing {
				return map[string]time.Time{"other.example": now.Add(90 * day)}
			}
			return map[string]time.Time{"example.com": now.Add(tt.left)}
		}}
		err := c.Check(t.Context())
		switch {
		case tt.fail != "":
			if err == nil || IsWarning(err) || !strings.Contains(err.Error(), tt.fail) {
				t.Errorf("left %s: got %v, want failure %q", tt.left, err, tt.fail)
			}
		case tt.warn:
			if !IsWarning(err) {
				t.Errorf("left %s: got %v, want a warning", tt.left, err)
			}
		case err != nil:
			t.Errorf("left %s: got %v, want nil", tt.left, err)
		}
	}
}

func TestBackupFreshness(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		st   status.Backup
		warn bool
		fail string
	}{
		{name: "not configured", st: status.Backup{}},
		{name: "fresh", st: status.Backup{Configured: true, LastSuccess: now.Add(-25 * time.Hour)}},
		{name: "stale", st: status.Backup{Configured: true, LastSuccess: now.Add(-27 * time.Hour)}, fail: "27h0m0s old"},
		{name: "last run failed", st: status.Backup{Configured: true, LastSuccess: now.Add(-time.Hour), LastError: "pg_dump: exit 1"},
			fail: "last backup failed: pg_dump: exit 1"},
		{name: "verification failed", st: status.Backup{Configured: true, LastSuccess: now.Add(-time.Hour),
			LastVerified: now, LastVerifyDetail: "table users: 3 rows, want 4"}, fail: "verification failed"},
		{name: "none yet", st: status.Backup{Configured: true}, warn: true},
	}
	for _, tt := range tests {
		b := &BackupFreshness{State: func() status.Backup { return tt.st }, Now: func() time.Time { return now }}
		err := b.Check(t.Context())
		switch {
		case tt.fail != "":
			if err == nil || IsWarning(err) || !strings.Contains(err.Error(), tt.fail) {
				t.Errorf("%s: got %v, want failure %q", tt.name, err, tt.fail)
			}
		case tt.warn:
			if !IsWarning(err) {
				t.Errorf("%s: got %v, want a warning", tt.name, err)
			}
		case err != nil:
			t.Errorf("%s: got %v, want nil", tt.name, err)
		}
	}
}

func TestUpstreams(t *testing.T) {
	ups := []status.Upstream{{Addr: "127.0.0.1:8000", Up: true}, {Addr: "127.0.0.1:8001", Up: false, LastError: "connection refused"}}
	u := &Upstreams{Route: "/api/", State: func(route string) []status.Upstream {
		if route != "/api/" {
			t.Errorf("route %q", route)
		}
		return ups
	}}
	err := u.Check(t.Context())
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:8001 (connection refused)") || strings.Contains(err.Error(), "8000") {
		t.Errorf("got %v", err)
	}
	ups[1].Up = true
	if err := u.Check(t.Context()); err != nil {
		t.Errorf("all up: %v", err)
	}
}
