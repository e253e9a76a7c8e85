package static_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gitcourse/edge/static"
)

func TestCacheControl(t *testing.T) {
	s := newSite(t)
	h := newHandler(t, defaultOptions(s.root))
	tests := []struct {
		name, target, want string
	}{
		{"immutable asset", "/assets/app-abc123.js", static.CacheImmutable},
		{"immutable css", "/assets/style.css", static.CacheImmutable},
		{"immutable precompressed", "/assets/big.js", static.CacheImmutable},
		{"index", "/", static.CacheRevalidate},
		{"spa fallback", "/courses/42", static.CacheRevalidate},
		{"dir index", "/docs/", static.CacheRevalidate},
		{"file outside immutable prefix", "/link-in.css", static.CacheRevalidate},
		{"404 under immutable prefix", "/assets/missing.js", static.CacheRevalidate},
	}
	if static.CacheImmutable != "public, max-age=31536000, immutable" {
		t.Errorf("CacheImmutable: got %q, want %q", static.CacheImmutable, "public, max-age=31536000, immutable")
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := get(h, http.MethodGet, tc.target)
			if got := w.Header().Get("Cache-Control"); got != tc.want {
				t.Errorf("Cache-Control of %s: got %q, want %q", tc.target, got, tc.want)
			}
		})
	}
}

// TestImmutableHTMLRevalidates: an HTML file is never cached for a year,
// even under an immutable prefix, since its URL does not change per build.
func TestImmutableHTMLRevalidates(t *testing.T) {
	s := newSite(t)
	s.write(t, "assets/embed.html", []byte("<p>embed</p>"))
	h := newHandler(t, defaultOptions(s.root))
	w := get(h, http.MethodGet, "/assets/embed.html")
	if got := w.Header().Get("Cache-Control"); got != static.CacheRevalidate {
		t.Errorf("Cache-Control: got %q, want %q", got, static.CacheRevalidate)
	}
}

func TestValidators(t *testing.T) {
	s := newSite(t)
	h := newHandler(t, defaultOptions(s.root))
	first := get(h, http.MethodGet, "/assets/app-abc123.js")
	etag := first.Header().Get("ETag")
	lastMod := first.Header().Get("Last-Modified")
	if etag == "" || etag[0] != '"' {
		t.Fatalf("ETag: got %q, want a quoted strong validator", etag)
	}
	if want := s.modTime.Format(http.TimeFormat); lastMod != want {
		t.Fatalf("Last-Modified: got %q, want %q", lastMod, want)
	}
	spaETag := get(h, http.MethodGet, "/courses/1").Header().Get("ETag")
	if indexETag := get(h, http.MethodGet, "/").Header().Get("ETag"); spaETag == "" || spaETag != indexETag {
		t.Errorf("SPA fallback ETag: got %q, want index.html's %q", spaETag, indexETag)
	}

	tests := []struct {
		name       string
		target     string
		header     []string
		wantStatus int
	}{
		{"if-none-match", "/assets/app-abc123.js", []string{"If-None-Match", etag}, 304},
		{"if-none-match weak", "/assets/app-abc123.js", []string{"If-None-Match", "W/" + etag}, 304},
		{"if-none-match in list", "/assets/app-abc123.js", []string{"If-None-Match", `"nope", ` + etag}, 304},
		{"if-none-match star", "/assets/app-abc123.js", []string{"If-None-Match", "*"}, 304},
		{"if-none-match other", "/assets/app-abc123.js", []string{"If-None-Match", `"nope"`}, 200},
		{"if-modified-since same", "/assets/app-abc123.js", []string{"If-Modified-Since", lastMod}, 304},
		{"if-modified-since later", "/assets/app-abc123.js", []string{"If-Modified-Since", s.modTime.Add(time.Hour).Format(http.TimeFormat)}, 304},
		{"if-modified-since earlier", "/assets/app-abc123.js", []string{"If-Modified-Since", s.modTime.Add(-time.Second).Format(http.TimeFormat)}, 200},
		{"if-modified-since garbage", "/assets/app-abc123.js", []string{"If-Modified-Since", "yesterday"}, 200},
		{"inm wins over ims", "/assets/app-abc123.js", []string{"If-None-Match", `"nope"`, "If-Modified-Since", lastMod}, 200},
		{"if-match ok", "/assets/app-abc123.js", []string{"If-Match", etag}, 200},
		{"if-match fails", "/assets/app-abc123.js", []string{"If-Match", `"nope"`}, 412},
		{"spa fallback revalidates", "/courses/1", []string{"If-None-Match", spaETag}, 304},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := get(h, http.MethodGet, tc.target, tc.header...)
			if w.Code != tc.wantStatus {
				t.Fatalf("status: got %d, want %d", w.Code, tc.wantStatus)
			}
			if w.Code == http.StatusNotModified {
				if w.Body.Len() != 0 {
					t.Errorf("304 body: got %q, want none", truncate(w.Body.Bytes()))
				}
				if got := w.Header().Get("ETag"); got == "" {
					t.Errorf("304 ETag: got %q, want the validator", got)
				}
				if got := w.Header().Get("Content-Type"); got != "" {
					t.Errorf("304 Content-Type: got %q, want none", got)
				}
			}
		})
	}
}

