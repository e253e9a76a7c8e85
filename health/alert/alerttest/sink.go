// Package alerttest runs a real SMTP sink for tests: Debian's aiosmtpd
// (python3-aiosmtpd) as a separate process on a free loopback port,
// storing each message in a Maildir, stopped by PID at the end of the test.
package alerttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gitcourse/edge/internal/testutil"
)

// Python is the interpreter that sees Debian's python3-* packages.
const Python = "/usr/bin/python3"

// Sink is a running aiosmtpd.
type Sink struct {
	// Addr is the "127.0.0.1:PORT" it listens on.
	Addr    string
	maildir string
	cmd     *exec.Cmd
	out     *strings.Builder
	outMu   sync.Mutex
	done    chan struct{}
}

// TLS makes the sink offer STARTTLS with a certificate and key (PEM
// files); it then requires STARTTLS before MAIL.
type TLS struct {
	// Cert is the PEM certificate file.
	Cert string
	// Key is the PEM private key file.
	Key string
}

// StartSink starts aiosmtpd on host ("127.0.0.1" when "") and stops it
// when the test ends. Without python3-aiosmtpd it skips (fails under CI).
func StartSink(t testing.TB, host string, tlsFiles *TLS) *Sink {
	t.Helper()
	if host == "" {
		host = "127.0.0.1"
	}
	err := exec.Command(Python, "-c", "import aiosmtpd").Run()
	testutil.RequireOrSkip(t, "the SMTP sink (Debian package python3-aiosmtpd)", err)
	dir := t.TempDir()
	for attempt := 0; ; attempt++ {
		s, err := startSink(host, dir, tlsFiles)
		if err == nil {
			t.Cleanup(s.Stop)
			return s
		}
		if attempt == 2 {
			t.Fatalf("start aiosmtpd: %v", err)
		}
	}
}

func startSink(host, dir string, tlsFiles *TLS) (*Sink, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &Sink{Addr: addr, maildir: filepath.Join(dir, "Maildir"), out: &strings.Builder{}, done: make(chan struct{})}
	args := []string{"-m", "aiosmtpd", "-n", "-l", addr, "-c", "aiosmtpd.handlers.Mailbox"}
	if tlsFiles != nil {
		args = append(args, "--tlscert", tlsFiles.Cert, "--tlskey", tlsFiles.Key)
	}
	args = append(args, s.maildir)
	s.cmd = exec.Command(Python, args...)
	s.cmd.Stdout, s.cmd.Stderr = s, s
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	for range 200 { // readiness: the port accepts (bounded: 10 s)
		select {
		case <-s.done:
			return nil, fmt.Errorf("aiosmtpd exited: %s", s.output())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return s, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	return nil, fmt.Errorf("aiosmtpd not listening on %s: %s", addr, s.output())
}

// Write collects the process output.
func (s *Sink) Write(p []byte) (int, error) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	return s.out.Write(p)
}

func (s *Sink) output() string {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	return s.out.String()
}

// Stop ends the process by PID (SIGTERM, then SIGKILL) and waits for it.
func (s *Sink) Stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.done
	}
}

// Mail is one received message.
type Mail struct {
	// Header is the message's header.
	Header mail.Header
	// Body is the decoded body (quoted-printable undone).
	Body string
}

// Messages returns the messages received so far, oldest first.
func (s *Sink) Messages() ([]Mail, error) {
	files, err := filepath.Glob(filepath.Join(s.maildir, "new", "*"))
	if err != nil {
		return nil, err
	}
	type entry struct {
		mod time.Time
		m   Mail
	}
	var es []entry
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		fi, err := os.Stat(f)
		if err != nil {
			return nil, err
		}
		m, err := mail.ReadMessage(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", f, err)
		}
		var body io.Reader = m.Body
		if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(body)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			return nil, fmt.Errorf("read body of %s: %w", f, err)
		}
		es = append(es, entry{fi.ModTime(), Mail{Header: m.Header, Body: string(b)}})
	}
	sort.SliceStable(es, func(i, j int) bool { return es[i].mod.Before(es[j].mod) })
	out := make([]Mail, len(es))
	for i, e := range es {
		out[i] = e.m
	}
	return out, nil
}

// Subject returns the decoded Subject of m.
func (m Mail) Subject() string {
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return m.Header.Get("Subject")
	}
	return s
}

// WaitMessages waits up to d until at least n messages arrived.
func (s *Sink) WaitMessages(n int, d time.Duration) ([]Mail, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		ms, err := s.Messages()
		if err != nil {
			return nil, err
		}
		if len(ms) >= n {
			return ms, nil
		}
		select {
		case <-ctx.Done():
			return ms, errors.New("timed out waiting for mail")
		case <-time.After(20 * time.Millisecond):
		}
	}
}
