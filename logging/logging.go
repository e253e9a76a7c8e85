// Package logging builds edge's slog loggers: one JSON object per line.
// When stdout is connected to journald (systemd sets JOURNAL_STREAM to the
// stream's device:inode), each line starts with a syslog priority prefix
// such as "<4>", which journald strips and stores as the entry's PRIORITY,
// so "journalctl -u edge -p warning" works without a second format.
package logging

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"
)

// New returns a JSON logger writing to w, with journald priority prefixes
// when w is the journal stream.
func New(w io.Writer) *slog.Logger { return slog.New(NewHandler(w, nil)) }

// NewHandler returns a JSON handler for w (see New).
func NewHandler(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	if !toJournal(w) {
		return slog.NewJSONHandler(w, opts)
	}
	h := &prefixHandler{out: w, journal: true, mu: &sync.Mutex{}, buf: &bytes.Buffer{}}
	h.inner = slog.NewJSONHandler(h.buf, opts)
	return h
}

// NewTeeHandler is NewHandler that also writes every line, encoded once
// and without the journald prefix, to also (the log shipper). w may be
// nil: then lines go to also only.
func NewTeeHandler(w, also io.Writer, opts *slog.HandlerOptions) slog.Handler {
	if also == nil {
		return NewHandler(w, opts)
	}
	h := &prefixHandler{out: w, also: also, journal: w != nil && toJournal(w), mu: &sync.Mutex{}, buf: &bytes.Buffer{}}
	h.inner = slog.NewJSONHandler(h.buf, opts)
	return h
}

// toJournal reports whether w is the file JOURNAL_STREAM names.
func toJournal(w io.Writer) bool {
	f, ok := w.(*os.File)
	stream := os.Getenv("JOURNAL_STREAM")
	if !ok || stream == "" {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return stream == fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}

// prefixHandler renders with a JSON handler into a buffer and writes the
// line (with its "<N>" priority for journald) to out and also, one record
// at a time.
type prefixHandler struct {
	out     io.Writer // nil: none
	also    io.Writer // nil: none
	journal bool
	mu      *sync.Mutex
	buf     *bytes.Buffer
	inner   slog.Handler
}

func (h *prefixHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *prefixHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.Reset()
	if err := h.inner.Handle(ctx, r); err != nil {
		return err
	}
	if h.also != nil {
		_, _ = h.also.Write(h.buf.Bytes())
	}
	var err error
	switch {
	case h.out == nil:
	case h.journal:
		_, err = fmt.Fprintf(h.out, "<%d>%s", Priority(r.Level), h.buf.Bytes())
	default:
		_, err = h.out.Write(h.buf.Bytes())
	}
	return err
}

func (h *prefixHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &prefixHandler{out: h.out, also: h.also, journal: h.journal, mu: h.mu, buf: h.buf, inner: h.inner.WithAttrs(as)}
}

func (h *prefixHandler) WithGroup(name string) slog.Handler {
	return &prefixHandler{out: h.out, also: h.also, journal: h.journal, mu: h.mu, buf: h.buf, inner: h.inner.WithGroup(name)}
}

// Priority maps a slog level to a syslog priority: error 3, warning 4,
// info 6, debug 7.
func Priority(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3
	case l >= slog.LevelWarn:
		return 4
	case l >= slog.LevelInfo:
		return 6
	default:
		return 7
	}
}
