package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// testFraming checks the message framing behaviours of edge's upstream
// client against real uvicorn: HEAD without a hang, chunked request bodies
// over HTTP/1.1 and length-less ones over HTTP/2, 100-continue, and a
// pooled connection that uvicorn closed while it was idle.
func testFraming(t *testing.T, e *Edge) {
	t.Run("head", func(t *testing.T) {
		// FastAPI answers HEAD on a GET route with 405 and the length of
		// the body a GET would get: a head that announces a body that
		// never comes, which must neither hang nor be waited for.
		resp, b := do(t, e.Client1(), http.MethodHead, e.URL("/api/courses"), nil)
		wantStatus(t, resp, b, http.StatusMethodNotAllowed)
		if len(b) != 0 || resp.ContentLength <= 0 {
			t.Errorf("HEAD: body %q, Content-Length %d; want no body and the announced length", b, resp.ContentLength)
		}
		resp, b = get(t, e.Client1(), e.URL("/api/courses")) // the connection is still usable
		wantStatus(t, resp, b, http.StatusOK)
	})
	for _, proto := range []string{"h1", "h2"} {
		t.Run("unknown-length-body-"+proto, func(t *testing.T) {
			c := e.Client1()
			if proto == "h2" {
				c = e.Client()
			}
			body := fmt.Sprintf(`{"slug":"framing-%s-%d","title":"Chunked upload"}`, proto, time.Now().UnixNano())
			// A MultiReader hides the length: chunked over HTTP/1.1, no
			// content-length over HTTP/2.
			resp, b := do(t, c, http.MethodPost, e.URL("/api/courses"), io.MultiReader(strings.NewReader(body)),
				header("Content-Type", "application/json"))
			wantStatus(t, resp, b, http.StatusCreated)
			if resp.ProtoMajor != map[string]int{"h1": 1, "h2": 2}[proto] {
				t.Errorf("answered over %s, want %s", resp.Proto, proto)
			}
		})
	}
	t.Run("100-continue", func(t *testing.T) {
		conn := e.DialSite(t)
		body := fmt.Sprintf(`{"slug":"framing-continue-%d","title":"Expect"}`, time.Now().UnixNano())
		fmt.Fprintf(conn, "POST /api/courses HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
			"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", domain, len(body))
		br := bufio.NewReader(conn)
		line, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
			t.Fatalf("first line %q, %v; want 100 Continue", line, err)
		}
		if l, _ := br.ReadString('\n'); l != "\r\n" {
			t.Fatalf("100 Continue followed by %q", l)
		}
		_, _ = io.WriteString(conn, body)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("response %v, %v; want 201", resp, err)
		}
	})
	t.Run("stale-pooled-connection", func(t *testing.T) {
		for range 3 { // edge keeps the upstream connection alive in its pool
			resp, b := get(t, e.Client(), e.URL("/api/health"))
			wantStatus(t, resp, b, http.StatusOK)
		}
		// uvicorn closes a connection idle for 5 s (--timeout-keep-alive):
		// the wait is the behaviour under test, there is nothing to poll.
		time.Sleep(6 * time.Second)
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			target, body := "/api/health", io.Reader(nil)
			if m == http.MethodPost {
				target = "/api/courses"
				body = strings.NewReader(fmt.Sprintf(`{"slug":"framing-stale-%d","title":"Stale"}`, time.Now().UnixNano()))
			}
			resp, b := do(t, e.Client(), m, e.URL(target), body, header("Content-Type", "application/json"))
			if resp.StatusCode >= 500 {
				t.Fatalf("%s %s after the upstream closed idle connections: %d %s", m, target, resp.StatusCode, b)
			}
		}
	})
}
