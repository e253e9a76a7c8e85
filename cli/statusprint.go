package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gitcourse/edge/admin"
)

// palette colours the terminal summary; its zero value prints plain text.
type palette struct{ on bool }

// colorsFor colours output only on a terminal (a character device other
// than /dev/null), and never with NO_COLOR set or TERM=dumb.
func colorsFor(out io.Writer) palette {
	f, ok := out.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return palette{}
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return palette{}
	}
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(fi, null) {
		return palette{}
	}
	return palette{on: true}
}

func (p palette) paint(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// level paints s in the colour of a level: green/up, amber/pending, red/down.
func (p palette) level(level, s string) string {
	switch level {
	case admin.Green, "up":
		return p.paint("32", s)
	case admin.Amber, "pending":
		return p.paint("33", s)
	case admin.Red, "down":
		return p.paint("1;31", s)
	}
	return s
}

func (p palette) dim(s string) string { return p.paint("2", s) }

// dot is a coloured bullet on a terminal, nothing otherwise.
func (p palette) dot(level string) string {
	if !p.on {
		return ""
	}
	return p.level(level, "●") + " "
}

// printStatus writes the compact terminal summary of st.
func printStatus(out io.Writer, st admin.Status, p palette) {
	line := func(label, format string, args ...any) {
		fmt.Fprintf(out, "%-10s %s\n", label, fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(out, "edge %s  %s  up %s  reloads %d  config %s\n", st.Version,
		p.level(st.State, strings.ToUpper(st.State)), admin.Human(time.Duration(st.UptimeSeconds)*time.Second), st.Reloads, st.Config)
	for _, pr := range st.Problems {
		fmt.Fprintf(out, "  %s %s\n", p.level(pr.Level, "! "+pr.Component+":"), pr.Message)
	}
	line("listening", "http %s  https %s  h3 %s", orDash(st.Listeners["http"]), orDash(st.Listeners["https"]), orDash(st.Listeners["h3"]))
	line("domains", "%s", strings.Join(st.Domains, ", "))
	printCertificates(line, st, p)
	printRoutes(out, line, st, p)
	printBackup(line, st.Backup, st.GeneratedAt, p)
	printLogSink(line, st.Logs, st.GeneratedAt, p)
	printChecks(line, st.Checks, p)
	printAlerts(line, st.Alerts, st.GeneratedAt, p)
	if st.LastError != "" {
		line("reload", "%s", p.level(admin.Amber, "last reload refused: "+st.LastError))
	}
}

type lineFunc func(label, format string, args ...any)

func printCertificates(line lineFunc, st admin.Status, p palette) {
	if len(st.Certificates) == 0 {
		line("certs", "%s", p.dim("not configured"))
	}
	for _, c := range st.Certificates {
		if c.NotAfter == nil {
			line("cert", "%s%s  %s  %s", p.dot(admin.Red), c.Domain, c.Source, p.level(admin.Red, "no certificate: "+c.Error))
			continue
		}
		renews := "by hand"
		if c.NextRenewal != nil {
			renews = c.NextRenewal.Format(time.DateOnly)
		}
		line("cert", "%s  %s  %s  expires %s (%.1f d)  renews %s", c.Domain, c.Source, c.Issuer,
			c.NotAfter.Format(time.DateOnly), deref(c.DaysLeft), renews)
	}
}

func printRoutes(out io.Writer, line lineFunc, st admin.Status, p palette) {
	t := st.Traffic
	line("traffic", "%.2f req/s  5xx %.1f%%  %d requests in the last %s", t.RequestsPerSecond, 100*t.ErrorRate5xx,
		t.Requests, admin.Human(time.Duration(t.WindowSeconds)*time.Second))
	for _, r := range st.Routes {
		if r.Kind != "proxy" && r.Traffic.Requests == 0 {
			continue
		}
		line("route", "%s  %s  %.2f req/s  5xx %.1f%%  p95 %.1f ms", r.Name, p.dim(r.Kind),
			r.Traffic.RequestsPerSecond, 100*r.Traffic.ErrorRate5xx, r.Traffic.LatencyP95MS)
		for _, u := range r.Upstreams {
			state := "up"
			if !u.Up {
				state = "down"
			}
			detail := ""
			if u.LastError != "" && !u.Up {
				detail = "  " + u.LastError
			}
			fmt.Fprintf(out, "%-10s   %s%s  %s%s\n", "", p.dot(state), u.Addr, p.level(state, state), detail)
		}
	}
}

func printBackup(line lineFunc, b admin.Backup, now time.Time, p palette) {
	switch {
	case !b.Configured:
		line("backup", "%s", p.dim("not configured"))
		return
	case b.LastSuccess == nil:
		line("backup", "%s", p.level(admin.Amber, "no backup yet"))
	default:
		verified := p.level(admin.Green, "verified")
		if !b.Verified {
			verified = p.level(admin.Amber, "not verified")
		}
		line("backup", "last %s ago  %s  took %s  %s", admin.Human(now.Sub(*b.LastSuccess).Round(time.Second)),
			admin.Bytes(b.LastSizeBytes), admin.Human(time.Duration(b.LastDurationSeconds*float64(time.Second))), verified)
	}
	if b.LastError != "" {
		line("", "%s", p.level(admin.Red, "last error: "+b.LastError))
	}
	if b.NextRun != nil {
		line("", "next %s", b.NextRun.Local().Format("2006-01-02 15:04 MST"))
	}
}

func printChecks(line lineFunc, cs []admin.Check, p palette) {
	if len(cs) == 0 {
		line("checks", "%s", p.dim("not configured"))
	}
	for _, c := range cs {
		uptime := "no history yet"
		if h := c.History; h != nil && h.Uptime24h != nil {
			uptime = fmt.Sprintf("24h %.2f%%", *h.Uptime24h)
		}
		detail := ""
		if c.LastError != "" {
			detail = "  " + c.LastError
		}
		line("check", "%s%s  %s  %s%s", p.dot(c.State), c.Name, p.level(c.State, c.State), p.dim(uptime), detail)
	}
}

func printAlerts(line lineFunc, a admin.Alerts, now time.Time, p palette) {
	if len(a.Channels) == 0 {
		line("alerts", "%s", p.dim("not configured"))
	} else {
		line("alerts", "via %s", strings.Join(a.Channels, ", "))
	}
	for _, al := range a.Recent[:min(len(a.Recent), 3)] {
		sent := "sent"
		if !al.OK {
			sent = p.level(admin.Red, "not sent: "+al.Error)
		}
		line("", "%s ago  %s %s on %s, %s", admin.Human(now.Sub(al.At).Round(time.Second)), al.Check, al.State, al.Channel, sent)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func deref(f *float64) float64 {
	if f == nil {
		return 0
	}
	return *f
}
