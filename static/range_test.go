package static_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"testing"
)

func TestRange(t *testing.T) {
	s := newSite(t)
	h := newHandler(t, defaultOptions(s.root))
	app := s.file(t, "assets/app-abc123.js")
	size := len(app)
	tests := []struct {
		name       string
		target     string
		header     []string
		wantStatus int
		wantBody   []byte // nil when not checked
		wantRange  string
	}{
		{"first ten", "/assets/app-abc123.js", []string{"Range", "bytes=0-9"}, 206, app[:10], fmt.Sprintf("bytes 0-9/%d", size)},
		{"suffix", "/assets/app-abc123.js", []string{"Range", "bytes=-5"}, 206, app[size-5:], fmt.Sprintf("bytes %d-%d/%d", size-5, size-1, size)},
		{"open end", "/assets/app-abc123.js", []string{"Range", fmt.Sprintf("bytes=%d-", size-3)}, 206, app[size-3:], fmt.Sprintf("bytes %d-%d/%d", size-3, size-1, size)},
		{"identity even when gzip accepted", "/assets/app-abc123.js", []string{"Range", "bytes=0-9", "Accept-Encoding", "gzip, br"}, 206, app[:10], fmt.Sprintf("bytes 0-9/%d", size)},
		{"beyond end", "/assets/app-abc123.js", []string{"Range", fmt.Sprintf("bytes=%d-", size+10)}, 416, nil, fmt.Sprintf("bytes */%d", size)},
		{"garbage", "/assets/app-abc123.js", []string{"Range", "bytes=abc"}, 416, nil, ""},
		{"wrong unit", "/assets/app-abc123.js", []string{"Range", "lines=0-9"}, 416, nil, ""},
		{"reversed", "/assets/app-abc123.js", []string{"Range", "bytes=9-0"}, 416, nil, ""},
		{"if-range stale etag", "/assets/app-abc123.js", []string{"Range", "bytes=0-9", "If-Range", `"old"`}, 200, app, ""},
		{"spa fallback range", "/courses/42", []string{"Range", "bytes=0-14"}, 206, s.file(t, "index.html")[:15], ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := get(h, http.MethodGet, tc.target, tc.header...)
			if w.Code != tc.wantStatus {
				t.Fatalf("status: got %d, want %d", w.Code, tc.wantStatus)
			}
			if tc.wantBody != nil && !bytes.Equal(w.Body.Bytes(), tc.wantBody) {
				t.Errorf("body: got %q, want %q", truncate(w.Body.Bytes()), truncate(tc.wantBody))
			}
			if got := w.Header().Get("Content-Range"); tc.wantRange != "" && got != tc.wantRange {
				t.Errorf("Content-Range: got %q, want %q", got, tc.wantRange)
			}
			if got := w.Header().Get("Content-Encoding"); got != "" {
				t.Errorf("Content-Encoding: got %q, want none (ranges are of the identity form)", got)
			}
		})
	}
	t.Run("if-range current etag", func(t *testing.T) {
		etag := get(h, http.MethodGet, "/assets/app-abc123.js").Header().Get("ETag")
		w := get(h, http.MethodGet, "/assets/app-abc123.js", "Range", "bytes=0-9", "If-Range", etag)
		if w.Code != http.StatusPartialContent {
			t.Errorf("status: got %d, want %d", w.Code, http.StatusPartialContent)
		}
	})
}

func TestHEAD(t *testing.T) {
	s := newSite(t)
	h := newHandler(t, defaultOptions(s.root))
	tests := []struct {
		name, target, accept string
		wantStatus           int
		wantLength           int // -1: not checked
	}{
		{"file", "/assets/app-abc123.js", "", 200, len(s.file(t, "assets/app-abc123.js"))},
		{"index", "/", "", 200, len(s.file(t, "index.html"))},
		{"spa fallback", "/courses/42", "", 200, len(s.file(t, "index.html"))},
		{"gzip", "/assets/app-abc123.js", "gzip", 200, -1},
		{"not found", "/assets/missing.js", "", 404, len(s.file(t, "404.html"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := get(h, http.MethodHead, tc.target, "Accept-Encoding", tc.accept)
			if w.Code != tc.wantStatus {
				t.Fatalf("status: got %d, want %d", w.Code, tc.wantStatus)
			}
			if w.Body.Len() != 0 {
				t.Errorf("body: got %d bytes, want none", w.Body.Len())
			}
			cl := w.Header().Get("Content-Length")
			if cl == "" {
				t.Fatalf("Content-Length: got none, want one")
			}
			if tc.wantLength >= 0 && cl != strconv.Itoa(tc.wantLength) {
				t.Errorf("Content-Length: got %q, want %q", cl, strconv.Itoa(tc.wantLength))
			}
			if tc.accept != "" {
				g := get(h, http.MethodGet, tc.target, "Accept-Encoding", tc.accept)
				if got, want := cl, strconv.Itoa(g.Body.Len()); got != want {
					t.Errorf("HEAD Content-Length: got %q, want GET's body length %q", got, want)
				}
				if got, want := w.Header().Get("Content-Encoding"), g.Header().Get("Content-Encoding"); got != want {
					t.Errorf("HEAD Content-Encoding: got %q, want GET's %q", got, want)
				}
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	s := newSite(t)
	h := newHandler(t, defaultOptions(s.root))
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions, "PROPFIND"} {
		t.Run(method, func(t *testing.T) {
			w := get(h, method, "/index.html")
			if w.Code != http.StatusMethodNotAllowed {
				t.Errorf("status: got %d, want %d", w.Code, http.StatusMethodNotAllowed)
			}
			if got, want := w.Header().Get("Allow"), "GET, HEAD"; got != want {
				t.Errorf("Allow: got %q, want %q", got, want)
			}
			if bytes.Contains(w.Body.Bytes(), []byte("INDEX-PAGE")) {
				t.Errorf("body: got the page, want none")
			}
		})
	}
}
