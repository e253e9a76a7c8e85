package history

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gitcourse/edge/internal/atomicfile"
)

const fileExt = ".log"

// compactPrefix names the temp files of a compaction.
const compactPrefix = ".compact-"

// escape turns a check name into a file name: letters, digits, "_" and
// "-" stay, every other byte (and a leading ".") becomes "%XX".
func escape(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' && i > 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// unescape reverses escape.
func unescape(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		c, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(c))
		i += 2
	}
	return b.String(), b.Len() > 0
}

// load reads sr's file, skipping a torn last line and damaged lines.
func (s *Store) load(sr *series) error {
	data, err := os.ReadFile(sr.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read history %s: %w", sr.path, err)
	}
	skipped := 0
	lines := bytes.Split(data, []byte("\n"))
	if last := lines[len(lines)-1]; len(last) > 0 {
		skipped++ // no "\n": a write that a crash cut short
	}
	for _, line := range lines[:len(lines)-1] {
		r, err := decode(string(line))
		if err != nil {
			skipped++
			continue
		}
		switch r.kind {
		case 'm':
			if n := len(sr.minutes); n > 0 && sr.minutes[n-1].at == r.at {
				sr.minutes[n-1] = r
			} else {
				sr.minutes = insert(sr.minutes, r)
			}
		case 'h':
			sr.hours = insert(sr.hours, r)
		case 't':
			sr.transitions = insert(sr.transitions, r)
		}
	}
	if skipped > 0 {
		sr.dirty = true
		s.log.Warn("skipped damaged history lines; the next compaction drops them", "check", sr.name, "lines", skipped)
	}
	return nil
}

// appendLine writes r to sr's file and syncs it. After a torn write the
// file is rewritten first, so that the new line does not join the torn one.
func (s *Store) appendLine(sr *series, r record) error {
	if sr.dirty {
		return s.compact(sr, s.opts.Now())
	}
	if sr.f == nil {
		f, err := os.OpenFile(sr.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("open history %s: %w", sr.path, err)
		}
		sr.f = f
	}
	if _, err := sr.f.WriteString(encode(r)); err != nil {
		sr.dirty = true // a partial line may be there
		return fmt.Errorf("append history %s: %w", sr.path, err)
	}
	if !s.opts.NoSync {
		if err := sr.f.Sync(); err != nil {
			return fmt.Errorf("sync history %s: %w", sr.path, err)
		}
	}
	return nil
}

// compact folds minutes older than minuteSpan into hourly totals, drops
// records older than Retention, and rewrites the file: a temp file, fsync,
// rename, fsync of the directory.
func (s *Store) compact(sr *series, now time.Time) error {
	cutoff := unixTime(now.Add(-minuteSpan).Truncate(time.Hour))
	oldest := unixTime(now.Add(-Retention))
	var keepMin []record
	hours := map[int64]*record{}
	for i := range sr.hours {
		h := sr.hours[i]
		if h.at >= oldest {
			hours[h.at] = &h
		}
	}
	for _, m := range sr.minutes {
		if m.at >= cutoff {
			keepMin = append(keepMin, m)
			continue
		}
		if m.at < oldest {
			continue
		}
		at := m.at - m.at%3600
		h := hours[at]
		if h == nil {
			h = &record{kind: 'h', at: at}
			hours[at] = h
		}
		h.total++
		if m.up {
			h.upN++
		}
	}
	var keepHours []record
	for _, h := range hours {
		keepHours = insert(keepHours, *h)
	}
	var keepTr []record
	for _, t := range sr.transitions {
		if t.at >= oldest {
			keepTr = append(keepTr, t)
		}
	}
	var b strings.Builder
	for _, group := range [][]record{keepHours, keepMin, keepTr} {
		for _, r := range group {
			b.WriteString(encode(r))
		}
	}
	if err := s.replace(sr, b.String()); err != nil {
		return err
	}
	sr.minutes, sr.hours, sr.transitions = keepMin, keepHours, keepTr
	sr.compacted, sr.dirty = now, false
	return nil
}

// replace writes data to sr's file atomically and reopens the append handle.
func (s *Store) replace(sr *series, data string) error {
	if sr.f != nil {
		_ = sr.f.Close()
		sr.f = nil
	}
	if err := atomicfile.WriteFile(sr.path, []byte(data), 0o600); err != nil {
		return fmt.Errorf("compact history of %q: %w", sr.name, err)
	}
	return nil
}
