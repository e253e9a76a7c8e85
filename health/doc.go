// Package health runs edge's health checks and raises alerts.
//
// Each check (http, tcp, postgres, disk, a route's traffic, and the
// built-ins: certificate expiry per domain, backup freshness, upstreams
// ejected by the proxy) runs in its own goroutine on its own interval,
// with a timeout of at most 80% of the interval and a little jitter; none
// of it is on the request path. A state machine per check turns results
// into up/down transitions: down after Failures failed runs in a row, up
// again after Successes passed runs in a row, a number doubled while the
// check flaps. Transitions are logged with the check's error, written to
// the uptime history (package history) and sent through the alert
// channels (package alert); a down check is reported again every
// alerts.repeat, and its recovery is reported as "resolved".
//
// The Monitor publishes every check's state to the shared status
// registry, keeps delivery counters per channel, pings an optional
// dead man's switch while nothing is down, and answers uptime questions
// for the admin page.
package health
