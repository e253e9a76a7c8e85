package static_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestSPA(t *testing.T) {
	s := newSite(t)
	index := string(s.file(t, "index.html"))
	docs := string(s.file(t, "docs/index.html"))
	notFound := string(s.file(t, "404.html"))
	tests := []struct {
		name         string
		spa          bool
		target       string
		wantStatus   int
		wantBody     string // "" when not checked
		wantCache    string // "" when not checked
		wantLocation string
	}{
		{name: "root", spa: true, target: "/", wantStatus: 200, wantBody: index, wantCache: "no-cache"},
		{name: "index.html", spa: true, target: "/index.html", wantStatus: 200, wantBody: index, wantCache: "no-cache"},
		{name: "app route", spa: true, target: "/courses/42", wantStatus: 200, wantBody: index, wantCache: "no-cache"},
		{name: "app route trailing slash", spa: true, target: "/courses/42/", wantStatus: 200, wantBody: index, wantCache: "no-cache"},
		{name: "app route with query", spa: true, target: "/courses?page=2", wantStatus: 200, wantBody: index, wantCache: "no-cache"},
		{name: "missing asset is 404 page", spa: true, target: "/assets/missing.js", wantStatus: 404, wantBody: notFound, wantCache: "no-cache"},
		{name: "missing file with extension", spa: true, target: "/favicon.ico", wantStatus: 404, wantBody: notFound},
		{name: "dir without slash redirects", spa: true, target: "/docs", wantStatus: 308, wantLocation: "/docs/"},
		{name: "dir redirect keeps query", spa: true, target: "/docs?x=1", wantStatus: 308, wantLocation: "/docs/?x=1"},
		{name: "dir with slash serves index", spa: true, target: "/docs/", wantStatus: 200, wantBody: docs, wantCache: "no-cache"},
		{name: "dir index by name", spa: true, target: "/docs/index.html", wantStatus: 200, wantBody: docs},
		{name: "empty dir falls back", spa: true, target: "/emptydir/", wantStatus: 200, wantBody: index, wantCache: "no-cache"},
		{name: "empty dir without slash falls back", spa: true, target: "/emptydir", wantStatus: 200, wantBody: index, wantCache: "no-cache"},
		{name: "dir without index falls back", spa: true, target: "/assets/", wantStatus: 200, wantBody: index, wantCache: "no-cache"},
		{name: "404.html itself", spa: true, target: "/404.html", wantStatus: 200, wantBody: notFound},

		{name: "no spa: root", spa: false, target: "/", wantStatus: 200, wantBody: index},
		{name: "no spa: app route", spa: false, target: "/courses/42", wantStatus: 404, wantBody: notFound},
		{name: "no spa: empty dir", spa: false, target: "/emptydir/", wantStatus: 404, wantBody: notFound},
		{name: "no spa: dir without index", spa: false, target: "/assets/", wantStatus: 404, wantBody: notFound},
		{name: "no spa: dir with index", spa: false, target: "/docs/", wantStatus: 200, wantBody: docs},
	}
	handlers := map[bool]http.Handler{}
	for _, spa := range []bool{true, false} {
		opts := defaultOptions(s.root)
		opts.SPA = spa
		handlers[spa] = newHandler(t, opts)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := get(handlers[tc.spa], http.MethodGet, tc.target)
			if w.Code != tc.wantStatus {
				t.Fatalf("status: got %d, want %d", w.Code, tc.wantStatus)
			}
			if tc.wantBody != "" && w.Body.String() != tc.wantBody {
				t.Errorf("body: got %q, want %q", truncate(w.Body.Bytes()), truncate([]byte(tc.wantBody)))
			}
			if got := w.Header().Get("Cache-Control"); tc.wantCache != "" && got != tc.wantCache {
				t.Errorf("Cache-Control: got %q, want %q", got, tc.wantCache)
			}
			if got := w.Header().Get("Location"); got != tc.wantLocation {
				t.Errorf("Location: got %q, want %q", got, tc.wantLocation)
			}
		})
	}
}

// TestNoDirectoryListing checks that no answer for a directory names the
// files in it.
func TestNoDirectoryListing(t *testing.T) {
	s := newSite(t)
	s.write(t, "listme/only-file-here.txt", []byte("x"))
	for _, spa := range []bool{true, false} {
		opts := defaultOptions(s.root)
		opts.SPA = spa
		h := newHandler(t, opts)
		for _, target := range []string{"/emptydir/", "/assets/", "/listme/", "/listme"} {
			w := get(h, http.MethodGet, target)
			for _, name := range []string{"app-abc123.js", "style.css", "only-file-here", "big.js"} {
				if strings.Contains(w.Body.String(), name) {
					t.Errorf("spa=%v %s: body lists %q: %q", spa, target, name, truncate(w.Body.Bytes()))
				}
			}
		}
	}
}

// TestNoIndexAtAll checks the fallbacks when the root has no index.html and
// no 404.html: a plain 404, never a listing.
func TestNoIndexAtAll(t *testing.T) {
	s := newSite(t)
	h := newHandler(t, defaultOptions(s.root+"/assets"))
	for _, target := range []string{"/", "/courses/42", "/missing.js"} {
		w := get(h, http.MethodGet, target)
		if w.Code != http.StatusNotFound {
			t.Errorf("%s: status: got %d, want %d", target, w.Code, http.StatusNotFound)
		}
		if strings.Contains(w.Body.String(), "app-abc123.js") {
			t.Errorf("%s: body lists files: %q", target, w.Body.String())
		}
	}
}
