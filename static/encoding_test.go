package static_test

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"
)

func TestCompression(t *testing.T) {
	s := newSite(t)
	h := newHandler(t, defaultOptions(s.root))
	tests := []struct {
		name     string
		target   string
		accept   string
		wantEnc  string
		wantVary bool
		wantFile string // decoded body equals this file
	}{
		{"gzip", "/assets/app-abc123.js", "gzip", "gzip", true, "assets/app-abc123.js"},
		{"br", "/assets/app-abc123.js", "br", "br", true, "assets/app-abc123.js"},
		{"browser default prefers br", "/assets/app-abc123.js", "gzip, deflate, br, zstd", "br", true, "assets/app-abc123.js"},
		{"br refused", "/assets/app-abc123.js", "br;q=0, gzip", "gzip", true, "assets/app-abc123.js"},
		{"br refused with spaces", "/assets/app-abc123.js", "br ; q=0 , gzip;q=0.5", "gzip", true, "assets/app-abc123.js"},
		{"both refused", "/assets/app-abc123.js", "br;q=0, gzip;q=0", "", true, "assets/app-abc123.js"},
		{"star", "/assets/app-abc123.js", "*", "br", true, "assets/app-abc123.js"},
		{"star but not br", "/assets/app-abc123.js", "*, br;q=0", "gzip", true, "assets/app-abc123.js"},
		{"upper case", "/assets/app-abc123.js", "GZIP", "gzip", true, "assets/app-abc123.js"},
		{"identity", "/assets/app-abc123.js", "identity", "", true, "assets/app-abc123.js"},
		{"none", "/assets/app-abc123.js", "", "", true, "assets/app-abc123.js"},
		{"deflate only", "/assets/app-abc123.js", "deflate", "", true, "assets/app-abc123.js"},
		{"index html gzip", "/", "gzip", "gzip", true, "index.html"},
		{"spa fallback br", "/courses/42", "br", "br", true, "index.html"},
		{"tiny css", "/assets/style.css", "gzip, br", "", false, "assets/style.css"},
		{"tiny json", "/assets/data.json", "gzip, br", "", false, "assets/data.json"},
		{"png", "/assets/logo.png", "gzip, br", "", false, "assets/logo.png"},
		{"woff2", "/assets/font.woff2", "gzip, br", "", false, "assets/font.woff2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := get(h, http.MethodGet, tc.target, "Accept-Encoding", tc.accept)
			if w.Code != http.StatusOK {
				t.Fatalf("status: got %d, want %d", w.Code, http.StatusOK)
			}
			enc := w.Header().Get("Content-Encoding")
			if enc != tc.wantEnc {
				t.Errorf("Content-Encoding: got %q, want %q", enc, tc.wantEnc)
			}
			if got, want := w.Header().Get("Vary") == "Accept-Encoding", tc.wantVary; got != want {
				t.Errorf("Vary: got %q, want Accept-Encoding: %v", w.Header().Get("Vary"), want)
			}
			if got, want := w.Header().Get("Content-Length"), strconv.Itoa(w.Body.Len()); got != want {
				t.Errorf("Content-Length: got %q, want %q", got, want)
			}
			want := s.file(t, tc.wantFile)
			if got := decode(t, enc, w.Body.Bytes()); !bytes.Equal(got, want) {
				t.Errorf("decoded body: got %q, want %q", truncate(got), truncate(want))
			}
			if enc != "" && w.Body.Len() >= len(want) {
				t.Errorf("%s body: got %d bytes, want fewer than the original %d", enc, w.Body.Len(), len(want))
			}
		})
	}
}

