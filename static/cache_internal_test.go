package static

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// budgetRoot writes files into a temp dir and opens it as a cache root.
func budgetRoot(t *testing.T, files map[string][]byte) (*os.Root, string) {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = root.Close() })
	return root, dir
}

func compressibleText(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "function f%d() { return %d; }\n", i, i)
	}
	return b.Bytes()[:n]
}

// TestBudgetAccounting checks that MaxCacheBytes is kept exactly: every
// byte charged is credited back when its entry leaves the cache, and bytes
// never charged are never credited.
func TestBudgetAccounting(t *testing.T) {
	const maxTotal = 10_000
	app := compressibleText(2000)
	tests := []struct {
		name string
		run  func(t *testing.T, c *cache, dir string) int64 // returns the expected budget
	}{
		{"file over the per-file limit is not credited", func(t *testing.T, c *cache, dir string) int64 {
			for range 3 {
				if e := c.load("huge.js"); e.missing || e.data != nil {
					t.Fatalf("huge.js: got missing=%v in memory=%v, want found, not in memory", e.missing, e.data != nil)
				}
			}
			return maxTotal
		}},
		{"entry read into memory is charged", func(t *testing.T, c *cache, dir string) int64 {
			e := c.get("app.js", time.Now())
			if e.data == nil {
				t.Fatal("app.js: not in memory")
			}
			return maxTotal - int64(len(app))
		}},
		{"refused sidecar is not charged", func(t *testing.T, c *cache, dir string) int64 {
			// 9000 bytes charged, then the 4000-byte sidecar does not fit.
			if e := c.get("fill.txt", time.Now()); e.data == nil {
				t.Fatal("fill.txt: not in memory")
			}
			e := c.get("side.js", time.Now())
			if _, ok := e.variants[encGzip]; ok {
				t.Fatal("side.js.gz: kept although over budget")
			}
			return maxTotal - 9000 - 100
		}},
		{"replaced entry is credited", func(t *testing.T, c *cache, dir string) int64 {
			now := time.Now()
			old := c.get("app.js", now)
			if v := old.variant(encGzip, c); v == nil || v.data == nil {
				t.Fatal("app.js: no gzip variant")
			}
			touch(t, filepath.Join(dir, "app.js"), now.Add(time.Hour))
			fresh := c.get("app.js", now.Add(time.Hour))
			if fresh == old {
				t.Fatal("app.js: change not seen")
			}
			return maxTotal - int64(len(app))
		}},
		{"variant made after eviction is credited", func(t *testing.T, c *cache, dir string) int64 {
			now := time.Now()
			old := c.get("app.js", now) // a request holds old ...
			touch(t, filepath.Join(dir, "app.js"), now.Add(time.Hour))
			c.get("app.js", now.Add(time.Hour)) // ... while the file changes
			if v := old.variant(encBrotli, c); v == nil {
				t.Fatal("app.js: no brotli variant")
			}
			return maxTotal - int64(len(app))
		}},
		{"entries dropped at maxEntries are credited", func(t *testing.T, c *cache, dir string) int64 {
			now := time.Now()
			e := c.get("app.js", now)
			e.variant(encGzip, c)
			for i := range maxEntries {
				c.get(fmt.Sprintf("miss-%d.js", i), now)
			}
			return maxTotal
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root, dir := budgetRoot(t, map[string][]byte{
				"app.js":     app,
				"huge.js":    compressibleText(12_000),
				"fill.txt":   bytes.Repeat([]byte("x"), 9000),
				"side.js":    compressibleText(100),
				"side.js.gz": bytes.Repeat([]byte("z"), 4000),
			})
			c := newCache(root, 9500, maxTotal, time.Hour) // huge.js is over the per-file limit
			want := tc.run(t, c, dir)
			if got := c.budget.Load(); got != want {
				t.Errorf("budget: got %d, want %d", got, want)
			}
		})
	}
}

func touch(t *testing.T, path string, mod time.Time) {
	t.Helper()
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentGetSharesOneEntry: requests that find a name missing or
// stale at the same moment must end up with one entry, so that its
// compressed forms are made once, not once per request (a brotli pass over
// a large bundle costs about a second of CPU).
func TestConcurrentGetSharesOneEntry(t *testing.T) {
	root, dir := budgetRoot(t, map[string][]byte{"app.js": compressibleText(64 << 10)})
	c := newCache(root, 1<<20, 64<<20, time.Millisecond)
	for round := range 20 {
		now := time.Now().Add(time.Duration(round) * time.Hour)
		touch(t, filepath.Join(dir, "app.js"), now) // stale from round 1 on
		const n = 32
		got := make([]*entry, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				got[i] = c.get("app.js", now)
			})
		}
		close(start)
		wg.Wait()
		for i, e := range got {
			if e != got[0] {
				t.Fatalf("round %d: request %d got its own entry, want the one shared entry", round, i)
			}
		}
		if want := int64(64<<20 - 64<<10); c.budget.Load() != want {
			t.Fatalf("round %d: budget: got %d, want %d", round, c.budget.Load(), want)
		}
	}
}
