package memtrim

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// exeTextRSS is the resident size of the test binary's executable mapping.
func exeTextRSS(t *testing.T) int64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	maps, err := parseSmaps(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range maps {
		if m.inode == st.Ino && m.perms == "r-xp" {
			return m.rss
		}
	}
	t.Fatal("no executable text mapping in /proc/self/smaps")
	return 0
}

func TestDropExecutable(t *testing.T) {
	before := exeTextRSS(t)
	n, err := DropExecutable()
	if err != nil {
		t.Fatal(err)
	}
	if n < before {
		t.Errorf("DropExecutable reported %d bytes, the text mapping alone had %d resident", n, before)
	}
	// The process keeps running the code it unmapped (it is mapped back on
	// use), and what is resident now is only what ran since.
	after := exeTextRSS(t)
	if after >= before {
		t.Errorf("text RSS %d bytes after DropExecutable, %d before", after, before)
	}
	if _, err := DropExecutable(); err != nil {
		t.Fatalf("second call: %v", err)
	}
}
