package server

import (
	"github.com/gitcourse/edge/clientaddr"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gitcourse/edge/config"
)

// TestConnLimiterSharedAcrossListeners: the cap counts one address's
// connections on every listener together, frees a slot on close, and
// never counts a trusted proxy.
func TestConnLimiterSharedAcrossListeners(t *testing.T) {
	cfg := &config.Config{}
	cfg.Server.MaxConnsPerIP = 2
	trusted := clientaddr.NewTrusted([]netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")})
	st := &site{cfg: cfg, trusted: trusted}
	cl := newConnLimiter(func() *site { return st }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var lns []net.Listener
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		lns = append(lns, cl.wrap(ln))
	}
	accepted := make(chan net.Conn, 16)
	for _, ln := range lns {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted <- c
			}
		}()
	}
	dial := func(ln net.Listener, src string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: time.Second}
		c, err := d.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	closedByPeer := func(c net.Conn) bool {
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		_, err := c.Read(make([]byte, 1))
		return err == io.EOF
	}
	dial(lns[0], "127.0.0.1")
	first := <-accepted
	dial(lns[1], "127.0.0.1")
	<-accepted
	if third := dial(lns[0], "127.0.0.1"); !closedByPeer(third) {
		t.Fatal("a third connection from one address was not closed at accept")
	}
	for range 3 {
		dial(lns[1], "127.0.0.2") // trusted proxy: not counted
		<-accepted
	}
	first.Close()
	dial(lns[1], "127.0.0.1")
	select {
	case <-accepted:
	case <-time.After(2 * time.Second):
		t.Fatal("a closed connection did not free its slot")
	}
}

// TestCountedConnHalfCloses: a counted TCP connection keeps CloseWrite,
// which net/http's graceful close needs: the peer reads EOF and can still
// send its bytes back.
func TestCountedConnHalfCloses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	raw, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	released := 0
	c := &countedConn{Conn: raw, release: func() { released++ }}
	defer c.Close()
	cw, ok := any(c).(interface{ CloseWrite() error })
	if !ok {
		t.Fatal("countedConn has no CloseWrite: net/http would reset instead of closing gracefully")
	}
	if err := cw.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = client.SetDeadline(time.Now().Add(5 * time.Second))
	if n, err := client.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("peer read %d, %v after CloseWrite; want EOF", n, err)
	}
	if _, err := client.Write([]byte("late")); err != nil {
		t.Fatalf("peer cannot write after a half close: %v", err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "late" {
		t.Fatalf("read %q, %v after the half close; want \"late\"", buf, err)
	}
	if released != 0 {
		t.Errorf("slot released by CloseWrite; only Close frees it")
	}
}
