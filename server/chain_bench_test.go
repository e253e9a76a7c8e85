package server

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkChainCommon measures the request path common to static files
// and the proxy (request id, recover, security headers, access log and
// metrics, host check, limits, router) for a 1 KB cached file, with one
// request and a discarding writer reused, so that allocs/op counts edge's
// own allocations only. "log" writes the access log (JSON to a discarding
// writer), "nolog" has access_log = "off".
func BenchmarkChainCommon(b *testing.B) {
	for _, name := range []string{"nolog", "log"} {
		b.Run(name, func(b *testing.B) {
			cfg := testConfigTB(b)
			if err := os.WriteFile(filepath.Join(cfg.Site.Root, "favicon.ico"), make([]byte, 1024), 0o644); err != nil {
				b.Fatal(err)
			}
			if name == "log" {
				cfg.Server.AccessLog = "stdout"
			}
			s, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Stdout: io.Discard})
			if err != nil {
				b.Fatal(err)
			}
			defer s.closeListeners()
			h := s.dispatch(false)
			r, _ := http.NewRequest("GET", "http://localhost/favicon.ico", nil)
			r.RemoteAddr = "127.0.0.1:40000"
			r.Header.Set("User-Agent", "bench")
			w := &benchWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				w.code = 0
				h.ServeHTTP(w, r)
				if w.code != http.StatusOK {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}

// benchWriter is a ResponseWriter that keeps the status only.
type benchWriter struct {
	h    http.Header
	code int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }
