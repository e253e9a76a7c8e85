package memtrim

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

const smapsSample = `00400000-0108a000 r-xp 00000000 fe:00 9977954                            /srv/edge/bin/edge
Size:              12840 kB
Rss:                9256 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me dw sd
0108a000-01e12000 r--p 00c8a000 fe:00 9977954                            /srv/edge/bin/edge
Size:              14112 kB
Rss:                8224 kB
Anonymous:            12 kB
VmFlags: rd mr mw me dw sd
01e12000-01f2a000 rw-p 01a12000 fe:00 9977954                            /srv/edge/bin/edge
Size:               1120 kB
Rss:                 608 kB
Anonymous:           120 kB
7ff4ddc1e000-7ff4ddcd0000 rw-p 00000000 00:00 0
Rss:                 356 kB
Anonymous:           356 kB
`

func TestParseSmaps(t *testing.T) {
	maps, err := parseSmaps(strings.NewReader(smapsSample))
	if err != nil {
		t.Fatal(err)
	}
	if len(maps) != 4 {
		t.Fatalf("got %d mappings, want 4: %+v", len(maps), maps)
	}
	text := maps[0]
	if text.start != 0x400000 || text.end != 0x108a000 || text.perms != "r-xp" || text.dev != "fe:00" ||
		text.inode != 9977954 || text.rss != 9256<<10 || text.anon != 0 {
		t.Errorf("text mapping parsed as %+v", text)
	}
	for i, want := range []bool{true, false, false, false} {
		if got := droppable(maps[i]); got != want {
			t.Errorf("mapping %d (%s, anon %d): droppable = %v, want %v", i, maps[i].perms, maps[i].anon, got, want)
		}
	}
}

func TestParseSmapsRejectsGarbage(t *testing.T) {
	for _, in := range []string{
		"zz-01 r-xp 0 fe:00 1 /x\n",
		"0400-0300 r-xp 0 fe:00 1 /x\n",
		"0400-0500 r-xp 0 fe:00 1 /x\nRss: lots kB\n",
		"0400-0500 r-xp 0 fe:00 1 /x\nRss: -4 kB\n",
	} {
		if _, err := parseSmaps(strings.NewReader(in)); err == nil {
			t.Errorf("parseSmaps(%q) = nil error", in)
		}
	}
}

// TestSoonCollects checks that Soon leads to a garbage collection, and that
// a burst of calls is one timer.
func TestSoonCollects(t *testing.T) {
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		Soon()
	}
	deadline := time.Now().Add(10 * ReleaseDelay)
	for {
		var now runtime.MemStats
		runtime.ReadMemStats(&now)
		if now.NumForcedGC > before.NumForcedGC {
			if d := now.NumForcedGC - before.NumForcedGC; d != 1 {
				t.Errorf("100 calls to Soon forced %d collections, want 1", d)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no forced collection within %s of Soon", 10*ReleaseDelay)
		}
		time.Sleep(ReleaseDelay / 10)
	}
}

// FuzzParseSmaps: any input is parsed or refused, never a panic, and what
// is parsed is a well-formed range.
func FuzzParseSmaps(f *testing.F) {
	f.Add(smapsSample)
	f.Add("0-1 r-xp 0 00:00 0\nRss: 4 kB\n")
	f.Add("Rss: 4 kB\n")
	f.Fuzz(func(t *testing.T, in string) {
		maps, err := parseSmaps(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, m := range maps {
			if m.end < m.start || m.rss < 0 || m.anon < 0 {
				t.Fatalf("parsed %+v from %q", m, in)
			}
		}
	})
}
