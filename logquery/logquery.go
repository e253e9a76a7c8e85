// Package logquery reads edge's own JSON log lines (access lines and
// events, as journald or a file holds them) and filters them for
// "edge logs".
package logquery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Line is one log line with the fields the filters and the table use.
type Line struct {
	// Raw is the JSON object as written, without a journald "<N>" prefix.
	Raw        []byte
	Time       time.Time
	Level      string
	Msg        string
	Component  string
	RequestID  string
	Method     string
	Host       string
	Path       string
	Route      string
	Status     int
	DurationMS float64
	ClientIP   string
}

// Access reports whether the line is an access line.
func (l Line) Access() bool { return l.Component == "access" && l.Msg == "request" }

type wire struct {
	Time       time.Time `json:"time"`
	Level      string    `json:"level"`
	Msg        string    `json:"msg"`
	Component  string    `json:"component"`
	RequestID  string    `json:"request_id"`
	Method     string    `json:"method"`
	Host       string    `json:"host"`
	Path       string    `json:"path"`
	Route      string    `json:"route"`
	Status     int       `json:"status"`
	DurationMS float64   `json:"duration_ms"`
	ClientIP   string    `json:"client_ip"`
}

// Parse decodes one line; ok is false for anything that is not one of
// edge's JSON log lines (journalctl notes, blank lines, other programs).
func Parse(raw []byte) (Line, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 2 && raw[0] == '<' { // journald priority prefix, "<6>{...}"
		if i := bytes.IndexByte(raw, '>'); i > 0 && i <= 3 {
			raw = raw[i+1:]
		}
	}
	if len(raw) == 0 || raw[0] != '{' {
		return Line{}, false
	}
	var w wire
	if err := json.Unmarshal(raw, &w); err != nil || w.Msg == "" {
		return Line{}, false
	}
	return Line{Raw: raw, Time: w.Time, Level: w.Level, Msg: w.Msg, Component: w.Component, RequestID: w.RequestID,
		Method: w.Method, Host: w.Host, Path: w.Path, Route: w.Route, Status: w.Status, DurationMS: w.DurationMS,
		ClientIP: w.ClientIP}, true
}

// Filter selects lines; the zero value selects every line. Status, Route
// and Slow select access lines only.
type Filter struct {
	// StatusLo and StatusHi bound the status (inclusive); 0: any.
	StatusLo, StatusHi int
	// Route is a [[route]] path or route name ("static", "admin"), or a
	// path prefix.
	Route string
	// Since drops lines older than it.
	Since time.Time
	// Request keeps the lines of one request id.
	Request string
	// Slow keeps requests that took at least this long.
	Slow time.Duration
}

// ErrStatus reports a -status value that is not a status or class.
var ErrStatus = errors.New(`not a status: use a code such as "404" or a class such as "5xx"`)

// ParseStatus parses "5xx" (500-599) or "404" into inclusive bounds.
func ParseStatus(s string) (lo, hi int, err error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if len(t) == 3 && strings.HasSuffix(t, "xx") && t[0] >= '1' && t[0] <= '5' {
		lo = int(t[0]-'0') * 100
		return lo, lo + 99, nil
	}
	n, err := strconv.Atoi(t)
	if err != nil || n < 100 || n > 599 {
		return 0, 0, fmt.Errorf("%q: %w", s, ErrStatus)
	}
	return n, n, nil
}

// Match reports whether l passes the filter.
func (f Filter) Match(l Line) bool {
	if !f.Since.IsZero() && l.Time.Before(f.Since) {
		return false
	}
	if f.Request != "" && l.RequestID != f.Request {
		return false
	}
	if f.StatusLo == 0 && f.Route == "" && f.Slow == 0 {
		return true
	}
	if !l.Access() {
		return false
	}
	if f.StatusLo != 0 && (l.Status < f.StatusLo || l.Status > f.StatusHi) {
		return false
	}
	if f.Route != "" && l.Route != f.Route && !strings.HasPrefix(l.Path, f.Route) {
		return false
	}
	return f.Slow == 0 || time.Duration(l.DurationMS*float64(time.Millisecond)) >= f.Slow
}
