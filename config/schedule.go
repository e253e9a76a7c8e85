package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed backup schedule (backup.schedule): a 5-field cron
// expression (minute hour day-of-month month day-of-week) in a time zone.
// "HH:MM" is the same as "MM HH * * *".
//
// Fields accept "*", numbers, ranges "a-b", steps "*/n", "a-b/n" and "a/n",
// and comma-separated lists of those. Months accept jan-dec and weekdays
// sun-sat (0 and 7 are both Sunday). As in Vixie cron, when both the
// day-of-month and the day-of-week field are restricted (neither starts
// with "*"), a day matches when either does.
type Schedule struct {
	minute, hour, dom, month, dow uint64
	domStar, dowStar              bool
	loc                           *time.Location
	text                          string
	// err is why text did not parse (UnmarshalText keeps it for Validate,
	// like Duration); nil for a good schedule.
	err error
}

// ErrSchedule reports a schedule that does not parse.
var ErrSchedule = errors.New(`invalid schedule (fix: "03:00" or a 5-field cron expression such as "30 2 * * 1-5")`)

var hhmmRE = regexp.MustCompile(`^([01]?[0-9]|2[0-3]):([0-5][0-9])$`)

// searchYears bounds the search for the next run: a schedule that matches
// nothing within it (such as "0 0 30 2 *") is refused by ParseSchedule.
const searchYears = 8

// ParseSchedule parses "HH:MM" or a 5-field cron expression evaluated in
// loc (nil means time.Local).
func ParseSchedule(text string, loc *time.Location) (*Schedule, error) {
	if loc == nil {
		loc = time.Local
	}
	expr := strings.TrimSpace(text)
	if m := hhmmRE.FindStringSubmatch(expr); m != nil {
		expr = m[2] + " " + m[1] + " * * *"
	}
	fields := strings.Fields(expr)
	if len(fields) != 5 {
		return nil, fmt.Errorf("%q: want 5 fields, got %d: %w", text, len(fields), ErrSchedule)
	}
	s := &Schedule{loc: loc, text: text}
	specs := []struct {
		dst      *uint64
		lo, hi   int
		names    []string
		nameBase int
	}{
		{&s.minute, 0, 59, nil, 0},
		{&s.hour, 0, 23, nil, 0},
		{&s.dom, 1, 31, nil, 0},
		{&s.month, 1, 12, monthNames, 1},
		{&s.dow, 0, 7, dayNames, 0},
	}
	for i, sp := range specs {
		bits, err := parseField(fields[i], sp.lo, sp.hi, sp.names, sp.nameBase)
		if err != nil {
			return nil, fmt.Errorf("%q: field %d (%s): %v: %w", text, i+1, fieldNames[i], err, ErrSchedule)
		}
		*sp.dst = bits
	}
	if s.dow&(1<<7) != 0 {
		s.dow |= 1 // 7 is Sunday too
	}
	s.domStar = strings.HasPrefix(fields[2], "*")
	s.dowStar = strings.HasPrefix(fields[4], "*")
	from := time.Date(2000, 1, 1, 0, 0, 0, 0, loc)
	if s.Next(from).IsZero() {
		return nil, fmt.Errorf("%q: never matches a real date: %w", text, ErrSchedule)
	}
	return s, nil
}

var (
	fieldNames = []string{"minute", "hour", "day of month", "month", "day of week"}
	monthNames = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
	dayNames   = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
)

// parseField parses one comma-separated cron field into a bit set.
func parseField(f string, lo, hi int, names []string, nameBase int) (uint64, error) {
	var bits uint64
	for item := range strings.SplitSeq(f, ",") {
		b, err := parseItem(item, lo, hi, names, nameBase)
		if err != nil {
			return 0, err
		}
		bits |= b
	}
	return bits, nil
}

// parseItem parses "*", "n", "a-b", each with an optional "/step".
func parseItem(item string, lo, hi int, names []string, nameBase int) (uint64, error) {
	rng, stepText, hasStep := strings.Cut(item, "/")
	step := 1
	if hasStep {
		n, err := strconv.Atoi(stepText)
		if err != nil || n < 1 || n > hi-lo+1 {
			return 0, fmt.Errorf("step %q must be a number from 1 to %d", stepText, hi-lo+1)
		}
		step = n
	}
	var start, end int
	switch {
	case rng == "*":
		start, end = lo, hi
	case strings.Contains(rng, "-"):
		a, b, _ := strings.Cut(rng, "-")
		var err error
		if start, err = parseValue(a, lo, hi, names, nameBase); err != nil {
			return 0, err
		}
		if end, err = parseValue(b, lo, hi, names, nameBase); err != nil {
			return 0, err
		}
		if start > end {
			return 0, fmt.Errorf("range %q runs backwards", rng)
		}
	default:
		v, err := parseValue(rng, lo, hi, names, nameBase)
		if err != nil {
			return 0, err
		}
		start, end = v, v
		if hasStep {
			end = hi // "a/n" means from a to the end, every n
		}
	}
	var bits uint64
	for v := start; v <= end; v += step {
		bits |= 1 << uint(v)
	}
	return bits, nil
}

