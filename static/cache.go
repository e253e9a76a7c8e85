package static

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"math/bits"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/gitcourse/edge/internal/memtrim"
	"github.com/klauspost/compress/gzip"
)

// minCompressSize is the smallest file worth compressing on the fly.
const minCompressSize = 1024

// maxEntries bounds the number of names (found or not) remembered.
const maxEntries = 20000

// entry is what edge knows about one name under the root. Files up to the
// cache's per-file limit keep their bytes, and their compressed forms once
// asked for, in memory; the entry is re-validated with a stat at most once
// per check interval, so a changed file is noticed.
type entry struct {
	name    string
	missing bool // no such file (or a directory without index.html)
	escapes bool // a symlink that leaves the root
	isDir   bool // a directory that has an index.html

	size    int64
	modTime time.Time
	data    []byte // nil when too large to keep: read from the file
	etag    string
	vals    headerVals
	ctype   []string
	lastMod []string
	vary    bool // compressed forms exist or can be made

	checked atomic.Int64 // unix nanoseconds of the last stat

	// mem is the bytes charged to the cache budget for this entry; evicted
	// is set once it has left the cache. Both are atomics so that evicting
	// never waits for a compression in progress (which holds mu).
	mem     atomic.Int64
	evicted atomic.Bool

	mu       sync.Mutex
	variants map[string]*variant // by encoding; guarded by mu
}

// variant is a compressed form of an entry.
type variant struct {
	data []byte // nil: compression did not make it smaller
	etag string
	vals headerVals
}

// headerVals are the ETag and Content-Length field values of an entry or
// variant held in memory, formatted once and assigned straight into
// response header maps (nothing writes into them).
type headerVals struct{ etag, length []string }

// newHeaderVals formats the fields for etag and data; length stays nil
// when the bytes are not in memory.
func newHeaderVals(etag string, data []byte) headerVals {
	hv := headerVals{etag: []string{etag}}
	if data != nil {
		hv.length = []string{strconv.Itoa(len(data))}
	}
	return hv
}

// cache holds the entries of one root generation.
type cache struct {
	root      *os.Root
	maxFile   int64
	budget    atomic.Int64 // bytes still allowed in memory
	precomp   bool         // look for .br/.gz sidecars
	mu        sync.RWMutex
	entries   map[string]*entry
	checkEach time.Duration
}

func newCache(root *os.Root, maxFile, maxTotal int64, checkEach time.Duration) *cache {
	c := &cache{root: root, maxFile: maxFile, entries: map[string]*entry{}, checkEach: checkEach, precomp: true}
	c.budget.Store(maxTotal)
	return c
}

// get returns the entry for name, loading or re-validating it as needed.
func (c *cache) get(name string, now time.Time) *entry {
	c.mu.RLock()
	e := c.entries[name]
	c.mu.RUnlock()
	if e != nil && now.UnixNano()-e.checked.Load() < int64(c.checkEach) {
		return e
	}
	if e != nil && e.stillValid(c.root) {
		e.checked.Store(now.UnixNano())
		return e
	}
	fresh := c.load(name)
	fresh.checked.Store(now.UnixNano())
	c.mu.Lock()
	if cur := c.entries[name]; cur != e && cur != nil {
		// Another request replaced e meanwhile: share its entry, so that
		// compressed forms are made once, not once per request.
		c.mu.Unlock()
		c.release(fresh)
		return cur
	}
	if e != nil {
		c.release(e)
	}
	if len(c.entries) >= maxEntries {
		// Crude but bounded: hostile names cannot grow memory.
		for _, e := range c.entries {
			c.release(e)
		}
		clear(c.entries)
	}
	c.entries[name] = fresh
	c.mu.Unlock()
	return fresh
}

// charge takes n bytes for e from the budget, or reports false and takes
// nothing when they do not fit.
func (c *cache) charge(e *entry, n int64) bool {
	if c.budget.Add(-n) < 0 {
		c.budget.Add(n)
		return false
	}
	e.mem.Add(n)
	if e.evicted.Load() { // evicted meanwhile: give it straight back
		c.budget.Add(e.mem.Swap(0))
	}
	return true
}

// release gives back what e holds; requests still using e keep working.
func (c *cache) release(e *entry) {
	e.evicted.Store(true)
	c.budget.Add(e.mem.Swap(0))
}

// stillValid reports whether the file behind e is unchanged.
func (e *entry) stillValid(root *os.Root) bool {
	fi, err := root.Stat(e.name)
	if e.missing {
		return err != nil
	}
	if e.isDir {
		return err == nil && fi.IsDir()
	}
	return err == nil && fi.Mode().IsRegular() && fi.Size() == e.size && fi.ModTime().Equal(e.modTime)
}

