package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

// listenerModes runs a test against edge with HTTPS (internal CA) and
// with server.https = "" (the site on the HTTP listener).
var listenerModes = []struct {
	name    string
	noHTTPS bool
}{
	{"https", false},
	{"plain-http", true},
}

func TestStatic(t *testing.T) {
	t.Parallel()
	for _, mode := range listenerModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			e := startEdge(t, Options{NoHTTPS: mode.noHTTPS})
			c := e.Client()

			t.Run("index", func(t *testing.T) {
				for _, p := range []string{"/", "/index.html"} {
					resp, body := get(t, c, e.URL(p))
					wantStatus(t, resp, body, http.StatusOK)
					if string(body) != indexHTML {
						t.Errorf("GET %s: body is not index.html: %.200q", p, body)
					}
					if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/html") {
						t.Errorf("GET %s: Content-Type %q, want text/html", p, got)
					}
					if resp.Header.Get("ETag") == "" {
						t.Errorf("GET %s: no ETag", p)
					}
					if _, err := http.ParseTime(resp.Header.Get("Last-Modified")); err != nil {
						t.Errorf("GET %s: Last-Modified %q: %v", p, resp.Header.Get("Last-Modified"), err)
					}
					if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
						t.Errorf("GET %s: Cache-Control %q, want %q", p, got, "no-cache")
					}
				}
				if !mode.noHTTPS {
					resp, _ := get(t, c, e.URL("/"))
					if resp.ProtoMajor != 2 {
						t.Errorf("HTTPS GET /: protocol %s, want HTTP/2 (ALPN h2)", resp.Proto)
					}
				}
			})

			t.Run("spa-fallback", func(t *testing.T) {
				for _, p := range []string{"/courses/1", "/courses/1/lessons/intro", "/login"} {
					resp, body := get(t, c, e.URL(p))
					wantStatus(t, resp, body, http.StatusOK)
					if string(body) != indexHTML {
						t.Errorf("GET %s: body is not index.html: %.200q", p, body)
					}
					if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
						t.Errorf("GET %s: Cache-Control %q, want %q", p, got, "no-cache")
					}
				}
			})

			t.Run("missing-asset-404", func(t *testing.T) {
				for _, p := range []string{"/assets/missing.js", "/favicon.ico", "/assets/app-3f2a1b9c.js.map"} {
					resp, body := get(t, c, e.URL(p))
					wantStatus(t, resp, body, http.StatusNotFound)
					if bytes.Contains(body, []byte("<div id=\"root\">")) {
						t.Errorf("GET %s: 404 served the SPA index", p)
					}
				}
			})

			t.Run("immutable-asset", func(t *testing.T) {
				resp, body := get(t, c, e.URL(assetPath))
				wantStatus(t, resp, body, http.StatusOK)
				if string(body) != appJS {
					t.Errorf("GET %s: body differs from the file (%d bytes, want %d)", assetPath, len(body), len(appJS))
				}
				if got, want := resp.Header.Get("Cache-Control"), "public, max-age=31536000, immutable"; got != want {
					t.Errorf("Cache-Control %q, want %q", got, want)
				}
				if got := resp.Header.Get("Content-Type"); !strings.Contains(got, "javascript") {
					t.Errorf("Content-Type %q, want text/javascript", got)
				}
				// Outside the immutable prefixes: revalidate.
				resp, body = get(t, c, e.URL("/robots.txt"))
				wantStatus(t, resp, body, http.StatusOK)
				if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
					t.Errorf("GET /robots.txt: Cache-Control %q, want no-cache", got)
				}
			})

			t.Run("conditional-304", func(t *testing.T) {
				for _, p := range []string{"/", assetPath} {
					resp, body := get(t, c, e.URL(p))
					wantStatus(t, resp, body, http.StatusOK)
					etag, lastMod := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")

					resp, body = get(t, c, e.URL(p), header("If-None-Match", etag))
					wantStatus(t, resp, body, http.StatusNotModified)
					if len(body) != 0 {
						t.Errorf("GET %s 304: body of %d bytes", p, len(body))
					}
					if got := resp.Header.Get("ETag"); got != etag {
						t.Errorf("GET %s 304: ETag %q, want %q", p, got, etag)
					}
					resp, body = get(t, c, e.URL(p), header("If-Modified-Since", lastMod))
					wantStatus(t, resp, body, http.StatusNotModified)

					resp, body = get(t, c, e.URL(p), header("If-None-Match", `"not-the-etag"`))
					wantStatus(t, resp, body, http.StatusOK)
				}
			})

			t.Run("range-206", func(t *testing.T) {
				resp, body := get(t, c, e.URL(assetPath), header("Range", "bytes=0-99"))
				wantStatus(t, resp, body, http.StatusPartialContent)
				if string(body) != appJS[:100] {
					t.Errorf("Range bytes=0-99: got %q, want %q", body, appJS[:100])
				}
				if got, want := resp.Header.Get("Content-Range"), fmt.Sprintf("bytes 0-99/%d", len(appJS)); got != want {
					t.Errorf("Content-Range %q, want %q", got, want)
				}
				resp, body = get(t, c, e.URL(assetPath), header("Range", "bytes=-10"))
				wantStatus(t, resp, body, http.StatusPartialContent)
				if string(body) != appJS[len(appJS)-10:] {
					t.Errorf("Range bytes=-10: got %q, want %q", body, appJS[len(appJS)-10:])
				}
				resp, body = get(t, c, e.URL(assetPath), header("Range", "bytes=999999-"))
				wantStatus(t, resp, body, http.StatusRequestedRangeNotSatisfiable)
			})

			t.Run("compression", func(t *testing.T) {
				decoders := map[string]func(io.Reader) (io.Reader, error){
					"gzip": func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) },
					"br":   func(r io.Reader) (io.Reader, error) { return brotli.NewReader(r), nil },
				}
				for _, tc := range []struct{ accept, want string }{
					{"gzip", "gzip"},
					{"br", "br"},
					{"gzip, deflate, br", "br"},
					{"br;q=0, gzip", "gzip"},
					{"", ""},
					{"identity", ""},
				} {
					resp, body := get(t, c, e.URL(assetPath), header("Accept-Encoding", tc.accept))
					wantStatus(t, resp, body, http.StatusOK)
					if got := resp.Header.Get("Content-Encoding"); got != tc.want {
						t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", tc.accept, got, tc.want)
						continue
					}
					if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
						t.Errorf("Accept-Encoding %q: Vary %q lacks Accept-Encoding", tc.accept, resp.Header.Get("Vary"))
					}
					decoded := body
					if tc.want != "" {
						r, err := decoders[tc.want](bytes.NewReader(body))
						if err == nil {
							decoded, err = io.ReadAll(r)
						}
						if err != nil {
							t.Errorf("Accept-Encoding %q: decode %s: %v", tc.accept, tc.want, err)
							continue
						}
						if len(body) >= len(appJS) {
							t.Errorf("Accept-Encoding %q: %d bytes compressed, not smaller than %d", tc.accept, len(body), len(appJS))
						}
					}
					if string(decoded) != appJS {
						t.Errorf("Accept-Encoding %q: decoded body differs from the file", tc.accept)
					}
				}
			})

			t.Run("never-served", func(t *testing.T) {
				for _, p := range []string{
					"/.env", "/%2eenv", "/.git/config", "/.git/", "/assets/../.env",
					"/leak.txt", "/outdir/s.txt", "/outdir/",
				} {
					resp, body := get(t, c, e.URL(p))
					if resp.StatusCode != http.StatusNotFound {
						t.Errorf("GET %s: status %d, want 404", p, resp.StatusCode)
					}
					if leaks(body) {
						t.Errorf("GET %s: response leaks a secret: %.200q", p, body)
					}
				}
			})

			t.Run("traversal-raw", func(t *testing.T) {
				for _, target := range []string{
					"/../../../../etc/passwd",
					"/assets/../../outside/s.txt",
					"/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
					"/..%2f..%2f..%2f..%2fetc%2fpasswd",
					"/assets/..%5c..%5c.env",
					"/.%2e/.%2e/.%2e/etc/passwd",
					"//etc/passwd",
					"/assets/%252e%252e/%252e%252e/etc/passwd",
					"/..",
				} {
					conn := e.DialSite(t)
					fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, domain)
					resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
					if err != nil {
						t.Errorf("GET %s: read response: %v", target, err)
						continue
					}
					body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
					resp.Body.Close()
					conn.Close()
					if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusBadRequest {
						t.Errorf("GET %s: status %d, want 404 or 400", target, resp.StatusCode)
					}
					if leaks(body) {
						t.Errorf("GET %s: response leaks a file: %.200q", target, body)
					}
				}
			})

			t.Run("method", func(t *testing.T) {
				resp, body := do(t, c, http.MethodPost, e.URL("/"), strings.NewReader("x"))
				wantStatus(t, resp, body, http.StatusMethodNotAllowed)
				resp, body = do(t, c, http.MethodHead, e.URL("/"), nil)
				wantStatus(t, resp, body, http.StatusOK)
				if got, want := resp.Header.Get("Content-Length"), strconv.Itoa(len(indexHTML)); got != want {
					t.Errorf("HEAD /: Content-Length %q, want %q", got, want)
				}
			})

			t.Run("healthz", func(t *testing.T) {
				start := time.Now()
				resp, body := get(t, c, e.URL("/healthz"))
				wantStatus(t, resp, body, http.StatusOK)
				if strings.TrimSpace(string(body)) != "ok" {
					t.Errorf("GET /healthz: body %q, want %q", body, "ok")
				}
				if d := time.Since(start); d > time.Second {
					t.Errorf("GET /healthz took %s", d)
				}
			})
		})
	}
}
