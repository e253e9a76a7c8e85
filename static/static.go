// Package static serves the compiled frontend: a single-page application
// root with correct caching, validators, ranges and compression.
//
// Files are read through os.Root, so neither ".." nor a symlink can lead
// outside the root; dotfiles, encoded traversal and directory listings are
// never served. Small files are kept in memory with their compressed forms
// (compressed once: gzip at its best level, brotli at level 6, unless a
// precompressed .br/.gz sidecar such as "edge release" writes at the
// strongest level is there), and re-checked with a stat at
// most once per CheckInterval. When Root is a symlink (a "current" release),
// a change of its target starts a new generation: requests in flight finish
// on the old files, new requests see the new ones.
package static

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Cache-Control values.
const (
	CacheImmutable  = "public, max-age=31536000, immutable"
	CacheRevalidate = "no-cache"
)

// Options configure a Handler.
type Options struct {
	// Root is the directory served; it may be a symlink.
	Root string
	// SPA serves index.html for unknown extensionless paths.
	SPA bool
	// Immutable URL path prefixes are cached by browsers for a year.
	Immutable []string
	// Compress lists encodings offered, by preference ("br", "gzip").
	Compress []string
	// MaxFileBytes is the largest file kept in memory. Default: 8 MiB.
	MaxFileBytes int64
	// MaxCacheBytes bounds all bytes kept in memory. Default: 64 MiB.
	MaxCacheBytes int64
	// CheckInterval is how often a cached file is re-checked. Default: 1s.
	CheckInterval time.Duration
	// Logger receives generation changes. Default: slog.Default().
	Logger *slog.Logger
}

// Handler serves files under a root. It is safe for concurrent use.
type Handler struct {
	opts    Options
	log     *slog.Logger
	gen     atomic.Pointer[generation]
	reload  sync.Mutex
	closed  bool         // set by Close; guarded by reload
	checked atomic.Int64 // unix nanoseconds of the last root resolution
}

// generation is one resolved root directory and its cache.
type generation struct {
	dir   string
	cache *cache
}

var _ http.Handler = (*Handler)(nil)

// New opens the root and returns a Handler. It starts no goroutines.
func New(opts Options) (*Handler, error) {
	if opts.MaxFileBytes == 0 {
		opts.MaxFileBytes = 8 << 20
	}
	if opts.MaxCacheBytes == 0 {
		opts.MaxCacheBytes = 64 << 20
	}
	if opts.CheckInterval == 0 {
		opts.CheckInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h := &Handler{opts: opts, log: opts.Logger.With("component", "static")}
	if err := h.resolve(time.Now()); err != nil {
		return nil, err
	}
	return h, nil
}

// Invalidate drops every cached file and re-resolves the root, as after a
// release. It returns the error of opening the root, if any.
func (h *Handler) Invalidate() error {
	h.reload.Lock()
	defer h.reload.Unlock()
	if h.closed {
		return errClosed
	}
	g, err := h.open()
	if err != nil {
		return err
	}
	h.swap(g)
	return nil
}

var errClosed = errors.New("static handler closed")

// Close releases the open root directory. Requests after it get 503.
func (h *Handler) Close() error {
	h.reload.Lock()
	defer h.reload.Unlock()
	h.closed = true
	if g := h.gen.Swap(nil); g != nil {
		return g.cache.root.Close()
	}
	return nil
}

func (h *Handler) open() (*generation, error) {
	dir, err := filepath.EvalSymlinks(h.opts.Root)
	if err != nil {
		return nil, fmt.Errorf("resolve site root %s: %w", h.opts.Root, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open site root %s: %w", dir, err)
	}
	return &generation{dir: dir, cache: newCache(root, h.opts.MaxFileBytes, h.opts.MaxCacheBytes, h.opts.CheckInterval)}, nil
}

func (h *Handler) swap(g *generation) {
	h.checked.Store(time.Now().UnixNano())
	old := h.gen.Swap(g)
	if old != nil && old.dir != g.dir {
		h.log.Info("site root changed", "from", old.dir, "to", g.dir)
	}
	// The old root stays open for requests in flight; the garbage collector
	// closes its file descriptor once they are done.
}

// resolve re-reads where Root points when the check interval has passed.
func (h *Handler) resolve(now time.Time) error {
	if g := h.gen.Load(); g != nil && now.UnixNano()-h.checked.Load() < int64(h.opts.CheckInterval) {
		return nil
	}
	if !h.reload.TryLock() {
		if h.gen.Load() != nil {
			return nil // another request is re-resolving; use the current one
		}
		h.reload.Lock()
	}
	defer h.reload.Unlock()
	if h.closed {
		return errClosed
	}
	if g := h.gen.Load(); g != nil {
		dir, err := filepath.EvalSymlinks(h.opts.Root)
		if err == nil && dir == g.dir {
			h.checked.Store(now.UnixNano())
			return nil
		}
		if err != nil {
			h.checked.Store(now.UnixNano())
			h.log.Error("resolve site root; serving the previous one", "root", h.opts.Root, "error", err)
			return nil
		}
	}
	g, err := h.open()
	if err != nil {
		return err
	}
	h.swap(g)
	return nil
}

// ServeHTTP serves GET and HEAD for files under the root.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	now := time.Now()
	_ = h.resolve(now)
	g := h.gen.Load()
	if g == nil {
		http.Error(w, "503 site root unavailable", http.StatusServiceUnavailable)
		return
	}
	name, ok := cleanName(r.URL.Path)
	if !ok {
		h.notFound(w, r, g, now)
		return
	}
	lookup := name
	if lookup == "" || strings.HasSuffix(lookup, "/") {
		lookup += "index.html"
	}
	e := g.cache.get(lookup, now)
	switch {
	case e.isDir:
		redirectSlash(w, r)
	case !e.missing:
		h.serve(w, r, g, e, h.cacheControl(r.URL.Path, lookup), http.StatusOK)
	case e.escapes:
		h.notFound(w, r, g, now)
	case h.opts.SPA && !hasExtension(name): // name: "/x/" is a route, not "/x/index.html"
		index := g.cache.get("index.html", now)
		if index.missing {
			h.notFound(w, r, g, now)
			return
		}
		h.serve(w, r, g, index, CacheRevalidate, http.StatusOK)
	default:
		h.notFound(w, r, g, now)
	}
}

func redirectSlash(w http.ResponseWriter, r *http.Request) {
	target := r.URL.EscapedPath() + "/"
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusPermanentRedirect)
}