func parseValue(s string, lo, hi int, names []string, nameBase int) (int, error) {
	for i, n := range names {
		if strings.EqualFold(s, n) {
			return i + nameBase, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("value %q must be a number from %d to %d", s, lo, hi)
	}
	return v, nil
}

// String returns the schedule as written.
func (s Schedule) String() string { return s.text }

// Location is the time zone the schedule is evaluated in.
func (s *Schedule) Location() *time.Location { return s.loc }

// Next returns the first time strictly after t that the schedule matches,
// or the zero time when none comes within searchYears.
//
// The search walks wall-clock time (kept in UTC, which has no daylight
// saving) and converts each match to s's zone, so a wall-clock minute that
// occurs twice when clocks go back runs once, and one skipped when clocks
// go forward runs at the shifted time.
func (s *Schedule) Next(t time.Time) time.Time {
	lt := t.In(s.loc)
	c := time.Date(lt.Year(), lt.Month(), lt.Day(), lt.Hour(), lt.Minute(), 0, 0, time.UTC).Add(time.Minute)
	limit := c.Year() + searchYears
	for c.Year() <= limit {
		switch {
		case !has(s.month, int(c.Month())):
			c = time.Date(c.Year(), c.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		case !s.dayMatches(c):
			c = time.Date(c.Year(), c.Month(), c.Day()+1, 0, 0, 0, 0, time.UTC)
		case !has(s.hour, c.Hour()):
			c = time.Date(c.Year(), c.Month(), c.Day(), c.Hour()+1, 0, 0, 0, time.UTC)
		case !has(s.minute, c.Minute()):
			c = c.Add(time.Minute)
		default:
			at := time.Date(c.Year(), c.Month(), c.Day(), c.Hour(), c.Minute(), 0, 0, s.loc)
			if at.After(t) {
				return at
			}
			c = c.Add(time.Minute)
		}
	}
	return time.Time{}
}

func (s *Schedule) dayMatches(c time.Time) bool {
	dom, dow := has(s.dom, c.Day()), has(s.dow, int(c.Weekday()))
	if s.domStar || s.dowStar {
		return dom && dow
	}
	return dom || dow
}

func has(bits uint64, v int) bool { return bits&(1<<uint(v)) != 0 }

// Due reports whether a run came due after lastSuccess and at or before
// now: the catch-up rule at start. A zero lastSuccess (never) is due.
func (s *Schedule) Due(lastSuccess, now time.Time) bool {
	if lastSuccess.IsZero() {
		return true
	}
	next := s.Next(lastSuccess)
	return !next.IsZero() && !next.After(now)
}

// UnmarshalText parses a schedule in time.Local. Like Duration it never
// fails, so that one bad value does not hide the others: Validate reports
// the text that did not parse with its line.
func (s *Schedule) UnmarshalText(b []byte) error {
	p, err := ParseSchedule(string(b), nil)
	if err != nil {
		*s = Schedule{text: string(b), err: err}
		return nil
	}
	*s = *p
	return nil
}

// MarshalText writes the schedule as written.
func (s Schedule) MarshalText() ([]byte, error) { return []byte(s.text), nil }

// errNoSchedule is Err of the zero Schedule.
var errNoSchedule = fmt.Errorf("no schedule set: %w", ErrSchedule)

// Err is nil for a parsed schedule, else why it is not one (the zero
// Schedule, built in code, has none).
func (s *Schedule) Err() error {
	switch {
	case s.err != nil:
		return s.err
	case s.loc == nil:
		return errNoSchedule
	}
	return nil
}

// In returns the schedule evaluated in loc (nil means time.Local).
func (s *Schedule) In(loc *time.Location) *Schedule {
	if loc == nil {
		loc = time.Local
	}
	c := *s
	c.loc = loc
	return &c
}

// MustSchedule parses text in time.Local and panics when it is not a
// schedule: for built-in defaults and tests.
func MustSchedule(text string) Schedule {
	p, err := ParseSchedule(text, nil)
	if err != nil {
		panic(err)
	}
	return *p
}
