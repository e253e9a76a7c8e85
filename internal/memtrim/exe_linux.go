package memtrim

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// mapping is one line of /proc/self/smaps with the fields dropExecutable
// needs.
type mapping struct {
	start, end uint64
	perms      string
	inode      uint64
	dev        string // "major:minor" in hex, as smaps writes it
	rss, anon  int64  // bytes
}

// dropExecutable unmaps the resident pages of the executable's read-only
// private mappings that hold no anonymous (copied-on-write) page, so that
// the next access reads them again from the page cache. Writable mappings
// (data) and any mapping with a modified page are left alone.
func dropExecutable() (int64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return 0, fmt.Errorf("memtrim: stat own executable: %w", err)
	}
	dev := fmt.Sprintf("%02x:%02x", unix.Major(st.Dev), unix.Minor(st.Dev))
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, fmt.Errorf("memtrim: read mappings: %w", err)
	}
	maps, err := parseSmaps(f) // streamed: the file is ~100 KB, read 4 KB at a time
	_ = f.Close()
	if err != nil {
		return 0, err
	}
	var dropped int64
	for _, m := range maps {
		if m.inode != st.Ino || m.dev != dev || !droppable(m) {
			continue
		}
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(m.start), uintptr(m.end-m.start), unix.MADV_DONTNEED); errno != 0 {
			return dropped, fmt.Errorf("memtrim: madvise %x-%x: %w", m.start, m.end, errno)
		}
		dropped += m.rss
	}
	return dropped, nil
}

// droppable: private, not writable, something resident, nothing modified.
func droppable(m mapping) bool {
	return len(m.perms) == 4 && m.perms[0] == 'r' && m.perms[1] == '-' && m.perms[3] == 'p' &&
		m.rss > 0 && m.anon == 0
}

// parseSmaps reads the mappings of /proc/PID/smaps: a header line
// "start-end perms offset dev inode [path]" followed by "Key: N kB" lines.
func parseSmaps(r io.Reader) ([]mapping, error) {
	var out []mapping
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			m, err := parseHeader(f)
			if err != nil {
				return nil, err
			}
			out = append(out, m)
			continue
		}
		if len(out) == 0 || len(f) != 3 || f[2] != "kB" {
			continue
		}
		kb, err := strconv.ParseUint(f[1], 10, 40) // up to 1 PiB: the shift below cannot overflow
		if err != nil {
			return nil, fmt.Errorf("memtrim: smaps line %q: %w", line, err)
		}
		switch f[0] {
		case "Rss:":
			out[len(out)-1].rss = int64(kb) << 10
		case "Anonymous:":
			out[len(out)-1].anon = int64(kb) << 10
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("memtrim: read smaps: %w", err)
	}
	return out, nil
}

func parseHeader(f []string) (mapping, error) {
	a, b, _ := strings.Cut(f[0], "-")
	start, err1 := strconv.ParseUint(a, 16, 64)
	end, err2 := strconv.ParseUint(b, 16, 64)
	inode, err3 := strconv.ParseUint(f[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || end < start {
		return mapping{}, fmt.Errorf("memtrim: smaps header %q: not start-end perms offset dev inode", strings.Join(f, " "))
	}
	return mapping{start: start, end: end, perms: f[1], dev: f[3], inode: inode}, nil
}

// cpuTime is the CPU time (user + system) this process has used.
func cpuTime() (time.Duration, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("memtrim: getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
