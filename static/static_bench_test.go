package static_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// benchServe serves target b.N times with a warm cache; each iteration
// records into a new httptest.ResponseRecorder, as a test would.
func benchServe(b *testing.B, target, accept string, wantEnc string) {
	s := newSite(b)
	s.write(b, "assets/bundle-200k.js", jsText("bundle", 200<<10))
	opts := defaultOptions(s.root)
	opts.CheckInterval = time.Hour // measure serving, not the stat
	h := newHandler(b, opts)
	r := httptest.NewRequest(http.MethodGet, target, nil)
	if accept != "" {
		r.Header.Set("Accept-Encoding", accept)
	}
	warm := httptest.NewRecorder()
	h.ServeHTTP(warm, r) // compress once, outside the timer
	if warm.Code != http.StatusOK || warm.Header().Get("Content-Encoding") != wantEnc {
		b.Fatalf("%s: got %d %q, want 200 %q", target, warm.Code, warm.Header().Get("Content-Encoding"), wantEnc)
	}
	b.SetBytes(int64(warm.Body.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status: got %d, want %d", w.Code, http.StatusOK)
		}
	}
}

// BenchmarkSmallFile serves the 2 KB index.html, identity.
func BenchmarkSmallFile(b *testing.B) { benchServe(b, "/index.html", "", "") }

// BenchmarkSPAFallback serves index.html for an app route.
func BenchmarkSPAFallback(b *testing.B) { benchServe(b, "/courses/42/lessons/7", "", "") }

// BenchmarkGzip200KB serves the cached gzip form of a 200 KB bundle.
func BenchmarkGzip200KB(b *testing.B) { benchServe(b, "/assets/bundle-200k.js", "gzip", "gzip") }

// BenchmarkBrotli200KB serves the cached brotli form of a 200 KB bundle.
func BenchmarkBrotli200KB(b *testing.B) { benchServe(b, "/assets/bundle-200k.js", "br", "br") }

// BenchmarkBrotli200KBCold is the first brotli request for a 200 KB bundle
// after a release (Invalidate): it pays for compressing at the on-the-fly
// level (onTheFlyBrotliLevel), on the request path.
func BenchmarkBrotli200KBCold(b *testing.B) {
	s := newSite(b)
	s.write(b, "assets/bundle-200k.js", jsText("bundle", 200<<10))
	h := newHandler(b, defaultOptions(s.root))
	r := httptest.NewRequest(http.MethodGet, "/assets/bundle-200k.js", nil)
	r.Header.Set("Accept-Encoding", "br")
	b.ReportAllocs()
	for b.Loop() {
		if err := h.Invalidate(); err != nil {
			b.Fatal(err)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Header().Get("Content-Encoding") != "br" {
			b.Fatalf("Content-Encoding: got %q, want %q", w.Header().Get("Content-Encoding"), "br")
		}
	}
}
