package static_test

import (
	"net/http"
	"testing"
)

func TestContentType(t *testing.T) {
	s := newSite(t)
	s.write(t, "assets/mod.mjs", []byte("export {}"))
	s.write(t, "assets/app.js.map", []byte("{}"))
	s.write(t, "manifest.webmanifest", []byte("{}"))
	s.write(t, "assets/UPPER.JS", []byte("x"))
	s.write(t, "assets/app.wasm", []byte("\x00asm"))
	s.write(t, "assets/noext", []byte("x"))
	h := newHandler(t, defaultOptions(s.root))
	tests := []struct {
		name, target, want string
	}{
		{"js", "/assets/app-abc123.js", "text/javascript; charset=utf-8"},
		{"mjs", "/assets/mod.mjs", "text/javascript; charset=utf-8"},
		{"upper case extension", "/assets/UPPER.JS", "text/javascript; charset=utf-8"},
		{"css", "/assets/style.css", "text/css; charset=utf-8"},
		{"html", "/docs/index.html", "text/html; charset=utf-8"},
		{"index", "/", "text/html; charset=utf-8"},
		{"spa fallback", "/courses/42", "text/html; charset=utf-8"},
		{"404 page", "/assets/missing.js", "text/html; charset=utf-8"},
		{"svg", "/assets/icon.svg", "image/svg+xml"},
		{"json", "/assets/data.json", "application/json"},
		{"source map", "/assets/app.js.map", "application/json"},
		{"webmanifest", "/manifest.webmanifest", "application/manifest+json"},
		{"woff2", "/assets/font.woff2", "font/woff2"},
		{"png", "/assets/logo.png", "image/png"},
		{"wasm", "/assets/app.wasm", "application/wasm"},
		{"unknown extension", "/assets/blob.qqzz", "application/octet-stream"},
		{"existing file without extension", "/assets/noext", "application/octet-stream"},
		{"well-known txt", "/.well-known/security.txt", "text/plain; charset=utf-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := get(h, http.MethodGet, tc.target)
			if got := w.Header().Get("Content-Type"); got != tc.want {
				t.Errorf("Content-Type of %s: got %q, want %q", tc.target, got, tc.want)
			}
			// Same type on the range path (http.ServeContent).
			r := get(h, http.MethodGet, tc.target, "Range", "bytes=0-0")
			if r.Code == http.StatusPartialContent {
				if got := r.Header().Get("Content-Type"); got != tc.want {
					t.Errorf("Content-Type of ranged %s: got %q, want %q", tc.target, got, tc.want)
				}
			}
		})
	}
}
