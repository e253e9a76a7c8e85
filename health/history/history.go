// Package history keeps the uptime history of every health check under
// {state_dir}/history: one small line-oriented file per check, appended to
// with fsync and compacted by writing a new file and renaming it over the
// old one. A crash leaves at worst a torn last line, which the reader
// skips (and the next compaction drops).
//
// Per check it holds per-minute samples (up or down) for the last day,
// hourly totals for older ones, up to Retention, and the transitions, so
// that uptime over 24 h, 7 d and 30 d and a 24 h bar strip can be drawn.
package history

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gitcourse/edge/internal/atomicfile"
)

// Retention is how far back samples and transitions are kept.
const Retention = 31 * 24 * time.Hour

// minuteSpan is how long minute samples are kept before they are folded
// into hourly totals: a day, plus the hour being folded.
const minuteSpan = 25 * time.Hour

// compactEvery is how often a check's file is compacted while recording.
const compactEvery = time.Hour

// Options tune a Store.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives skipped lines and write errors; nil means slog.Default().
	Logger *slog.Logger
	// NoSync skips fsync after each append (tests only).
	NoSync bool
}

// Store is the history of every check. It is safe for concurrent use.
type Store struct {
	dir  string
	opts Options
	log  *slog.Logger

	mu     sync.Mutex
	series map[string]*series
}

// Transition is a check going up or down.
type Transition struct {
	// At is when the check changed state.
	At time.Time `json:"at"`
	// Up is the new state.
	Up bool `json:"up"`
	// Error is the check's error when it went down.
	Error string `json:"error,omitempty"`
}

// Sample is one bar of a strip: of the minutes in [Start, Start+Span)
// that were sampled, Up were up.
type Sample struct {
	// Start is the beginning of the bar.
	Start time.Time `json:"start"`
	// Span is the bar's length.
	Span time.Duration `json:"span_ns"`
	// Up is how many sampled minutes the check was up.
	Up int `json:"up"`
	// Total is how many minutes were sampled (0: no data).
	Total int `json:"total"`
}

// Ratio is Up/Total, or -1 when there is no data.
func (s Sample) Ratio() float64 {
	if s.Total == 0 {
		return -1
	}
	return float64(s.Up) / float64(s.Total)
}

// series is one check's history in memory, in time order, and its file.
type series struct {
	name        string
	path        string
	f           *os.File // append handle; nil until the first write
	minutes     []record // 'm'
	hours       []record // 'h'
	transitions []record // 't'
	compacted   time.Time
	dirty       bool // the file holds lines the reader skipped
}

// Open loads every check's history from dir (created when missing).
func Open(dir string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create history dir %s: %w", dir, err)
	}
	s := &Store{dir: dir, opts: opts, log: opts.Logger.With("component", "history"), series: map[string]*series{}}
	// A compaction that a crash interrupted leaves its temp file behind
	// (named by atomicfile, or ".compact-*" by earlier versions).
	if _, err := atomicfile.RemoveTemps(dir); err != nil {
		return nil, err
	}
	if stale, err := filepath.Glob(filepath.Join(dir, compactPrefix+"*")); err == nil {
		for _, p := range stale {
			_ = os.Remove(p)
		}
	}
	names, err := filepath.Glob(filepath.Join(dir, "*"+fileExt))
	if err != nil {
		return nil, fmt.Errorf("list history dir %s: %w", dir, err)
	}
	for _, p := range names {
		name, ok := unescape(strings.TrimSuffix(filepath.Base(p), fileExt))
		if !ok {
			continue
		}
		sr := &series{name: name, path: p}
		if err := s.load(sr); err != nil {
			return nil, err
		}
		s.series[name] = sr
	}
	return s, nil
}

// Close closes the files; the Store must not be used afterwards.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for _, sr := range s.series {
		if sr.f != nil {
			if err := sr.f.Close(); err != nil && first == nil {
				first = fmt.Errorf("close history of %q: %w", sr.name, err)
			}
			sr.f = nil
		}
	}
	return first
}

// get returns the series of check, creating it. Callers hold s.mu.
func (s *Store) get(check string) *series {
	sr := s.series[check]
	if sr == nil {
		sr = &series{name: check, path: filepath.Join(s.dir, escape(check)+fileExt)}
		s.series[check] = sr
	}
	return sr
}