// load reads what is at name now.
func (c *cache) load(name string) *entry {
	e := &entry{name: name}
	f, err := c.root.Open(name)
	if err != nil {
		e.missing = true
		e.escapes = escapesRoot(err)
		return e
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		e.missing = true
		return e
	}
	if fi.IsDir() {
		if _, err := c.root.Stat(name + "/index.html"); err == nil {
			e.isDir = true
		} else {
			e.missing = true
		}
		return e
	}
	if !fi.Mode().IsRegular() {
		e.missing = true
		return e
	}
	e.size, e.modTime = fi.Size(), fi.ModTime()
	e.ctype = []string{contentType(name)}
	e.lastMod = []string{e.modTime.UTC().Format(http.TimeFormat)}
	e.variants = map[string]*variant{}
	if e.size <= c.maxFile && c.charge(e, e.size) {
		data, err := io.ReadAll(io.LimitReader(f, e.size))
		if err == nil && int64(len(data)) == e.size {
			e.data = data
		} else {
			c.budget.Add(e.mem.Swap(0)) // not kept
		}
	}
	e.etag = makeETag(e.data, e.size, e.modTime)
	e.vals = newHeaderVals(e.etag, e.data)
	if c.precomp {
		c.loadSidecars(e)
	}
	e.vary = len(e.variants) > 0 || (e.data != nil && e.size >= minCompressSize && compressible(e.ctype[0]))
	return e
}

// escapesRoot reports whether err is os.Root refusing a path (a symlink or
// ".." that leads outside the root), as opposed to a name that is absent.
func escapesRoot(err error) bool {
	var pe *fs.PathError
	return !errors.Is(err, fs.ErrNotExist) && errors.As(err, &pe) && pe.Err != nil &&
		pe.Err.Error() == "path escapes from parent"
}

// loadSidecars picks up precompressed name.br / name.gz files, which win
// over compressing on the fly.
func (c *cache) loadSidecars(e *entry) {
	for enc, ext := range map[string]string{encBrotli: ".br", encGzip: ".gz"} {
		data, err := c.root.ReadFile(e.name + ext)
		if err != nil || int64(len(data)) > c.maxFile || !c.charge(e, int64(len(data))) {
			continue
		}
		etag := variantETag(e.etag, enc)
		e.variants[enc] = &variant{data: data, etag: etag, vals: newHeaderVals(etag, data)}
	}
}

// makeETag is a strong validator: a content hash when the bytes are in
// memory, else size and modification time.
func makeETag(data []byte, size int64, mod time.Time) string {
	if data != nil {
		sum := sha256.Sum256(data)
		return `"` + hex.EncodeToString(sum[:10]) + `"`
	}
	return `"` + hex.EncodeToString([]byte(time.Unix(0, mod.UnixNano()).UTC().Format("060102150405.000000000"))) +
		"-" + hex.EncodeToString([]byte{byte(size >> 24), byte(size >> 16), byte(size >> 8), byte(size)}) + `"`
}

func variantETag(etag, enc string) string {
	return etag[:len(etag)-1] + "-" + enc + `"`
}

// variant returns the entry compressed with enc, compressing it once on
// first use. It returns nil when enc cannot be served for this entry.
func (e *entry) variant(enc string, c *cache) *variant {
	e.mu.Lock()
	defer e.mu.Unlock()
	if v, ok := e.variants[enc]; ok {
		return v
	}
	if e.data == nil || e.size < minCompressSize || !compressible(e.ctype[0]) {
		return nil
	}
	v := &variant{etag: variantETag(e.etag, enc)}
	if out := compress(e.data, enc); out != nil && len(out) < len(e.data) && c.charge(e, int64(len(out))) {
		v.data = out
	}
	v.vals = newHeaderVals(v.etag, v.data)
	e.variants[enc] = v
	return v
}

// onTheFlyBrotliLevel is the brotli level used when a file has no .br
// sidecar. Level 11 is about 5% smaller but takes ~1 s and tens of MB for a
// 200 KB bundle, which the first visitor after a deploy would wait for;
// level 6 takes milliseconds with a small peak RSS. "edge release" writes
// level-11 sidecars,
// which are served instead when present.
const onTheFlyBrotliLevel = 6

// Brotli window bounds (log2 of bytes): the format's smallest, and the
// library's default, which files of 4 MB and more keep.
const (
	minBrotliWindow = 10
	maxBrotliWindow = 22
)

// brotliWindow is the smallest window that holds all of an n-byte input
// (brotli's window is 2^lgwin - 16 bytes): the output is the same as with
// a larger window, and the encoder's tables, which grow with the window,
// stay small (a 200 KB file: 4.2 MB allocated instead of 12 MB).
func brotliWindow(n int) int {
	return min(max(bits.Len(uint(n+15)), minBrotliWindow), maxBrotliWindow)
}

// compress encodes data once (gzip at its best level, brotli at
// onTheFlyBrotliLevel): the result is kept in memory, in a slice of its
// exact size. The encoder's tables are garbage afterwards: memtrim.Soon
// collects them, so that they do not raise the heap goal of the
// collections that follow.
func compress(data []byte, enc string) []byte {
	out := encode(data, enc)
	memtrim.Soon()
	if out == nil {
		return nil
	}
	return bytes.Clone(out)
}

func encode(data []byte, enc string) []byte {
	var buf bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case encBrotli:
		w = brotli.NewWriterOptions(&buf, brotli.WriterOptions{Quality: onTheFlyBrotliLevel, LGWin: brotliWindow(len(data))})
	case encGzip:
		gw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return nil
		}
		w = gw
	default:
		return nil
	}
	if _, err := w.Write(data); err != nil {
		return nil
	}
	if err := w.Close(); err != nil {
		return nil
	}
	return buf.Bytes()
}
