package history

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clock is an injected clock the test moves by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func open(t *testing.T, dir string, c *clock, noSync bool) *Store {
	t.Helper()
	s, err := Open(dir, Options{Now: c.now, NoSync: noSync})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A simulated week, one sample a minute: the check is down 3 hours on day
// 2 and 90 minutes on day 6. Uptime over 7 days is (10080-270)/10080,
// before and after compaction and after a restart.
func TestUptimeOverASimulatedWeek(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c := &clock{t: start}
	s := open(t, dir, c, true)
	down := func(m int) bool {
		day2 := m >= 1*1440+600 && m < 1*1440+780 // 10:00-13:00 on day 2
		day6 := m >= 5*1440+60 && m < 5*1440+150  // 01:00-02:30 on day 6
		return day2 || day6
	}
	const week = 7 * 1440
	wasUp := true
	for m := range week {
		c.t = start.Add(time.Duration(m)*time.Minute + 59*time.Second)
		up := !down(m)
		if up != wasUp {
			if err := s.Transition("api", Transition{At: c.t, Up: up, Error: "status 502"}); err != nil {
				t.Fatal(err)
			}
			wasUp = up
		}
		if err := s.Record("api", c.t, up); err != nil {
			t.Fatal(err)
		}
	}
	c.t = start.Add(week * time.Minute)
	want7d := 100 * float64(week-270) / float64(week)
	// The last 24 h had no downtime.
	checks := func(when string, s *Store) {
		t.Helper()
		if got := s.Uptime("api", 7*24*time.Hour); math.Abs(got-want7d) > 1e-9 {
			t.Errorf("%s: 7 d uptime %.6f%%, want %.6f%%", when, got, want7d)
		}
		if got := s.Uptime("api", 24*time.Hour); got != 100 {
			t.Errorf("%s: 24 h uptime %.4f%%, want 100%%", when, got)
		}
		// Days 3 to 7 (5 days back from the end): only day 6's 90 minutes.
		if got, want := s.Uptime("api", 5*24*time.Hour), 100*float64(5*1440-90)/float64(5*1440); math.Abs(got-want) > 1e-9 {
			t.Errorf("%s: 5 d uptime %.6f%%, want %.6f%%", when, got, want)
		}
		if got := s.Uptime("api", 30*24*time.Hour); math.Abs(got-want7d) > 1e-9 {
			t.Errorf("%s: 30 d uptime %.6f%% (a week of data), want %.6f%%", when, got, want7d)
		}
		if got := s.Uptime("other", time.Hour); got != -1 {
			t.Errorf("%s: uptime without data %v, want -1", when, got)
		}
		if tr := s.Transitions("api", start); len(tr) != 4 || tr[0].Up || !tr[1].Up || tr[0].Error != "status 502" {
			t.Errorf("%s: transitions %+v", when, tr)
		}
	}
	checks("before compaction", s)
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	checks("after compaction", s)
	s.Close()
	s2 := open(t, dir, c, true)
	checks("after a restart", s2)
	// Compaction keeps the file small: 25 h of minutes plus hours.
	fi, err := os.Stat(filepath.Join(dir, "api.log"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 100<<10 {
		t.Errorf("compacted file is %d bytes", fi.Size())
	}
}

func TestStrip24h(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c := &clock{t: start}
	s := open(t, t.TempDir(), c, true)
	for m := range 2 * 1440 {
		c.t = start.Add(time.Duration(m) * time.Minute)
		// Down 12:00-12:15 on the second day; no data 18:00-19:00.
		at := m - 1440
		if at >= 18*60 && at < 19*60 {
			continue
		}
		if err := s.Record("api", c.t, !(at >= 12*60 && at < 12*60+15)); err != nil {
			t.Fatal(err)
		}
	}
	c.t = start.Add(2*24*time.Hour - time.Second)
	bars := s.Strip24h("api")
	if len(bars) != StripBars {
		t.Fatalf("%d bars", len(bars))
	}
	if !bars[0].Start.Equal(start.Add(24*time.Hour)) || bars[0].Span != 15*time.Minute {
		t.Errorf("first bar %+v", bars[0])
	}
	for i, b := range bars {
		switch {
		case i == 48:
			if b.Up != 0 || b.Total != 15 || b.Ratio() != 0 {
				t.Errorf("bar %d (12:00): %+v, want all down", i, b)
			}
		case i >= 72 && i < 76:
			if b.Total != 0 || b.Ratio() != -1 {
				t.Errorf("bar %d (18:xx): %+v, want no data", i, b)
			}
		default:
			if b.Up != 15 || b.Total != 15 {
				t.Errorf("bar %d: %+v, want 15 of 15 up", i, b)
			}
		}
	}
}

// A crash in the middle of a write leaves a torn last line: the history
// stays readable, and the next write does not glue onto the torn line.
func TestTornWrite(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c := &clock{t: start}
	s := open(t, dir, c, false)
	for m := range 10 {
		c.t = start.Add(time.Duration(m) * time.Minute)
		if err := s.Record("db", c.t, m != 3); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	path := filepath.Join(dir, "db.log")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Cut the last line in half, and damage a middle one.
	data = data[:len(data)-7]
	lines := strings.SplitAfter(string(data), "\n")
	lines[5] = strings.Replace(lines[5], "u", "d", 1)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, dir, c, false)
	c.t = start.Add(10 * time.Minute)
	// 10 minutes written, the torn one (minute 9) and the damaged one
	// (minute 5) lost: 8 left, of which minute 3 was down.
	if got, want := s2.Uptime("db", time.Hour), 100*7.0/8; math.Abs(got-want) > 1e-9 {
		t.Errorf("uptime after the crash %.4f%%, want %.4f%%", got, want)
	}
	if err := s2.Record("db", c.t, true); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	s3 := open(t, dir, c, false)
	if got, want := s3.Uptime("db", time.Hour), 100*8.0/9; math.Abs(got-want) > 1e-9 {
		t.Errorf("uptime after the next write and a restart %.4f%%, want %.4f%%", got, want)
	}
	raw, _ := os.ReadFile(path)
	for i, l := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		if _, err := decode(l); err != nil {
			t.Errorf("line %d %q still damaged after the repair", i+1, l)
		}
	}
}

func TestFileNames(t *testing.T) {
	for _, name := range []string{"api", "cert:www.example.com", "traffic:/api/", "..", ".hidden", "a b%c"} {
		esc := escape(name)
		if strings.ContainsAny(esc, "/: ") || strings.HasPrefix(esc, ".") {
			t.Errorf("escape(%q) = %q is not a safe file name", name, esc)
		}
		if back, ok := unescape(esc); !ok || back != name {
			t.Errorf("unescape(escape(%q)) = %q, %v", name, back, ok)
		}
	}
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	s := open(t, dir, c, true)
	if err := s.Record("traffic:/api/", c.t, true); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := open(t, dir, c, true)
	if got := s2.Checks(); len(got) != 1 || got[0] != "traffic:/api/" {
		t.Errorf("checks after reopen: %q", got)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(strings.TrimSuffix(encode(record{kind: 't', at: 1, err: "x \"y\"\n"}), "\n"))
	f.Add(strings.TrimSuffix(encode(record{kind: 'h', at: 3600, upN: 3, total: 60}), "\n"))
	f.Fuzz(func(t *testing.T, line string) {
		r, err := decode(line)
		if err != nil {
			return
		}
		if again, err := decode(strings.TrimSuffix(encode(r), "\n")); err != nil || again != r {
			t.Errorf("round trip of %q: %+v, %v", line, again, err)
		}
	})
}
