package logging

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestPriorityPrefixOnlyForTheJournalStream(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stream"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
	log := New(f).With("component", "test")
	log.Error("boom", "n", 1)
	log.Warn("careful")
	log.Info("hello")
	data, _ := os.ReadFile(f.Name())
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for i, want := range []string{`<3>{"time"`, `<4>{"time"`, `<6>{"time"`} {
		if i >= len(lines) || !strings.HasPrefix(lines[i], want) {
			t.Fatalf("line %d = %q, want prefix %q", i, lines, want)
		}
	}
	if !strings.Contains(lines[0], `"component":"test"`) || !strings.Contains(lines[0], `"n":1`) {
		t.Errorf("attributes lost: %q", lines[0])
	}

	var buf bytes.Buffer // not the journal: plain JSON
	New(&buf).Info("plain")
	if !strings.HasPrefix(buf.String(), `{"time"`) {
		t.Errorf("non-journal output = %q, want plain JSON", buf.String())
	}
}

func TestPriority(t *testing.T) {
	for l, want := range map[slog.Level]int{slog.LevelError: 3, slog.LevelWarn: 4, slog.LevelInfo: 6, slog.LevelDebug: 7} {
		if got := Priority(l); got != want {
			t.Errorf("Priority(%v) = %d, want %d", l, got, want)
		}
	}
}
