package logship

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitcourse/edge/config"
)

// collector accepts tcp connections on addr and records the MSG of each
// octet-counted frame.
type collector struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []string
	got  chan struct{}
	quit chan struct{}
	wg   sync.WaitGroup
}

func listenCollector(t *testing.T, addr string) *collector {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{ln: ln, got: make(chan struct{}, 1), quit: make(chan struct{})}
	c.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.wg.Go(func() { c.read(conn) })
		}
	})
	t.Cleanup(c.stop)
	return c
}

func (c *collector) read(conn net.Conn) {
	defer conn.Close()
	go func() { <-c.quit; conn.Close() }()
	r := bufio.NewReader(conn)
	for {
		lenText, err := r.ReadString(' ')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(lenText))
		if err != nil {
			return
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(r, msg); err != nil {
			return
		}
		c.mu.Lock()
		c.msgs = append(c.msgs, string(msg))
		c.mu.Unlock()
		select {
		case c.got <- struct{}{}:
		default:
		}
	}
}

func (c *collector) stop() {
	if err := c.ln.Close(); err == nil {
		close(c.quit)
	}
	c.wg.Wait()
}

// waitFor waits until n messages arrived.
func (c *collector) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		c.mu.Lock()
		got := append([]string(nil), c.msgs...)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-c.got:
		case <-deadline:
			t.Fatalf("collector got %d messages, want %d", len(got), n)
		}
	}
}

func newShipper(t *testing.T, dir, remote string) *Shipper {
	t.Helper()
	cfg := &config.Logs{Remote: remote, MinLevel: "info"}
	cfg.Spool.Bytes = 8 << 20
	s, err := New(cfg, Options{StateDir: dir, Hostname: "h1", FlushTimeout: 5 * time.Second,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func run(t *testing.T, s *Shipper) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return func() {
		cancel()
		s.CloseInput()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return")
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}
}

func line(i int) []byte { return fmt.Appendf(nil, `{"level":"INFO","msg":"request","n":%d}`+"\n", i) }

func checkOrder(t *testing.T, msgs []string, n int) {
	t.Helper()
	if len(msgs) != n {
		t.Fatalf("got %d messages, want %d", len(msgs), n)
	}
	for i, m := range msgs {
		if !strings.HasSuffix(m, fmt.Sprintf(`"n":%d}`, i)) {
			t.Fatalf("message %d out of order: %s", i, m)
		}
	}
}

// TestShipperSpoolsUntilTheCollectorComesAndAcrossRestart: lines written
// while nothing listens wait in the spool, survive a restart of the
// shipper, and arrive in order, each once, when the collector listens.
func TestShipperSpoolsUntilTheCollectorComesAndAcrossRestart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: the collector is down
	dir := t.TempDir()

	s := newShipper(t, dir, "tcp://"+addr)
	stop := run(t, s)
	for i := range 500 {
		s.Write(Access, line(i))
	}
	stop()
	if st := s.State(); st.Connected || st.SpooledBytes == 0 || st.Shipped != 0 {
		t.Fatalf("after a run without collector: %+v", st)
	}

	s2 := newShipper(t, dir, "tcp://"+addr)
	if s2.Stats().SpooledBytes == 0 {
		t.Fatal("the spool did not survive the restart")
	}
	c := listenCollector(t, addr)
	stop2 := run(t, s2)
	for i := 500; i < 1000; i++ {
		s2.Write(Access, line(i))
	}
	msgs := c.waitFor(t, 1000)
	stop2()
	checkOrder(t, msgs, 1000)
	if st := s2.Stats(); st.Shipped != 1000 || st.SpooledBytes != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v: want 1000 shipped, nothing spooled or dropped", st)
	}
}

// TestShipperFlushesOnStop: lines written just before the context ends
// and before CloseInput are still sent.
func TestShipperFlushesOnStop(t *testing.T) {
	c := listenCollector(t, "127.0.0.1:0")
	s := newShipper(t, t.TempDir(), "tcp://"+c.ln.Addr().String())
	stop := run(t, s)
	c.waitFor(t, 0)
	for i := range 2000 {
		s.Write(Event, line(i))
	}
	stop()
	checkOrder(t, c.waitFor(t, 2000), 2000)
}
