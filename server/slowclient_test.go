package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestMinBodyRate: a body that trickles slower than bodyMinRate after the
// grace period fails the read; a normal upload and the next request on
// the same connection are not affected.
func TestMinBodyRate(t *testing.T) {
	old := bodyGrace
	bodyGrace = 300 * time.Millisecond
	t.Cleanup(func() { bodyGrace = old })
	readErr := make(chan error, 4)
	srv := httptest.NewServer(minBodyRate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		readErr <- err
		if err != nil {
			http.Error(w, "slow", http.StatusRequestTimeout)
			return
		}
		time.Sleep(2 * bodyGrace) // a slow handler after the body must not be cut
		_, _ = io.WriteString(w, strings.Repeat("k", int(n%10)))
	})))
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	// A normal upload, then a second request on the same connection.
	for i := range 2 {
		if _, err := io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || <-readErr != nil {
			t.Fatalf("request %d: %s", i, resp.Status)
		}
	}
	// A trickle: 1 byte, then silence past the grace period.
	if _, err := io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nx"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-readErr:
		if err == nil {
			t.Fatal("the slow body was read to the end")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the slow body read did not fail within 5s")
	}
}
