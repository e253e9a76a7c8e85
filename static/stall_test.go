package static_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCompressionDoesNotStallOtherFiles: while one request compresses a
// large file at the on-the-fly brotli level (milliseconds to hundreds), the
// file changes and another request replaces its cache entry. Requests for
// unrelated files must not wait for that compression.
func TestCompressionDoesNotStallOtherFiles(t *testing.T) {
	s := newSite(t)
	s.write(t, "assets/huge.js", jsText("huge", 6<<20)) // brotli takes hundreds of ms
	opts := defaultOptions(s.root)
	opts.CheckInterval = time.Millisecond
	h := newHandler(t, opts)
	get(h, http.MethodGet, "/assets/style.css") // cached, and stays valid
	get(h, http.MethodGet, "/assets/huge.js")   // cached without a variant

	compressed := make(chan struct{})
	go func() { // A: compresses huge.js with brotli
		defer close(compressed)
		get(h, http.MethodGet, "/assets/huge.js", "Accept-Encoding", "br")
	}()
	time.Sleep(20 * time.Millisecond)
	mod := s.modTime.Add(time.Hour)
	if err := os.Chtimes(filepath.Join(s.root, "assets", "huge.js"), mod, mod); err != nil {
		t.Fatal(err)
	}
	replaced := make(chan struct{})
	go func() { // B: sees the change and replaces the entry A is using
		defer close(replaced)
		get(h, http.MethodGet, "/assets/huge.js")
	}()
	time.Sleep(20 * time.Millisecond)

	start := time.Now()
	w := get(h, http.MethodGet, "/assets/style.css") // C: an unrelated file
	took := time.Since(start)
	select {
	case <-compressed:
		t.Errorf("style.css waited %v for huge.js's brotli compression to finish, want no wait", took)
	default:
	}
	if w.Code != http.StatusOK {
		t.Errorf("style.css: got %d, want %d", w.Code, http.StatusOK)
	}
	<-compressed
	<-replaced
}

// TestCacheSurvivesManyMisses sends more distinct missing names than the
// cache remembers, which drops every entry, and checks that the memory
// those entries held is given back: compression and 404.html still work.
func TestCacheSurvivesManyMisses(t *testing.T) {
	s := newSite(t)
	app := s.file(t, "assets/app-abc123.js")
	opts := defaultOptions(s.root)
	// Room for app.js, its gzip form and 404.html, with some to spare, but
	// not for a second copy of app.js.
	opts.MaxCacheBytes = int64(len(app)) + int64(len(gzipBytes(t, app, 9))) + int64(len(s.file(t, "404.html"))) + 512
	opts.Compress = []string{"gzip"}
	h := newHandler(t, opts)
	for round := range 2 { // the second round checks what the first one dropped
		w := get(h, http.MethodGet, "/assets/app-abc123.js", "Accept-Encoding", "gzip")
		if got := w.Header().Get("Content-Encoding"); got != "gzip" {
			t.Fatalf("round %d: Content-Encoding: got %q, want %q", round, got, "gzip")
		}
		for i := range 20_001 {
			target := fmt.Sprintf("/assets/miss-%d-%d.js", round, i)
			if w := get(h, http.MethodGet, target); w.Code != http.StatusNotFound {
				t.Fatalf("%s: got %d, want %d", target, w.Code, http.StatusNotFound)
			}
		}
		w = get(h, http.MethodGet, "/assets/nope.js")
		if !bytes.Contains(w.Body.Bytes(), []byte("NOT-FOUND-PAGE")) {
			t.Fatalf("round %d: 404 body: got %q, want 404.html", round, w.Body.String())
		}
	}
}
