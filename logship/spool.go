package logship

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The spool is a directory of segment files, "<seq>.seg" with seq in hex,
// read oldest (lowest seq) first. New lines go to the newest segment
// while it is open and small; a segment the sender has taken is sealed.
// Files are written under a ".tmp" name and renamed, so a crash leaves
// either a whole segment or a ".tmp" file that the next start removes; a
// record cut short at the end of an appended segment is cut off at start.
//
// The spool is not safe for concurrent use: the Shipper's mutex guards it.
type spool struct {
	dir      string
	max      int64 // bytes; above it the oldest segments are dropped
	segMax   int64 // a segment is sealed once this big
	segs     []segment
	bytes    int64
	nextSeq  uint64
	tailOpen bool   // the newest segment may still be appended to
	inFlight uint64 // the segment the sender holds; 0 when none
}

// segment is one file of the spool.
type segment struct {
	seq   uint64
	bytes int64
	lines int
}

// firstSeq leaves room below for segments written back in front.
const firstSeq = 1 << 40

// openSpool opens (creating) dir, removes leftover ".tmp" files and
// indexes the segments, cutting off torn or corrupt tails; it returns
// what it removed or cut, for the log.
func openSpool(dir string, capBytes int64) (*spool, []string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create log spool %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("read log spool %s: %w", dir, err)
	}
	sp := &spool{dir: dir, max: capBytes, segMax: min(max(capBytes/16, 64<<10), 4<<20), nextSeq: firstSeq}
	var notes []string
	for _, e := range entries {
		name := e.Name()
		p := filepath.Join(dir, name)
		seq, ok := segmentSeq(name)
		if !ok {
			if strings.HasSuffix(name, ".tmp") {
				if err := os.Remove(p); err != nil {
					return nil, notes, fmt.Errorf("remove partial spool file %s: %w", p, err)
				}
				notes = append(notes, "removed partial file "+name)
			}
			continue
		}
		seg, note, err := indexSegment(p, seq)
		if err != nil {
			return nil, notes, err
		}
		if note != "" {
			notes = append(notes, note)
		}
		if seg.bytes == 0 {
			_ = os.Remove(p)
			continue
		}
		sp.segs = append(sp.segs, seg)
		sp.bytes += seg.bytes
		sp.nextSeq = max(sp.nextSeq, seq+1)
	}
	sort.Slice(sp.segs, func(i, j int) bool { return sp.segs[i].seq < sp.segs[j].seq })
	return sp, notes, nil
}

func segmentName(seq uint64) string { return fmt.Sprintf("%016x.seg", seq) }

func segmentSeq(name string) (uint64, bool) {
	hex, ok := strings.CutSuffix(name, ".seg")
	if !ok || len(hex) != 16 {
		return 0, false
	}
	seq, err := strconv.ParseUint(hex, 16, 64)
	return seq, err == nil
}

// indexSegment counts a segment's records and truncates whatever follows
// the last good one.
func indexSegment(p string, seq uint64) (segment, string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return segment{}, "", fmt.Errorf("read spool segment %s: %w", p, err)
	}
	lines, good, bad := scanRecords(b)
	seg := segment{seq: seq, bytes: int64(good), lines: lines}
	if bad == nil {
		return seg, "", nil
	}
	if err := os.Truncate(p, int64(good)); err != nil {
		return seg, "", fmt.Errorf("cut torn end of spool segment %s: %w", p, err)
	}
	return seg, fmt.Sprintf("cut %d unreadable bytes off %s (%v)", len(b)-good, filepath.Base(p), bad), nil
}

func (sp *spool) path(seq uint64) string { return filepath.Join(sp.dir, segmentName(seq)) }

// empty reports whether the spool holds no lines.
func (sp *spool) empty() bool { return len(sp.segs) == 0 }

// lines counts the lines in the spool.
func (sp *spool) lines() int {
	n := 0
	for _, s := range sp.segs {
		n += s.lines
	}
	return n
}

