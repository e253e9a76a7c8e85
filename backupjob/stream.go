package backupjob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/gzip"
)

// Progress reports a backup being written.
type Progress struct {
	// Bytes is how many bytes of the backup file were written so far.
	Bytes int64
	// Elapsed is the time since the dump started.
	Elapsed time.Duration
	// Done is true for the last report.
	Done bool
}

// progressEvery is the shortest interval between two progress reports.
const progressEvery = 250 * time.Millisecond

// fileSink counts, hashes and writes the bytes of the stored file; it
// remembers the first write error so that it can be told from a pg_dump
// failure.
type fileSink struct {
	w        io.Writer
	h        hash.Hash
	n        int64
	err      error
	start    time.Time
	last     time.Time
	progress func(Progress)
}

func (s *fileSink) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	s.h.Write(p[:n])
	s.n += int64(n)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		s.err = err
		return n, err
	}
	if s.progress != nil && time.Since(s.last) >= progressEvery {
		s.last = time.Now()
		s.progress(Progress{Bytes: s.n, Elapsed: time.Since(s.start)})
	}
	return n, nil
}

func (s *fileSink) sum() string { return hex.EncodeToString(s.h.Sum(nil)) }

// softWriter passes bytes to w until w fails, then drops them: a failing
// inline restore must not stop the dump.
type softWriter struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

func (s *softWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		_, s.err = s.w.Write(p)
	}
	return len(p), nil
}

// tail keeps the last bytes written to it (a child's stderr).
type tail struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(bytes.ToValidUTF8(t.buf, nil)))
	return strings.Join(strings.Fields(s), " ")
}

// command prepares a PostgreSQL client program in its own process group
// that a cancelled ctx kills as a whole.
func command(ctx context.Context, prog string, args []string, env []string, stderr *tail) *exec.Cmd {
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = env
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// exitError describes a failed child with the end of its stderr.
func exitError(what string, err error, stderr *tail) error {
	if msg := stderr.String(); msg != "" {
		return fmt.Errorf("%s: %w: %s", what, err, msg)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// dumpSpec is one pg_dump run into a file.
type dumpSpec struct {
	tools      *Tools
	target     dbTarget
	snapshotID string
	format     string
	recipients []age.Recipient
	path       string                    // the file in .partial/ to create
	tee        io.Writer                 // receives pg_dump's raw output too; may be nil
	wrapFile   func(io.Writer) io.Writer // test hook: wraps the file writer
	progress   func(Progress)
}

// dumpArgs are pg_dump's arguments. Plain dumps are portable SQL: no
// owners or grants (restore as the application's role), with DROP ... IF
// EXISTS so that a forced restore replaces what is there.
func (d *dumpSpec) dumpArgs() []string {
	args := []string{"--no-password", "--snapshot=" + d.snapshotID}
	if d.format == FormatPlainGzip {
		args = append(args, "--format=plain", "--no-owner", "--no-privileges", "--clean", "--if-exists")
	} else {
		args = append(args, "--format=custom")
	}
	return append(args, "--dbname="+d.target.url)
}

// run streams pg_dump's output through gzip (plain-gzip), age (when
// recipients are set) and the SHA-256 hasher into d.path, fsyncs it and
// returns the stored size and hash. On error the file may be left behind;
// the caller removes it.
func (d *dumpSpec) run(ctx context.Context) (size int64, sum string, err error) {
	f, err := os.OpenFile(d.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, "", fmt.Errorf("create %s: %w", d.path, err)
	}
	defer f.Close()
	var fw io.Writer = f
	if d.wrapFile != nil {
		fw = d.wrapFile(fw)
	}
	sink := &fileSink{w: fw, h: sha256.New(), start: time.Now(), progress: d.progress}
	w, closers, err := d.encoders(sink)
	if err != nil {
		return 0, "", err
	}
	if err := d.pipe(ctx, w, sink); err != nil {
		return 0, "", err
	}
	for _, c := range closers {
		if err := c.Close(); err != nil {
			return 0, "", fmt.Errorf("write backup file: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return 0, "", fmt.Errorf("fsync backup file: %w", err)
	}
	if err := f.Close(); err != nil {
		return 0, "", fmt.Errorf("close backup file: %w", err)
	}
	if d.progress != nil {
		d.progress(Progress{Bytes: sink.n, Elapsed: time.Since(sink.start), Done: true})
	}
	return sink.n, sink.sum(), nil
}

// encoders stacks gzip and age over sink; closers are in closing order.
func (d *dumpSpec) encoders(sink io.Writer) (io.Writer, []io.Closer, error) {
	w := sink
	var closers []io.Closer
	if len(d.recipients) > 0 {
		aw, err := age.Encrypt(w, d.recipients...)
		if err != nil {
			return nil, nil, fmt.Errorf("start age encryption: %w", err)
		}
		w, closers = aw, append(closers, aw)
	}
	if d.format == FormatPlainGzip {
		gz, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
		if err != nil {
			return nil, nil, fmt.Errorf("start gzip: %w", err)
		}
		w, closers = gz, append([]io.Closer{gz}, closers...)
	}
	if d.tee != nil {
		w = io.MultiWriter(w, d.tee)
	}
	return w, closers, nil
}

// pipe runs pg_dump and copies its output into w. A write error (such as
// a full disk) kills pg_dump and is reported as such.
func (d *dumpSpec) pipe(parent context.Context, w io.Writer, sink *fileSink) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	stderr := &tail{max: 2048}
	cmd := command(ctx, d.tools.PGDump, d.dumpArgs(), d.target.env(os.Environ()), stderr)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("start pg_dump: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start pg_dump: %w", err)
	}
	_, copyErr := io.CopyBuffer(w, out, make([]byte, 1<<20))
	if copyErr != nil {
		cancel() // stop pg_dump: nothing reads its output any more
	}
	waitErr := cmd.Wait()
	switch {
	case sink.err != nil:
		return fmt.Errorf("write backup file: %w", sink.err)
	case parent.Err() != nil:
		return fmt.Errorf("pg_dump: %w", context.Cause(parent))
	case waitErr != nil:
		return exitError("pg_dump", waitErr, stderr)
	case copyErr != nil:
		return fmt.Errorf("read pg_dump output: %w", copyErr)
	}
	return nil
}
