package admin

import (
	"fmt"
	"time"
)

// Thresholds of Assess.
const (
	// certRedDays: a certificate this close to expiry is red (the
	// internal CA's week-long certificates: one day).
	certRedDays         = 7
	internalCertRedDays = 1
	// certFileAmberDays: a bring-your-own certificate this close to
	// expiry is amber (edge cannot renew it).
	certFileAmberDays = 21
	// renewalOverdue: an ACME certificate not renewed this long after its
	// renewal window opened is amber.
	renewalOverdue = 7 * 24 * time.Hour
	// trafficMinRequests: below this many requests in the window the
	// 5xx rate says nothing.
	trafficMinRequests = 20
	errorRateAmber     = 0.05
	errorRateRed       = 0.25
	// backupAmberAge, backupRedAge: age of the newest good backup (a
	// daily schedule plus slack).
	backupAmberAge = 26 * time.Hour
	backupRedAge   = 50 * time.Hour
	// backupOverdue: a scheduled backup that has not started this long
	// after its time is amber.
	backupOverdue = time.Hour
	// checkPendingGrace: a configured check without a result this long
	// after start is amber.
	checkPendingGrace = 2 * time.Minute
)

// Assess sets s.State and s.Problems from the rest of s, as of now. The
// rules are listed in docs/status-json.md.
func (s *Status) Assess(now time.Time) {
	a := assessor{now: now, state: Green}
	a.certificates(s.Certificates)
	a.routes(s.Routes)
	a.traffic(s.Traffic)
	a.backup(s.Backup)
	a.remote(s.Backup.Remote)
	a.checks(s.Checks, now.Sub(s.StartedAt))
	a.cluster(s.Cluster)
	if r := s.Alerts.Recent; len(r) > 0 && !r[0].OK {
		a.add(Amber, "alert", "the last alert on %s could not be sent: %s", r[0].Channel, orUnknown(r[0].Error))
	}
	if s.LastError != "" {
		a.add(Amber, "config", "the last reload was refused: %s", s.LastError)
	}
	for _, w := range s.Warnings {
		a.add(Amber, "self-check", "%s", w)
	}
	s.State, s.Problems = a.state, a.problems
	if s.Problems == nil {
		s.Problems = []Problem{}
	}
}

type assessor struct {
	now      time.Time
	state    string
	problems []Problem
}

func (a *assessor) add(level, component, format string, args ...any) {
	a.problems = append(a.problems, Problem{Level: level, Component: component, Message: fmt.Sprintf(format, args...)})
	if a.state != Red {
		a.state = level
	}
}

func (a *assessor) certificates(cs []Certificate) {
	for _, c := range cs {
		if c.NotAfter == nil {
			a.add(Red, "certificate", "%s has no certificate: %s", c.Domain, orUnknown(c.Error))
			continue
		}
		left := c.NotAfter.Sub(a.now)
		redDays := certRedDays
		if c.Source == "internal" {
			redDays = internalCertRedDays
		}
		switch {
		case left <= 0:
			a.add(Red, "certificate", "the certificate of %s expired on %s", c.Domain, c.NotAfter.Format(time.DateOnly))
		case left < time.Duration(redDays)*24*time.Hour:
			a.add(Red, "certificate", "the certificate of %s expires in %s", c.Domain, Human(left))
		case c.Source == "file" && left < certFileAmberDays*24*time.Hour:
			a.add(Amber, "certificate", "the certificate file of %s expires in %s (edge does not renew files: replace them)", c.Domain, Human(left))
		case c.NextRenewal != nil && a.now.Sub(*c.NextRenewal) > renewalOverdue:
			a.add(Amber, "certificate", "the certificate of %s is overdue for renewal since %s", c.Domain, c.NextRenewal.Format(time.DateOnly))
		case c.Error != "":
			a.add(Amber, "certificate", "renewing the certificate of %s failed: %s", c.Domain, c.Error)
		}
	}
}

func (a *assessor) routes(rs []Route) {
	for _, r := range rs {
		down := 0
		for _, u := range r.Upstreams {
			if !u.Up {
				down++
			}
		}
		switch {
		case down == 0:
		case down == len(r.Upstreams):
			a.add(Red, "upstream", "route %s: every upstream is down", r.Name)
		default:
			a.add(Amber, "upstream", "route %s: %d of %d upstreams down", r.Name, down, len(r.Upstreams))
		}
	}
}

func (a *assessor) traffic(t Traffic) {
	if t.Requests < trafficMinRequests {
		return
	}
	msg := "%.1f%% of the requests of the last %s answered 5xx"
	window := Human(time.Duration(t.WindowSeconds * float64(time.Second)))
	switch {
	case t.ErrorRate5xx >= errorRateRed:
		a.add(Red, "traffic", msg, 100*t.ErrorRate5xx, window)
	case t.ErrorRate5xx >= errorRateAmber:
		a.add(Amber, "traffic", msg, 100*t.ErrorRate5xx, window)
	}
}

func (a *assessor) backup(b Backup) {
	if !b.Configured {
		return
	}
	if b.LastError != "" {
		a.add(Red, "backup", "the last backup failed: %s", b.LastError)
	}
	if b.LastVerifyAt != nil && !b.LastVerifyOK {
		a.add(Red, "backup", "the last backup verification failed: %s", orUnknown(b.LastVerifyDetail))
	}
	switch {
	case b.LastSuccess == nil:
		a.add(Amber, "backup", "no backup has succeeded yet")
	case a.now.Sub(*b.LastSuccess) > backupRedAge:
		a.add(Red, "backup", "the last good backup is %s old", Human(a.now.Sub(*b.LastSuccess)))
	case a.now.Sub(*b.LastSuccess) > backupAmberAge:
		a.add(Amber, "backup", "the last good backup is %s old", Human(a.now.Sub(*b.LastSuccess)))
	}
	if b.NextRun != nil && a.now.Sub(*b.NextRun) > backupOverdue {
		a.add(Amber, "backup", "the backup scheduled for %s has not started", b.NextRun.Format(time.RFC3339))
	}
}

func (a *assessor) checks(cs []Check, uptime time.Duration) {
	for _, c := range cs {
		switch {
		case c.State == "down":
			a.add(Red, "check", "check %s is down: %s", c.Name, orUnknown(c.LastError))
		case c.State == "pending" && uptime > checkPendingGrace:
			a.add(Amber, "check", "check %s has not reported a result", c.Name)
		}
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "no detail"
	}
	return s
}