// TestCompressionOptions: only the encodings listed in Options.Compress are
// offered, in that order of preference.
func TestCompressionOptions(t *testing.T) {
	s := newSite(t)
	tests := []struct {
		name     string
		compress []string
		accept   string
		want     string
	}{
		{"none configured", nil, "gzip, br", ""},
		{"gzip only", []string{"gzip"}, "gzip, br", "gzip"},
		{"gzip preferred", []string{"gzip", "br"}, "br, gzip", "gzip"},
		{"br only refused", []string{"br"}, "gzip", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := defaultOptions(s.root)
			opts.Compress = tc.compress
			h := newHandler(t, opts)
			w := get(h, http.MethodGet, "/assets/app-abc123.js", "Accept-Encoding", tc.accept)
			if got := w.Header().Get("Content-Encoding"); got != tc.want {
				t.Errorf("Content-Encoding: got %q, want %q", got, tc.want)
			}
			if got := decode(t, w.Header().Get("Content-Encoding"), w.Body.Bytes()); !bytes.Equal(got, s.file(t, "assets/app-abc123.js")) {
				t.Errorf("decoded body: got %q, want the file", truncate(got))
			}
		})
	}
}

// TestPrecompressedSidecars: big.js.br and big.js.gz are sent as they are
// on disk, not recompressed. The test sidecars use low levels, so bytes
// compressed by the handler (gzip best, brotli level 6) would differ.
func TestPrecompressedSidecars(t *testing.T) {
	s := newSite(t)
	h := newHandler(t, defaultOptions(s.root))
	big := s.file(t, "assets/big.js")
	etags := map[string]string{}
	for _, tc := range []struct {
		name, accept, wantEnc, sidecar string
	}{
		{"br", "br", "br", "assets/big.js.br"},
		{"gzip", "gzip", "gzip", "assets/big.js.gz"},
		{"identity", "identity", "", "assets/big.js"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := get(h, http.MethodGet, "/assets/big.js", "Accept-Encoding", tc.accept)
			if w.Code != http.StatusOK {
				t.Fatalf("status: got %d, want %d", w.Code, http.StatusOK)
			}
			if got := w.Header().Get("Content-Encoding"); got != tc.wantEnc {
				t.Errorf("Content-Encoding: got %q, want %q", got, tc.wantEnc)
			}
			if got := w.Header().Get("Content-Type"); got != "text/javascript; charset=utf-8" {
				t.Errorf("Content-Type: got %q, want %q", got, "text/javascript; charset=utf-8")
			}
			if !bytes.Equal(w.Body.Bytes(), s.file(t, tc.sidecar)) {
				t.Errorf("body: got %d bytes, want %s verbatim (%d bytes)", w.Body.Len(), tc.sidecar, len(s.file(t, tc.sidecar)))
			}
			if got := decode(t, tc.wantEnc, w.Body.Bytes()); !bytes.Equal(got, big) {
				t.Errorf("decoded body: got %q, want big.js", truncate(got))
			}
			etags[tc.name] = w.Header().Get("ETag")
		})
	}
	if etags["br"] == etags["gzip"] || etags["br"] == etags["identity"] || etags["gzip"] == etags["identity"] {
		t.Errorf("ETags: got %q, want one per encoding", etags)
	}
}

// TestETagPerEncoding: each representation has its own validator, and a
// conditional request for one is answered 304 under the same encoding.
func TestETagPerEncoding(t *testing.T) {
	s := newSite(t)
	h := newHandler(t, defaultOptions(s.root))
	const target = "/assets/app-abc123.js"
	seen := map[string]string{}
	for _, accept := range []string{"identity", "gzip", "br"} {
		w := get(h, http.MethodGet, target, "Accept-Encoding", accept)
		etag := w.Header().Get("ETag")
		if etag == "" {
			t.Fatalf("%s: ETag: got none", accept)
		}
		if other, dup := seen[etag]; dup {
			t.Errorf("ETag %q: got the same for %s and %s, want one per encoding", etag, other, accept)
		}
		seen[etag] = accept
		nm := get(h, http.MethodGet, target, "Accept-Encoding", accept, "If-None-Match", etag)
		if nm.Code != http.StatusNotModified {
			t.Errorf("%s: If-None-Match %s: got %d, want %d", accept, etag, nm.Code, http.StatusNotModified)
		}
		if got := nm.Header().Get("ETag"); got != etag {
			t.Errorf("%s: 304 ETag: got %q, want %q", accept, got, etag)
		}
		if got := nm.Header().Get("Vary"); got != "Accept-Encoding" {
			t.Errorf("%s: 304 Vary: got %q, want %q", accept, got, "Accept-Encoding")
		}
	}
}
