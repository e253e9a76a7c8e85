package server

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
)

// BenchmarkChainSmallFile measures the whole request path (request id,
// recover, headers, log/metrics, host check, router, static) for a small
// cached file, without the network.
func BenchmarkChainSmallFile(b *testing.B) {
	cfg := testConfigTB(b)
	s, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Stdout: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	defer s.closeListeners()
	h := s.dispatch(false)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest("GET", "http://localhost/", nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}
