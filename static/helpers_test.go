package static_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"

	"github.com/gitcourse/edge/static"
)

// Secret markers. Each is distinctive, so that a leak is found by a
// substring search of any response body.
const (
	outsideMarker = "OUTSIDE-SECRET-4b1d9e7c"  // ../outside-secret.txt, next to the root
	linkedMarker  = "LINKED-SECRET-a83f02d6"   // target of the link-out symlink
	linkDirMarker = "LINKDIR-SECRET-5e6c71b0"  // inside the dir linkdir-out points to
	envMarker     = "DOTENV-SECRET-c0ffee12"   // .env
	gitMarker     = "GIT-CONFIG-SECRET-9a7b3c" // .git/config
	hiddenMarker  = "HIDDEN-SECRET-77d2e4f1"   // .hidden/secret.txt
	wellKnownBody = "Contact: mailto:security@example.com\n"
)

// secretMarkers are the strings no response may ever contain.
var secretMarkers = []string{outsideMarker, linkedMarker, linkDirMarker, envMarker, gitMarker, hiddenMarker}

// site is a built frontend root in a temporary directory, with files that
// must be served and files that must never be.
type site struct {
	base    string // the temp dir; holds the root and the outside files
	root    string // the directory served
	files   map[string][]byte
	modTime time.Time
}

// file returns the bytes written at name (slash-separated, relative to root).
func (s *site) file(t testing.TB, name string) []byte {
	t.Helper()
	b, ok := s.files[name]
	if !ok {
		t.Fatalf("test site has no file %q", name)
	}
	return b
}

// write creates root/name with data and records it.
func (s *site) write(t testing.TB, name string, data []byte) {
	t.Helper()
	p := filepath.Join(s.root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, s.modTime, s.modTime); err != nil {
		t.Fatal(err)
	}
	s.files[name] = data
}

// jsText returns n bytes of compressible, JavaScript-looking text.
func jsText(tag string, n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "export function %s_%d(a, b) { return a * %d + b; /* %s */ }\n", tag, i, i, tag)
	}
	return b.Bytes()[:n]
}

// htmlPage returns an HTML page of at least n bytes that names itself.
func htmlPage(title string, n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!doctype html>\n<html><head><title>%s</title></head><body>\n<div id=\"root\"></div>\n", title)
	for b.Len() < n {
		b.WriteString("<p>Learn Git one commit at a time.</p>\n")
	}
	b.WriteString("</body></html>\n")
	return b.Bytes()
}