// TestChangedFileSeen rewrites a cached file with the same size and a newer
// mtime; after CheckInterval the new bytes and a new ETag are served.
func TestChangedFileSeen(t *testing.T) {
	s := newSite(t)
	opts := defaultOptions(s.root)
	opts.CheckInterval = time.Millisecond
	h := newHandler(t, opts)

	const target = "/assets/app-abc123.js"
	before := get(h, http.MethodGet, target)
	oldETag := before.Header().Get("ETag")
	oldGzip := get(h, http.MethodGet, target, "Accept-Encoding", "gzip").Header().Get("ETag")

	updated := bytes.ToUpper(s.file(t, "assets/app-abc123.js")) // same size
	p := filepath.Join(s.root, "assets", "app-abc123.js")
	if err := os.WriteFile(p, updated, 0o644); err != nil {
		t.Fatal(err)
	}
	newer := s.modTime.Add(time.Hour)
	if err := os.Chtimes(p, newer, newer); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)

	after := get(h, http.MethodGet, target)
	if got := after.Header().Get("ETag"); got == oldETag {
		t.Errorf("ETag after change: got %q, want a new one", got)
	}
	if !bytes.Equal(after.Body.Bytes(), updated) {
		t.Errorf("body after change: got %q, want %q", truncate(after.Body.Bytes()), truncate(updated))
	}
	if got, want := after.Header().Get("Last-Modified"), newer.Format(http.TimeFormat); got != want {
		t.Errorf("Last-Modified after change: got %q, want %q", got, want)
	}
	if w := get(h, http.MethodGet, target, "If-None-Match", oldETag); w.Code != http.StatusOK {
		t.Errorf("If-None-Match with the old ETag: got %d, want %d", w.Code, http.StatusOK)
	}
	gz := get(h, http.MethodGet, target, "Accept-Encoding", "gzip")
	if got := gz.Header().Get("ETag"); got == oldGzip {
		t.Errorf("gzip ETag after change: got %q, want a new one", got)
	}
	if got := decode(t, gz.Header().Get("Content-Encoding"), gz.Body.Bytes()); !bytes.Equal(got, updated) {
		t.Errorf("gzip body after change: got %q, want %q", truncate(got), truncate(updated))
	}
}

// TestNewAndRemovedFilesSeen: a file that appears is served, and one that
// is removed stops being served, after CheckInterval.
func TestNewAndRemovedFilesSeen(t *testing.T) {
	s := newSite(t)
	opts := defaultOptions(s.root)
	opts.CheckInterval = time.Millisecond
	h := newHandler(t, opts)
	if w := get(h, http.MethodGet, "/assets/late.js"); w.Code != http.StatusNotFound {
		t.Fatalf("before: got %d, want %d", w.Code, http.StatusNotFound)
	}
	if w := get(h, http.MethodGet, "/emptydir/"); w.Body.String() != string(s.file(t, "index.html")) {
		t.Fatalf("empty dir before: got %q, want index.html", truncate(w.Body.Bytes()))
	}
	s.write(t, "assets/late.js", []byte("late"))
	s.write(t, "emptydir/index.html", []byte("<p>now with index</p>"))
	if err := os.Remove(filepath.Join(s.root, "assets", "style.css")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if w := get(h, http.MethodGet, "/assets/late.js"); w.Code != http.StatusOK || w.Body.String() != "late" {
		t.Errorf("new file: got %d %q, want 200 %q", w.Code, w.Body.String(), "late")
	}
	if w := get(h, http.MethodGet, "/emptydir/"); w.Body.String() != "<p>now with index</p>" {
		t.Errorf("new dir index: got %q, want %q", truncate(w.Body.Bytes()), "<p>now with index</p>")
	}
	if w := get(h, http.MethodGet, "/assets/style.css"); w.Code != http.StatusNotFound {
		t.Errorf("removed file: got %d, want %d", w.Code, http.StatusNotFound)
	}
}
