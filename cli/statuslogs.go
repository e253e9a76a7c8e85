package cli

import (
	"time"

	"github.com/gitcourse/edge/admin"
)

// printLogSink is the "logs" line of edge status: the collector's state,
// the backlog and the drops ([logs] only).
func printLogSink(line lineFunc, l *admin.LogSink, now time.Time, p palette) {
	if l == nil {
		return
	}
	state := p.level(admin.Green, "connected")
	if l.State != "connected" {
		state = p.level(admin.Amber, "down")
		if l.Since != nil {
			state += " for " + admin.Human(now.Sub(*l.Since).Round(time.Second))
		}
	}
	line("logs", "%s %s  shipped %d  spooled %s  dropped %d", l.Remote, state, l.Shipped, admin.Bytes(l.SpooledBytes), l.Dropped)
	if l.State != "connected" && l.LastError != "" {
		line("", "%s", p.level(admin.Red, "last error: "+l.LastError))
	}
}
