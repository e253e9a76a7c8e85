package admin

import (
	"fmt"
	"html/template"
	"strings"
	"time"
)

// view is what the status page template renders.
type view struct {
	Status
	Prefix  string
	Refresh int
	// UptimeD and WindowD are durations for the template's human.
	UptimeD, WindowD time.Duration
	Spark            []sparkBar
	now              time.Time
}

func newView(prefix string, st Status) view {
	now := st.GeneratedAt
	if now.IsZero() {
		now = time.Now()
	}
	return view{
		Status: st, Prefix: prefix, Refresh: RefreshSeconds, now: now,
		UptimeD: time.Duration(st.UptimeSeconds) * time.Second,
		WindowD: (time.Duration(st.Traffic.WindowSeconds) * time.Second).Round(time.Second),
		Spark:   spark(st.Traffic),
	}
}

// RecentAlerts are at most the ten newest alerts.
func (v view) RecentAlerts() []Alert { return v.Alerts.Recent[:min(len(v.Alerts.Recent), 10)] }

// sparkBar is one slot of the traffic chart, in a 300×48 view box.
type sparkBar struct {
	X, Y, W, H float64
	EY, EH     float64 // the 5xx part, drawn over the bar's bottom
	Title      string
}

func spark(t Traffic) []sparkBar {
	const width, height = 300.0, 48.0
	n := len(t.Series)
	if n == 0 {
		return nil
	}
	var peak uint64 = 1
	for _, b := range t.Series {
		peak = max(peak, b.Requests)
	}
	slot := width / float64(n)
	out := make([]sparkBar, 0, n)
	for i, b := range t.Series {
		h := height * float64(b.Requests) / float64(peak)
		if b.Requests > 0 {
			h = max(h, 1.5) // a single request still shows
		}
		eh := height * float64(b.Errors5xx) / float64(peak)
		if b.Errors5xx > 0 {
			eh = max(eh, 1.5)
		}
		out = append(out, sparkBar{
			X: round2(float64(i) * slot), W: round2(slot * 0.8),
			Y: round2(height - h), H: round2(h), EY: round2(height - eh), EH: round2(eh),
			Title: fmt.Sprintf("%s: %d requests, %d 5xx", b.Start.UTC().Format("15:04:05"), b.Requests, b.Errors5xx),
		})
	}
	return out
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// stripBar is one bar of a check's 24 h strip, in a 240×18 view box.
type stripBar struct {
	X, W  float64
	Class string
	Title string
}

func strip(h *CheckHistory) []stripBar {
	out := make([]stripBar, 0, len(h.Bars24h))
	slot := 240 / float64(max(len(h.Bars24h), 1))
	for i, b := range h.Bars24h {
		when := b.Start.UTC().Format("Jan 2 15:04")
		sb := stripBar{X: round2(float64(i) * slot), W: round2(slot * 0.85), Class: "h-none", Title: when + ": no data"}
		if b.Uptime != nil {
			sb.Title = fmt.Sprintf("%s: %.1f%% up", when, *b.Uptime)
			switch u := *b.Uptime; {
			case u >= 100:
				sb.Class = "h-full"
			case u >= 90:
				sb.Class = "h-part"
			default:
				sb.Class = "h-bad"
			}
		}
		out = append(out, sb)
	}
	return out
}

// CertLevel is the colour of a certificate's dot: what Assess makes of it.
func (v view) CertLevel(c Certificate) string {
	probe := Status{Certificates: []Certificate{c}, StartedAt: v.now}
	probe.Assess(v.now)
	return probe.State
}

// Ago is how long before the snapshot t was.
func (v view) Ago(t *time.Time) string { return Human(v.now.Sub(*t).Round(time.Second)) }

// Until says how far t is from the snapshot: "in 3d 4h", or "5m ago"
// when it has passed.
func (v view) Until(t *time.Time) string {
	d := t.Sub(v.now).Round(time.Minute)
	if d < 0 {
		return Human(-d) + " ago"
	}
	return "in " + Human(d)
}

var funcs = template.FuncMap{
	"upper": strings.ToUpper,
	"join":  strings.Join,
	"human": Human,
	"bytes": Bytes,
	"seconds": func(s float64) time.Duration {
		return time.Duration(s * float64(time.Second)).Round(time.Second)
	},
	"ptr":   func(t time.Time) *time.Time { return &t },
	"clock": func(t time.Time) string { return t.UTC().Format("15:04:05") },
	"date": func(t *time.Time) string {
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"day": func(t *time.Time) string { return t.UTC().Format(time.DateOnly) },
	"pct": func(ratio float64) string { return fmt.Sprintf("%.1f%%", 100*ratio) },
	"ms": func(ms float64) string {
		if ms == 0 {
			return "–"
		}
		if ms < 10 {
			return fmt.Sprintf("%.1f ms", ms)
		}
		return fmt.Sprintf("%.0f ms", ms)
	},
	"uptime": func(p *float64) string {
		if p == nil {
			return "–"
		}
		return fmt.Sprintf("%.2f%%", *p)
	},
	"strip": strip,
}
