package logship

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func recs(from, to int) []byte {
	var b []byte
	for i := from; i < to; i++ {
		b = appendRecord(b, fmt.Appendf(nil, "line %06d", i))
	}
	return b
}

// drain takes and sends every segment, returning the messages in order.
func drain(t *testing.T, sp *spool) []string {
	t.Helper()
	var out []string
	for i := 0; i < 1000; i++ {
		seg, ok := sp.take()
		if !ok {
			return out
		}
		b, err := sp.read(seg)
		if err != nil {
			t.Fatal(err)
		}
		for len(b) > 0 {
			msg, n, err := readRecord(b)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(msg))
			b = b[n:]
		}
		if err := sp.done(seg.seq, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("spool never emptied")
	return nil
}

func TestSpoolOrderPrependAndReopen(t *testing.T) {
	dir := t.TempDir()
	sp, _, err := openSpool(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	// Lines 0-9 were taken from memory and failed; 10-29 spilled meanwhile.
	if _, err := sp.append(recs(10, 20), 10); err != nil {
		t.Fatal(err)
	}
	if _, err := sp.append(recs(20, 30), 10); err != nil {
		t.Fatal(err)
	}
	if _, err := sp.prepend(recs(0, 10), 10); err != nil {
		t.Fatal(err)
	}
	// A crash leaves a partial file and a torn record at a segment's end.
	if err := os.WriteFile(filepath.Join(dir, "00000000000000ff.seg.tmp"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	last := sp.path(sp.segs[len(sp.segs)-1].seq)
	f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	torn := appendRecord(nil, []byte("torn line"))
	_, _ = f.Write(torn[:len(torn)-3])
	_ = f.Close()

	again, notes, err := openSpool(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 2 {
		t.Errorf("notes %q: want the partial file removed and the torn end cut", notes)
	}
	if again.lines() != 30 || again.bytes != sp.bytes {
		t.Errorf("reopened: %d lines, %d bytes; want 30, %d", again.lines(), again.bytes, sp.bytes)
	}
	got := drain(t, again)
	for i, g := range got {
		if want := fmt.Sprintf("line %06d", i); g != want {
			t.Fatalf("line %d is %q, want %q", i, g, want)
		}
	}
	if len(got) != 30 {
		t.Fatalf("got %d lines", len(got))
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("files left after sending everything: %v", left)
	}
}

func TestSpoolDropsOldestOverCap(t *testing.T) {
	sp, _, err := openSpool(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	batch := len(recs(0, 1000)) // about 19 KB
	total, dropped := 0, 0
	for i := 0; total < 3<<20/batch*1000; i++ {
		n, err := sp.append(recs(total, total+1000), 1000)
		if err != nil {
			t.Fatal(err)
		}
		dropped += n
		total += 1000
	}
	if sp.bytes > sp.max+sp.segMax {
		t.Errorf("spool holds %d bytes, cap %d", sp.bytes, sp.max)
	}
	got := drain(t, sp)
	if dropped == 0 || dropped+len(got) != total {
		t.Fatalf("dropped %d + kept %d != written %d", dropped, len(got), total)
	}
	if want := fmt.Sprintf("line %06d", dropped); got[0] != want {
		t.Errorf("oldest kept is %q, want %q (oldest dropped first)", got[0], want)
	}
	if want := fmt.Sprintf("line %06d", total-1); got[len(got)-1] != want {
		t.Errorf("newest kept is %q, want %q", got[len(got)-1], want)
	}
}
