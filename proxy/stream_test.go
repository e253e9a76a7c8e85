package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestProxyStreamingFlush: the upstream writes one piece, flushes and waits
// until the client has read it through the proxy; buffering would
// deadlock and time out.
func TestProxyStreamingFlush(t *testing.T) {
	for _, ct := range []string{"text/event-stream", "application/x-ndjson"} {
		t.Run(ct, func(t *testing.T) {
			release := make(chan struct{})
			up := newBackend(t, "up", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", ct)
				for i := range 3 {
					fmt.Fprintf(w, "data: event %d\n\n", i)
					w.(http.Flusher).Flush()
					select {
					case <-release:
					case <-r.Context().Done():
						return
					}
				}
			})
			f := newFront(t, routeConfig(up.addr()), nil)
			res, err := f.srv.Client().Get(f.srv.URL + "/api/events")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			br := bufio.NewReader(res.Body)
			for i := range 3 {
				got := make(chan string, 1)
				go func() {
					line, _ := br.ReadString('\n')
					_, _ = br.ReadString('\n') // the blank line
					got <- line
				}()
				select {
				case line := <-got:
					if want := fmt.Sprintf("data: event %d\n", i); line != want {
						t.Fatalf("read %q, want %q", line, want)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("event %d not delivered while the upstream waits: the proxy buffers", i)
				}
				release <- struct{}{}
			}
		})
	}
}

// TestProxyUpgrade: an upgraded connection passes through both ways and
// outlives the response header timeout.
func TestProxyUpgrade(t *testing.T) {
	up := newBackend(t, "up", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" || !strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade") {
			http.Error(w, "not an upgrade: "+fmt.Sprint(r.Header), http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		for { // line echo
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			_, _ = brw.WriteString("echo: " + line)
			_ = brw.Flush()
		}
	})
	rc := routeConfig(up.addr())
	rc.Timeouts.ResponseHeader = dur(100 * time.Millisecond)
	f := newFront(t, rc, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(conn, "GET /api/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("status %d, want 101: %s", res.StatusCode, body)
	}
	for i, wait := range []time.Duration{0, 300 * time.Millisecond} {
		time.Sleep(wait) // idle longer than the response header timeout
		fmt.Fprintf(conn, "hello %d\n", i)
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("message %d after %s idle: %v", i, wait, err)
		}
		if want := fmt.Sprintf("echo: hello %d\n", i); line != want {
			t.Fatalf("got %q, want %q", line, want)
		}
	}
	conn.Close()
	waitFor(t, 5*time.Second, "the upgrade to be counted as 101", func() bool {
		return f.answered(http.StatusSwitchingProtocols) == 1
	})
}