// append adds records (lines of them) after everything spooled, then
// drops the oldest segments beyond the cap; it returns how many lines
// were dropped.
func (sp *spool) append(recs []byte, lines int) (dropped int, err error) {
	if len(recs) == 0 {
		return 0, nil
	}
	n := len(sp.segs)
	if sp.tailOpen && n > 0 && sp.segs[n-1].seq != sp.inFlight && sp.segs[n-1].bytes+int64(len(recs)) <= sp.segMax {
		tail := &sp.segs[n-1]
		if err := appendFile(sp.path(tail.seq), recs); err != nil {
			return 0, err
		}
		tail.bytes += int64(len(recs))
		tail.lines += lines
	} else {
		seq := sp.nextSeq
		if err := writeFile(sp.path(seq), recs); err != nil {
			return 0, err
		}
		sp.nextSeq++
		sp.segs = append(sp.segs, segment{seq: seq, bytes: int64(len(recs)), lines: lines})
	}
	sp.tailOpen = true
	sp.bytes += int64(len(recs))
	return sp.trim(), nil
}

// prepend puts records back in front of everything spooled: lines the
// sender took from memory and could not send, older than any spooled.
func (sp *spool) prepend(recs []byte, lines int) (dropped int, err error) {
	seq := sp.nextSeq
	if len(sp.segs) > 0 {
		seq = sp.segs[0].seq
	}
	seq--
	if err := writeFile(sp.path(seq), recs); err != nil {
		return 0, err
	}
	sp.segs = append([]segment{{seq: seq, bytes: int64(len(recs)), lines: lines}}, sp.segs...)
	sp.bytes += int64(len(recs))
	sp.tailOpen = false
	return sp.trim(), nil
}

// trim drops the oldest segments, except the one in flight and the
// newest, while the spool is over its cap.
func (sp *spool) trim() (dropped int) {
	for i := 0; sp.bytes > sp.max && i < len(sp.segs)-1; {
		s := sp.segs[i]
		if s.seq == sp.inFlight {
			i++
			continue
		}
		_ = os.Remove(sp.path(s.seq))
		sp.segs = append(sp.segs[:i], sp.segs[i+1:]...)
		sp.bytes -= s.bytes
		dropped += s.lines
	}
	return dropped
}

// take marks the oldest segment in flight (sealing it) and returns it;
// ok is false when the spool is empty.
func (sp *spool) take() (segment, bool) {
	if len(sp.segs) == 0 {
		return segment{}, false
	}
	if len(sp.segs) == 1 {
		sp.tailOpen = false
	}
	sp.inFlight = sp.segs[0].seq
	return sp.segs[0], true
}

// read returns a taken segment's records (the file is sealed and cannot
// be dropped while in flight, so no lock is needed).
func (sp *spool) read(seg segment) ([]byte, error) {
	b, err := os.ReadFile(sp.path(seg.seq))
	if err != nil {
		return nil, fmt.Errorf("read spool segment: %w", err)
	}
	return b[:min(int64(len(b)), seg.bytes)], nil
}

// done removes the segment in flight after it was sent, or, when rest is
// not empty, keeps only rest (restLines lines) in it.
func (sp *spool) done(seq uint64, rest []byte, restLines int) error {
	sp.inFlight = 0
	i := sort.Search(len(sp.segs), func(i int) bool { return sp.segs[i].seq >= seq })
	if i == len(sp.segs) || sp.segs[i].seq != seq {
		return nil
	}
	if len(rest) > 0 {
		if err := writeFile(sp.path(seq), rest); err != nil {
			return err
		}
		sp.bytes += int64(len(rest)) - sp.segs[i].bytes
		sp.segs[i].bytes, sp.segs[i].lines = int64(len(rest)), restLines
		return nil
	}
	if err := os.Remove(sp.path(seq)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove sent spool segment: %w", err)
	}
	sp.bytes -= sp.segs[i].bytes
	sp.segs = append(sp.segs[:i], sp.segs[i+1:]...)
	return nil
}

// writeFile writes data under a ".tmp" name and renames it to p. It does
// not fsync: the spool bounds loss across a crash of edge (the page cache
// survives it), not across a power cut, and a fsync per spill would stall
// the request that spills.
func writeFile(p string, data []byte) error {
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write spool segment: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("rename spool segment into place: %w", err)
	}
	return nil
}

func appendFile(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open spool segment: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("append to spool segment: %w", err)
	}
	return nil
}