// cacheControl is a year for immutable prefixes, else revalidation.
func (h *Handler) cacheControl(urlPath, name string) string {
	if strings.HasSuffix(name, ".html") {
		return CacheRevalidate
	}
	for _, p := range h.opts.Immutable {
		if strings.HasPrefix(urlPath, p) {
			return CacheImmutable
		}
	}
	return CacheRevalidate
}

// notFound serves 404.html from the root when there is one.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, g *generation, now time.Time) {
	if page := g.cache.get("404.html", now); !page.missing && page.data != nil {
		h.serve(w, r, g, page, CacheRevalidate, http.StatusNotFound)
		return
	}
	w.Header().Set("Cache-Control", CacheRevalidate)
	http.Error(w, "404 page not found", http.StatusNotFound)
}

var (
	hdrVary         = []string{"Accept-Encoding"}
	hdrAcceptRanges = []string{"bytes"}
	hdrEncodingBr   = []string{encBrotli}
	hdrEncodingGzip = []string{encGzip}
	hdrCacheImmut   = []string{CacheImmutable}
	hdrCacheReval   = []string{CacheRevalidate}
)

// serve writes e (or a compressed form of it) with validators and caching.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, g *generation, e *entry, cc string, status int) {
	hdr := w.Header()
	hdr["Content-Type"] = e.ctype
	hdr["Last-Modified"] = e.lastMod
	if cc == CacheImmutable {
		hdr["Cache-Control"] = hdrCacheImmut
	} else {
		hdr["Cache-Control"] = hdrCacheReval
	}
	if e.vary {
		hdr["Vary"] = hdrVary
	}
	if status != http.StatusOK {
		writeBody(w, r, e.data, status)
		return
	}
	if e.data == nil || needsFullServe(r) {
		h.serveContent(w, r, g, e)
		return
	}
	body, etag, vals := e.data, e.etag, e.vals
	if e.vary {
		if enc := negotiate(r.Header.Get("Accept-Encoding"), h.opts.Compress); enc != encIdentity {
			if v := e.variant(enc, g.cache); v != nil && v.data != nil {
				body, etag, vals = v.data, v.etag, v.vals
				if enc == encBrotli {
					hdr["Content-Encoding"] = hdrEncodingBr
				} else {
					hdr["Content-Encoding"] = hdrEncodingGzip
				}
			}
		}
	}
	hdr["Etag"] = vals.etag
	hdr["Accept-Ranges"] = hdrAcceptRanges
	if notModified(r, e, etag) {
		delete(hdr, "Content-Type")
		delete(hdr, "Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr["Content-Length"] = vals.length
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func writeBody(w http.ResponseWriter, r *http.Request, body []byte, status int) {
	w.Header()["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// needsFullServe reports whether the request uses features left to
// http.ServeContent: ranges and the rarer preconditions.
func needsFullServe(r *http.Request) bool {
	h := r.Header
	return h.Get("Range") != "" || h.Get("If-Match") != "" || h.Get("If-Unmodified-Since") != ""
}

// serveContent serves the identity form with http.ServeContent (ranges,
// preconditions), from memory or from the file.
func (h *Handler) serveContent(w http.ResponseWriter, r *http.Request, g *generation, e *entry) {
	w.Header()["Etag"] = []string{e.etag}
	if e.data != nil {
		http.ServeContent(w, r, e.name, e.modTime, bytes.NewReader(e.data))
		return
	}
	f, err := g.cache.root.Open(e.name)
	if err != nil {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	defer f.Close()
	http.ServeContent(w, r, e.name, e.modTime, f)
}

// notModified evaluates If-None-Match, then If-Modified-Since (RFC 9110 13.2.2).
func notModified(r *http.Request, e *entry, etag string) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		return etagMatches(inm, etag) || etagMatches(inm, e.etag)
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		t, err := http.ParseTime(ims)
		return err == nil && !e.modTime.Truncate(time.Second).After(t)
	}
	return false
}

// etagMatches is the weak comparison of If-None-Match.
func etagMatches(list, etag string) bool {
	for candidate := range strings.SplitSeq(list, ",") {
		c := strings.TrimPrefix(strings.TrimSpace(candidate), "W/")
		if c == "*" || c == etag {
			return true
		}
	}
	return false
}
