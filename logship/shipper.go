// Package logship ships edge's own log lines (access lines and events) to a
// central syslog collector: RFC 5424 messages over TLS with RFC 5425
// octet-counted framing, the JSON line as the message.
//
// Writing a line never waits for the network: lines are appended to a
// bounded in-memory queue, and a full queue spills to a disk spool in
// {state_dir}/logspool/. One goroutine (Run) sends the spool first, then
// the queue, in order; while the collector is away everything goes to the
// spool, whose oldest segments are dropped (and counted) beyond its cap.
// The spool survives a restart of edge and is replayed when the collector
// answers again.
package logship

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gitcourse/edge/config"
)

// memCap is the size of the in-memory queue; beyond it the queue spills
// to the spool.
const memCap = 256 << 10

// Options are what the caller provides besides the [logs] config.
type Options struct {
	// Logger receives state changes (collector down, back, spool drops);
	// nil means slog.Default().
	Logger *slog.Logger
	// StateDir is server.state_dir; the spool is its logspool/.
	StateDir string
	// Hostname is the HOSTNAME of every message (the cluster node name
	// when there is one); "" means os.Hostname().
	Hostname string
	// FlushTimeout bounds how long Run keeps sending after its context
	// ends (server.shutdown_timeout); what is left stays in the spool.
	FlushTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Shipper queues, spools and sends log lines. New starts nothing; Run
// sends.
type Shipper struct {
	cfg    config.Logs
	opts   Options
	log    *slog.Logger
	hdr    header
	scheme string
	addr   string
	tls    *tls.Config
	wake   chan struct{} // a line was queued, or input closed
	inDone chan struct{} // CloseInput: no more lines will come

	mu       sync.Mutex // guards the queue and the spool
	mem      []byte     // records, all newer than the spool's
	memLines int
	spare    []byte // the last sent batch's buffer, for mem to reuse
	sp       *spool
	closed   bool   // Close: lines go to the spool at once
	spillErr string // last spool write failure, logged by Run

	shipped    atomic.Uint64
	dropped    atomic.Uint64
	spoolBytes atomic.Int64
	logged     atomic.Uint64 // drops already logged

	// Only Run's goroutine uses these.
	frames      []byte
	ends        [][2]int
	lastTrouble time.Time
	state       connState
	closeInput  sync.Once
}

// New checks the certificates and opens the spool (removing partial files
// and torn records left by a crash); it starts no goroutine.
func New(cfg *config.Logs, opts Options) (*Shipper, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	s := &Shipper{cfg: *cfg, opts: opts, log: opts.Logger.With("component", "logship"),
		hdr: newHeader(opts.Hostname, os.Getpid()), wake: make(chan struct{}, 1), inDone: make(chan struct{})}
	s.scheme, s.addr = cfg.RemoteAddr()
	if s.scheme == "tls" {
		tc, err := clientTLS(cfg, s.addr)
		if err != nil {
			return nil, err
		}
		s.tls = tc
	}
	sp, notes, err := openSpool(filepath.Join(opts.StateDir, "logspool"), cfg.Spool.Bytes)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		s.log.Warn("log spool: " + n)
	}
	s.sp = sp
	s.spoolBytes.Store(sp.bytes)
	s.state.init(opts.Now())
	if !sp.empty() {
		s.log.Info("log spool holds lines from before; they are sent first", "lines", sp.lines(), "bytes", sp.bytes)
	}
	return s, nil
}

// clientTLS builds the TLS client config: the collector's CA (or the
// system roots), the client certificate for mutual TLS, TLS 1.2 or newer.
func clientTLS(cfg *config.Logs, addr string) (*tls.Config, error) {
	host, _, _ := splitHost(addr)
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read logs.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("logs.ca_file %s holds no PEM certificate (fix: the collector's CA certificate, PEM encoded)", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load logs.cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// AccessWriter returns the io.Writer for access lines: each Write is one
// JSON line, as the journald output writes it (logging.NewTeeHandler
// encodes a line once for both). It is nil when [logs] has access = false.
func (s *Shipper) AccessWriter() io.Writer {
	if !s.cfg.AccessEnabled() {
		return nil
	}
	return lineWriter{s, Access}
}

// EventHandler returns the slog handler for events at min_level and
// above.
func (s *Shipper) EventHandler() slog.Handler {
	return slog.NewJSONHandler(lineWriter{s, Event}, &slog.HandlerOptions{Level: s.cfg.Level()})
}

// lineWriter is the io.Writer a JSON handler writes one line per call to.
type lineWriter struct {
	s *Shipper
	k Kind
}

func (w lineWriter) Write(p []byte) (int, error) {
	w.s.Write(w.k, p)
	return len(p), nil
}

// Write queues one JSON log line. It never blocks on the network: a full
// queue spills to the spool. It keeps no reference to line.
func (s *Shipper) Write(k Kind, line []byte) {
	now := s.opts.Now()
	s.mu.Lock()
	var start int
	s.mem, start = beginRecord(s.mem)
	s.mem = s.hdr.appendMessage(s.mem, k, now, line)
	s.mem = finishRecord(s.mem, start)
	s.memLines++
	if len(s.mem) >= memCap || s.closed {
		s.spillLocked()
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// spillLocked moves the queue to the end of the spool.
func (s *Shipper) spillLocked() {
	if s.memLines == 0 {
		return
	}
	dropped, err := s.sp.append(s.mem, s.memLines)
	if err != nil {
		dropped += s.memLines
		s.spillErr = err.Error()
	}
	s.dropped.Add(uint64(dropped))
	s.mem, s.memLines = s.mem[:0], 0
	s.spoolBytes.Store(s.sp.bytes)
}

// CloseInput tells Run that no more lines will come (the server has
// drained), so a flush after the context ended can finish early.
func (s *Shipper) CloseInput() {
	s.closeInput.Do(func() { close(s.inDone) })
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Close spills what is still queued to the spool, to be sent after the
// next start; lines written afterwards go to the spool directly. Call it
// after Run returned.
func (s *Shipper) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.spillLocked()
	if s.spillErr != "" {
		return errors.New("spool queued log lines: " + s.spillErr)
	}
	return nil
}

// Stats are the counters behind the metrics.
type Stats struct {
	// Shipped counts lines written to the collector.
	Shipped uint64
	// Dropped counts lines lost: the oldest spooled beyond the cap, or
	// lines the spool could not take.
	Dropped uint64
	// SpooledBytes is the size of the spool on disk.
	SpooledBytes int64
}

// Stats reads the counters; it is cheap and safe at any time.
func (s *Shipper) Stats() Stats {
	return Stats{Shipped: s.shipped.Load(), Dropped: s.dropped.Load(), SpooledBytes: s.spoolBytes.Load()}
}

// Remote is the configured collector URL.
func (s *Shipper) Remote() string { return s.cfg.Remote }

// AlertAfter is how long the collector may be away before the "logs"
// check fails.
func (s *Shipper) AlertAfter() time.Duration { return s.cfg.AlertAfter.Duration }
