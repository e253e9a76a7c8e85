package server

import (
	"testing"
	"time"

	"github.com/gitcourse/edge/config"
	"github.com/gitcourse/edge/status"
)

func TestBackupViewVerified(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	done := now.Add(-9 * time.Hour)
	tests := []struct {
		name     string
		b        status.Backup
		verified bool
	}{
		{"verified after the dump", status.Backup{Configured: true, LastSuccess: done, LastVerifySuccess: done.Add(time.Minute)}, true},
		{"verification older than the newest backup", status.Backup{Configured: true, LastSuccess: done, LastVerifySuccess: done.Add(-24 * time.Hour)}, false},
		{"never verified", status.Backup{Configured: true, LastSuccess: done}, false},
		{"no backup", status.Backup{Configured: true}, false},
	}
	for _, tt := range tests {
		v := backupView(tt.b, now)
		if v.Verified != tt.verified {
			t.Errorf("%s: verified %v, want %v", tt.name, v.Verified, tt.verified)
		}
		if tt.b.LastSuccess.IsZero() != (v.LastSuccess == nil && v.LastSuccessAgeSecs == nil) {
			t.Errorf("%s: last success %v age %v", tt.name, v.LastSuccess, v.LastSuccessAgeSecs)
		}
	}
	if v := backupView(status.Backup{Configured: true, LastSuccess: done}, now); *v.LastSuccessAgeSecs != 9*3600 {
		t.Errorf("age %d, want 9 h", *v.LastSuccessAgeSecs)
	}
}

func TestChecksViewAddsPendingConfiguredChecks(t *testing.T) {
	now := time.Now()
	cfg := &config.Config{Checks: []config.Check{{Name: "api", HTTP: "http://x"}, {Name: "db", Postgres: "postgres://x"}}}
	got := checksView(cfg, []status.Check{
		{Name: "api", Kind: "http", Up: true, LastRun: now, Since: now},
		{Name: "cert:a.test", Kind: "cert", Since: now}, // published, not run yet
	}, nil)
	want := []struct{ name, kind, state string }{{"api", "http", "up"}, {"cert:a.test", "cert", "pending"}, {"db", "postgres", "pending"}}
	if len(got) != len(want) {
		t.Fatalf("%d checks, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Name != w.name || got[i].Kind != w.kind || got[i].State != w.state || got[i].History != nil {
			t.Errorf("check %d: %+v, want %s %s %s without history", i, got[i], w.name, w.kind, w.state)
		}
	}
	if got[1].Since != nil {
		t.Error("a pending check has no since")
	}
}

func TestPercentOrNil(t *testing.T) {
	if percentOrNil(-1) != nil {
		t.Error("-1 (no data) must be null")
	}
	if p := percentOrNil(99.12345); p == nil || *p != 99.12 {
		t.Errorf("99.12345 → %v, want 99.12", p)
	}
}
