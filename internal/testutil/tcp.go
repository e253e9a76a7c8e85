package testutil

import (
	"net"
	"testing"
)

// ServeTCP listens on a free port of 127.0.0.1 and runs serve on its own
// goroutine for every connection it accepts, until the test ends (the
// listener is closed in t.Cleanup). serve owns the connection.
func ServeTCP(t testing.TB, serve func(net.Conn)) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return ln
}
