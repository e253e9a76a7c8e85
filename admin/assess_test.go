package admin

import (
	"strings"
	"testing"
	"time"
)

func TestAssess(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name      string
		change    func(*Status)
		state     string
		component string // of the problem expected ("" for none)
		message   string // part of its message
	}{
		{"nothing to report", func(*Status) {}, Green, "", ""},
		{"certificate missing", func(s *Status) {
			s.Certificates = []Certificate{{Domain: "a.test", Source: "acme", Error: "CA unreachable"}}
		}, Red, "certificate", "a.test has no certificate: CA unreachable"},
		{"certificate expired", func(s *Status) {
			s.Certificates = []Certificate{{Domain: "a.test", Source: "acme", NotAfter: at(-time.Hour)}}
		}, Red, "certificate", "expired"},
		{"certificate expires within a week", func(s *Status) {
			s.Certificates = []Certificate{{Domain: "a.test", Source: "acme", NotAfter: at(5 * day)}}
		}, Red, "certificate", "expires in 5d"},
		{"internal certificate of a week is fine", func(s *Status) {
			s.Certificates = []Certificate{{Domain: "a.test", Source: "internal", NotAfter: at(5 * day), NextRenewal: at(3 * day)}}
		}, Green, "", ""},
		{"file certificate within three weeks", func(s *Status) {
			s.Certificates = []Certificate{{Domain: "a.test", Source: "file", NotAfter: at(15 * day)}}
		}, Amber, "certificate", "replace them"},
		{"renewal overdue", func(s *Status) {
			s.Certificates = []Certificate{{Domain: "a.test", Source: "acme", NotAfter: at(20 * day), NextRenewal: at(-10 * day)}}
		}, Amber, "certificate", "overdue"},
		{"renewal failing", func(s *Status) {
			s.Certificates = []Certificate{{Domain: "a.test", Source: "acme", NotAfter: at(60 * day), Error: "rate limited"}}
		}, Amber, "certificate", "rate limited"},
		{"every upstream down", func(s *Status) {
			s.Routes = []Route{{Name: "/api/", Upstreams: []Upstream{{Addr: "a"}}}}
		}, Red, "upstream", "every upstream is down"},
		{"one upstream down", func(s *Status) {
			s.Routes = []Route{{Name: "/api/", Upstreams: []Upstream{{Addr: "a"}, {Addr: "b", Up: true}}}}
		}, Amber, "upstream", "1 of 2"},
		{"5xx rate amber", func(s *Status) {
			s.Traffic = Traffic{WindowSeconds: 300, Requests: 100, ErrorRate5xx: 0.06}
		}, Amber, "traffic", "6.0%"},
		{"5xx rate red", func(s *Status) {
			s.Traffic = Traffic{WindowSeconds: 300, Requests: 100, ErrorRate5xx: 0.5}
		}, Red, "traffic", "50.0%"},
		{"5xx of a few requests says nothing", func(s *Status) {
			s.Traffic = Traffic{WindowSeconds: 300, Requests: 3, ErrorRate5xx: 1}
		}, Green, "", ""},
		{"backup not configured", func(s *Status) { s.Backup = Backup{} }, Green, "", ""},
		{"no backup yet", func(s *Status) { s.Backup = Backup{Configured: true} }, Amber, "backup", "no backup"},
		{"backup failed", func(s *Status) {
			s.Backup = Backup{Configured: true, LastSuccess: at(-time.Hour), LastError: "pg_dump: connection refused"}
		}, Red, "backup", "pg_dump"},
		{"verification failed", func(s *Status) {
			s.Backup = Backup{Configured: true, LastSuccess: at(-time.Hour), LastVerifyAt: at(-time.Hour), LastVerifyDetail: "row counts differ"}
		}, Red, "backup", "row counts differ"},
		{"backup a day and a half old", func(s *Status) {
			s.Backup = Backup{Configured: true, LastSuccess: at(-36 * time.Hour)}
		}, Amber, "backup", "1d 12h old"},
		{"backup three days old", func(s *Status) {
			s.Backup = Backup{Configured: true, LastSuccess: at(-72 * time.Hour)}
		}, Red, "backup", "3d old"},
		{"backup overdue", func(s *Status) {
			s.Backup = Backup{Configured: true, LastSuccess: at(-20 * time.Hour), NextRun: at(-2 * time.Hour)}
		}, Amber, "backup", "has not started"},
		{"check down", func(s *Status) {
			s.Checks = []Check{{Name: "db", State: "down", LastError: "timeout"}}
		}, Red, "check", "check db is down: timeout"},
		{"check pending at start", func(s *Status) {
			s.StartedAt = now.Add(-time.Minute)
			s.Checks = []Check{{Name: "db", State: "pending"}}
		}, Green, "", ""},
		{"alert not sent", func(s *Status) {
			s.Alerts.Recent = []Alert{{Channel: "email", Error: "535 auth failed"}}
		}, Amber, "alert", "535"},
		{"reload refused", func(s *Status) { s.LastError = "bad key" }, Amber, "config", "bad key"},
		{"self-check warning", func(s *Status) { s.Warnings = []string{"running as root"} }, Amber, "self-check", "running as root"},
		{"red wins over amber", func(s *Status) {
			s.Warnings = []string{"running as root"}
			s.Checks = []Check{{Name: "db", State: "down"}}
		}, Red, "check", "db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Status{StartedAt: now.Add(-time.Hour)}
			tt.change(&s)
			s.Assess(now)
			if s.State != tt.state {
				t.Errorf("state %q, want %q; problems %+v", s.State, tt.state, s.Problems)
			}
			if tt.component == "" {
				if len(s.Problems) != 0 || s.Problems == nil {
					t.Errorf("problems %+v, want an empty list", s.Problems)
				}
				return
			}
			for _, p := range s.Problems {
				if p.Component == tt.component && strings.Contains(p.Message, tt.message) {
					return
				}
			}
			t.Errorf("no %s problem mentioning %q in %+v", tt.component, tt.message, s.Problems)
		})
	}
}