// newSite builds the test frontend:
//
//	base/outside-secret.txt            outside the root
//	base/linked-secret.txt             outside, target of site/link-out
//	base/outdir/x.txt                  outside, reached via site/linkdir-out
//	base/site/index.html               2 KB
//	base/site/404.html
//	base/site/assets/app-abc123.js     8 KB of compressible text
//	base/site/assets/style.css         < 1 KB
//	base/site/assets/big.js (+.br .gz) precompressed sidecars
//	base/site/assets/logo.png          compressible bytes, image type
//	base/site/assets/data.json, icon.svg, font.woff2, blob.qqzz
//	base/site/docs/index.html          directory with an index
//	base/site/emptydir/                directory without one
//	base/site/.env .git/config .hidden/secret.txt
//	base/site/.well-known/security.txt
//	base/site/link-out      -> base/linked-secret.txt (absolute)
//	base/site/link-rel-out  -> ../outside-secret.txt (relative)
//	base/site/linkdir-out   -> base/outdir (absolute)
//	base/site/link-in.css   -> assets/style.css (relative, allowed)
func newSite(t testing.TB) *site {
	t.Helper()
	base := t.TempDir()
	s := &site{
		base:    base,
		root:    filepath.Join(base, "site"),
		files:   map[string][]byte{},
		modTime: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	mustWrite(t, filepath.Join(base, "outside-secret.txt"), outsideMarker+"\n")
	mustWrite(t, filepath.Join(base, "linked-secret.txt"), linkedMarker+"\n")
	mustWrite(t, filepath.Join(base, "outdir", "x.txt"), linkDirMarker+"\n")
	mustWrite(t, filepath.Join(base, "outdir", "x"), linkDirMarker+"\n")
	mustWrite(t, filepath.Join(base, "outdir", "index.html"), linkDirMarker+"\n")

	s.write(t, "index.html", htmlPage("INDEX-PAGE", 2048))
	s.write(t, "404.html", []byte("<!doctype html><title>NOT-FOUND-PAGE</title>\n"))
	s.write(t, "assets/app-abc123.js", jsText("app", 8<<10))
	s.write(t, "assets/style.css", []byte("body { margin: 0; font-family: sans-serif; }\n"))
	s.write(t, "assets/data.json", []byte(`{"course":42,"title":"Git basics"}`))
	s.write(t, "assets/icon.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>`))
	s.write(t, "assets/font.woff2", []byte("wOF2\x00\x01\x00\x00 not really a font"))
	s.write(t, "assets/blob.qqzz", []byte("opaque bytes"))
	// Repetitive, so it would shrink if compressed: only its type says no.
	s.write(t, "assets/logo.png", append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte("IDAT"), 1024)...))
	big := jsText("big", 20<<10)
	s.write(t, "assets/big.js", big)
	s.write(t, "assets/big.js.br", brotliBytes(t, big, 1))
	s.write(t, "assets/big.js.gz", gzipBytes(t, big, gzip.BestSpeed))
	s.write(t, "docs/index.html", htmlPage("DOCS-PAGE", 100))
	s.write(t, ".env", []byte("DATABASE_URL=postgres://u:"+envMarker+"@db/x\n"))
	s.write(t, ".git/config", []byte("[remote \"origin\"]\n\turl = https://"+gitMarker+"@example.com/x.git\n"))
	s.write(t, ".hidden/secret.txt", []byte(hiddenMarker+"\n"))
	s.write(t, ".well-known/security.txt", []byte(wellKnownBody))
	if err := os.Mkdir(filepath.Join(s.root, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustSymlink(t, filepath.Join(base, "linked-secret.txt"), filepath.Join(s.root, "link-out"))
	mustSymlink(t, filepath.Join("..", "outside-secret.txt"), filepath.Join(s.root, "link-rel-out"))
	mustSymlink(t, filepath.Join(base, "outdir"), filepath.Join(s.root, "linkdir-out"))
	mustSymlink(t, filepath.Join("assets", "style.css"), filepath.Join(s.root, "link-in.css"))
	return s
}

func mustWrite(t testing.TB, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t testing.TB, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func brotliBytes(t testing.TB, data []byte, level int) []byte {
	t.Helper()
	var b bytes.Buffer
	w := brotli.NewWriterLevel(&b, level)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gzipBytes(t testing.TB, data []byte, level int) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := gzip.NewWriterLevel(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// decode undoes a Content-Encoding.
func decode(t testing.TB, enc string, body []byte) []byte {
	t.Helper()
	out, err := decodeErr(enc, body)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// decodeErr undoes a Content-Encoding; it is safe off the test goroutine.
func decodeErr(enc string, body []byte) ([]byte, error) {
	var r io.Reader
	switch enc {
	case "":
		return body, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	default:
		return nil, fmt.Errorf("unexpected Content-Encoding %q", enc)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("decode %s body: %w", enc, err)
	}
	return out, nil
}

// defaultOptions are the options the reference deployment uses.
func defaultOptions(root string) static.Options {
	return static.Options{
		Root:      root,
		SPA:       true,
		Immutable: []string{"/assets/"},
		Compress:  []string{"br", "gzip"},
	}
}

// newHandler returns a handler for opts, closed when the test ends.
func newHandler(t testing.TB, opts static.Options) *static.Handler {
	t.Helper()
	h, err := static.New(opts)
	if err != nil {
		t.Fatalf("New(%+v): %v", opts, err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// get serves one request in process and returns the recorded response.
func get(h http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// tryNewRequest is httptest.NewRequest with the raw target, reporting
// false where NewRequest panics because the target does not parse.
func tryNewRequest(method, target string) (r *http.Request, ok bool) {
	defer func() {
		if recover() != nil {
			r, ok = nil, false
		}
	}()
	return httptest.NewRequest(method, target, nil), true
}

// rawResponse is what a real server answered to a hand-written request.
type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

// rawGet writes "GET <target> HTTP/1.1" on a new TCP connection to addr,
// byte for byte, so that no client library normalises the target.
func rawGet(t testing.TB, addr, target string) rawResponse {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatalf("write request: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response to %q: %v", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body of %q: %v", target, err)
	}
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: body}
}

// assertNoSecrets fails when body carries any secret marker.
func assertNoSecrets(t testing.TB, body []byte) {
	t.Helper()
	for _, m := range secretMarkers {
		if bytes.Contains(body, []byte(m)) {
			t.Errorf("body leaks %q: %q", m, truncate(body))
		}
	}
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

// extensionless reports whether the last segment of a target has no dot.
func extensionless(target string) bool {
	p, _, _ := strings.Cut(target, "?")
	return !strings.Contains(p[strings.LastIndexByte(p, '/')+1:], ".")
}