// Record appends a minute sample: check was up (or down) during the
// minute that holds at. A second sample for the same minute replaces the
// first.
func (s *Store) Record(check string, at time.Time, up bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sr := s.get(check)
	r := record{kind: 'm', at: unixTime(at.Truncate(time.Minute)), up: up}
	if n := len(sr.minutes); n > 0 && sr.minutes[n-1].at == r.at {
		sr.minutes[n-1] = r
	} else {
		sr.minutes = insert(sr.minutes, r)
	}
	if err := s.appendLine(sr, r); err != nil {
		return err
	}
	now := s.opts.Now()
	if sr.compacted.IsZero() {
		sr.compacted = now
	} else if now.Sub(sr.compacted) >= compactEvery || sr.dirty {
		return s.compact(sr, now)
	}
	return nil
}

// Transition appends a state change of check.
func (s *Store) Transition(check string, t Transition) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sr := s.get(check)
	r := record{kind: 't', at: unixTime(t.At), up: t.Up, err: t.Error}
	sr.transitions = insert(sr.transitions, r)
	return s.appendLine(sr, r)
}

// insert adds r keeping rs in time order (appends are the usual case).
func insert(rs []record, r record) []record {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].at > r.at })
	rs = append(rs, record{})
	copy(rs[i+1:], rs[i:])
	rs[i] = r
	return rs
}

// Checks returns the names of the checks with a history, sorted.
func (s *Store) Checks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.series))
	for n := range s.series {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Uptime returns the percentage (0 to 100) of sampled minutes in the last
// window during which check was up, or -1 when no minute was sampled.
// Beyond the last 24 hours it counts whole hours that start in the window.
func (s *Store) Uptime(check string, window time.Duration) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	sr := s.series[check]
	if sr == nil {
		return -1
	}
	now := s.opts.Now()
	from, to := unixTime(now.Add(-window)), unixTime(now)
	up, total := 0, 0
	for _, m := range sr.minutes {
		if m.at >= from && m.at <= to {
			total++
			if m.up {
				up++
			}
		}
	}
	for _, h := range sr.hours {
		if h.at >= from && h.at <= to {
			up += h.upN
			total += h.total
		}
	}
	if total == 0 {
		return -1
	}
	return 100 * float64(up) / float64(total)
}

// StripBars is the number of bars Strip24h returns (15 minutes each).
const StripBars = 96

// Strip24h returns the last 24 hours of check as StripBars bars of 15
// minutes, oldest first; the last bar holds the current minute.
func (s *Store) Strip24h(check string) []Sample {
	const span = 24 * time.Hour / StripBars
	end := s.opts.Now().Truncate(span).Add(span)
	start := end.Add(-24 * time.Hour)
	out := make([]Sample, StripBars)
	for i := range out {
		out[i] = Sample{Start: start.Add(time.Duration(i) * span), Span: span}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sr := s.series[check]
	if sr == nil {
		return out
	}
	for _, m := range sr.minutes {
		off := time.Unix(m.at, 0).Sub(start)
		i := int(off / span)
		if off < 0 || i >= StripBars {
			continue
		}
		out[i].Total++
		if m.up {
			out[i].Up++
		}
	}
	return out
}

// Transitions returns check's transitions since the given time, oldest first.
func (s *Store) Transitions(check string, since time.Time) []Transition {
	s.mu.Lock()
	defer s.mu.Unlock()
	sr := s.series[check]
	if sr == nil {
		return nil
	}
	var out []Transition
	for _, t := range sr.transitions {
		if t.at >= unixTime(since) {
			out = append(out, Transition{At: time.Unix(t.at, 0), Up: t.up, Error: t.err})
		}
	}
	return out
}

// Last returns check's newest transition, if any.
func (s *Store) Last(check string) (Transition, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sr := s.series[check]
	if sr == nil || len(sr.transitions) == 0 {
		return Transition{}, false
	}
	t := sr.transitions[len(sr.transitions)-1]
	return Transition{At: time.Unix(t.at, 0), Up: t.up, Error: t.err}, true
}

// Compact folds old minute samples into hours and drops what is older than
// Retention, for every check, by rewriting each file.
func (s *Store) Compact() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	for _, sr := range s.series {
		if err := s.compact(sr, now); err != nil {
			return err
		}
	}
	return nil
}
