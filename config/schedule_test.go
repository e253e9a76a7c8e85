package config

import (
	"errors"
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("time zone %s unavailable: %v", name, err)
	}
	return loc
}

func TestScheduleNext(t *testing.T) {
	utc := time.UTC
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, utc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, expr, from string
		want             []string
	}{
		{"daily clock", "03:00", "2026-11-25 02:59", []string{"2026-11-25 03:00", "2026-11-26 03:00"}},
		{"clock exactly now is not next", "03:00", "2026-11-25 03:00", []string{"2026-11-26 03:00"}},
		{"single-digit hour", "3:07", "2026-11-25 04:00", []string{"2026-11-26 03:07"}},
		{"every 15 minutes", "*/15 * * * *", "2026-11-25 10:07", []string{"2026-11-25 10:15", "2026-11-25 10:30", "2026-11-25 10:45", "2026-11-25 11:00"}},
		{"weekdays", "30 2 * * 1-5", "2026-11-27 03:00", []string{"2026-11-30 02:30", "2026-12-01 02:30"}}, // Fri -> Mon
		{"weekday names", "0 4 * * mon,WED", "2026-11-25 05:00", []string{"2026-11-30 04:00", "2026-12-02 04:00"}},
		{"sunday as 7", "0 1 * * 7", "2026-11-25 00:00", []string{"2026-11-29 01:00", "2026-12-06 01:00"}},
		{"sunday as 0", "0 1 * * 0", "2026-11-25 00:00", []string{"2026-11-29 01:00"}},
		{"monthly first", "0 3 1 * *", "2026-11-25 00:00", []string{"2026-12-01 03:00", "2027-01-01 03:00"}},
		{"dom or dow when both restricted", "0 0 1 * fri", "2026-11-25 00:00", []string{"2026-11-27 00:00", "2026-12-01 00:00", "2026-12-04 00:00"}},
		{"dom and star-step dow is AND", "0 0 1-7 * */7", "2026-11-25 00:00", []string{"2026-12-06 00:00"}},
		{"leap day", "0 0 29 2 *", "2026-03-01 00:00", []string{"2028-02-29 00:00", "2032-02-29 00:00"}},
		{"month names and range step", "0 0 1 jan-dec/3 *", "2026-02-01 00:00", []string{"2026-04-01 00:00", "2026-07-01 00:00"}},
		{"value with step runs to the end", "50/5 23 * * *", "2026-11-25 00:00", []string{"2026-11-25 23:50", "2026-11-25 23:55", "2026-11-26 23:50"}},
		{"list of hours", "0 1,13 * * *", "2026-11-25 12:00", []string{"2026-11-25 13:00", "2026-11-26 01:00"}},
		{"year end", "59 23 31 12 *", "2026-12-31 23:59", []string{"2027-12-31 23:59"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseSchedule(tc.expr, utc)
			if err != nil {
				t.Fatalf("ParseSchedule(%q): %v", tc.expr, err)
			}
			cur := at(tc.from)
			for i, w := range tc.want {
				got := s.Next(cur)
				if !got.Equal(at(w)) {
					t.Fatalf("Next #%d after %s = %s, want %s", i+1, cur.Format(time.DateTime), got.Format(time.DateTime), w)
				}
				cur = got
			}
		})
	}
}

func TestScheduleInvalid(t *testing.T) {
	for _, expr := range []string{
		"", "3", "24:00", "03:60", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *",
		"* * 0 * *", "* * 32 * *", "* * * 13 * ", "* * * * 8", "5-1 * * * *", "*/0 * * * *",
		"*/61 * * * *", "a * * * *", "1,,2 * * * *", "- * * * *", "+5 * * * *", "0 0 30 2 *",
		"0 0 31 4,6,9,11 *", "* * * foo *", "1-2-3 * * * *", "*/ * * * *",
	} {
		if _, err := ParseSchedule(expr, time.UTC); !errors.Is(err, ErrSchedule) {
			t.Errorf("ParseSchedule(%q) = %v, want ErrSchedule", expr, err)
		}
	}
}

// TestScheduleDST checks the wall-clock rules where clocks change: a
// skipped minute runs at the shifted time, a repeated one runs once.
func TestScheduleDST(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	s, err := ParseSchedule("30 2 * * *", berlin)
	if err != nil {
		t.Fatal(err)
	}
	// 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist.
	got := s.Next(time.Date(2026, 3, 29, 0, 0, 0, 0, berlin))
	if got.Day() != 29 || got.Hour() != 3 || got.Minute() != 30 {
		t.Errorf("spring forward: got %s, want 2026-03-29 03:30 CEST", got)
	}
	// 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice.
	first := s.Next(time.Date(2026, 10, 25, 0, 0, 0, 0, berlin))
	second := s.Next(first)
	if first.Day() != 25 || second.Day() != 26 {
		t.Errorf("fall back: runs at %s then %s, want once on the 25th then the 26th", first, second)
	}
}

func TestScheduleDue(t *testing.T) {
	s, err := ParseSchedule("03:00", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	d := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name      string
		last, now time.Time
		want      bool
	}{
		{"never backed up", time.Time{}, d(25, 12, 0), true},
		{"today's run done", d(25, 3, 5), d(25, 12, 0), false},
		{"yesterday's run, today's not yet due", d(24, 3, 5), d(25, 2, 0), false},
		{"missed today's run", d(24, 3, 5), d(25, 4, 0), true},
		{"down for days", d(20, 3, 5), d(25, 1, 0), true},
		{"exactly at the scheduled minute", d(24, 3, 5), d(25, 3, 0), true},
	}
	for _, tc := range tests {
		if got := s.Due(tc.last, tc.now); got != tc.want {
			t.Errorf("%s: Due = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// FuzzSchedule checks that any expression either fails with ErrSchedule or
// yields strictly increasing, matching times, without panicking.
func FuzzSchedule(f *testing.F) {
	for _, seed := range []string{"03:00", "*/15 * * * *", "30 2 * * 1-5", "0 0 29 2 *", "0 0 1 * fri",
		"5-1 * * * *", "*/0 * * * *", "0 0 30 2 *", "jan-dec/3 * * * *", "1,2,3-9/2 */4 * jan sun-sat"} {
		f.Add(seed)
	}
	from := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := ParseSchedule(expr, time.UTC)
		if err != nil {
			if !errors.Is(err, ErrSchedule) {
				t.Fatalf("ParseSchedule(%q) error %v is not ErrSchedule", expr, err)
			}
			return
		}
		cur := from
		for range 3 {
			next := s.Next(cur)
			if next.IsZero() {
				return // a sparse schedule (Feb 29 on a Monday) may run past the search window
			}
			if !next.After(cur) {
				t.Fatalf("%q: Next(%s) = %s, not after", expr, cur, next)
			}
			if next.Second() != 0 || !has(s.minute, next.Minute()) || !has(s.hour, next.Hour()) ||
				!has(s.month, int(next.Month())) || !s.dayMatches(next) {
				t.Fatalf("%q: Next(%s) = %s does not match the expression", expr, cur, next)
			}
			cur = next
		}
	})
}
