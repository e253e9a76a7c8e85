package release

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/gitcourse/edge/internal/atomicfile"
)

// CopyStats counts what copyTree wrote.
type CopyStats struct {
	// Files and Bytes are the files copied from the build (sidecars made
	// here not included).
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// Brotli and Gzip count the sidecars written; BrotliBytes and
	// GzipBytes are their sizes, and Compressible the bytes of the files
	// they were made from.
	Brotli       int   `json:"brotli"`
	Gzip         int   `json:"gzip"`
	BrotliBytes  int64 `json:"brotli_bytes"`
	GzipBytes    int64 `json:"gzip_bytes"`
	Compressible int64 `json:"compressible_bytes"`
}

func (s *CopyStats) add(o CopyStats) {
	s.Files += o.Files
	s.Bytes += o.Bytes
	s.Brotli += o.Brotli
	s.Gzip += o.Gzip
	s.BrotliBytes += o.BrotliBytes
	s.GzipBytes += o.GzipBytes
	s.Compressible += o.Compressible
}

// copyJob is one file of the build.
type copyJob struct {
	name string // slash-separated, relative to the build
	size int64
	mod  time.Time
}

// copyTree copies the build in src to dst (which must not exist), with
// directories 0755 and files 0644, writing .br and .gz sidecars for
// compressible files. Every file is fsynced; directories are left to
// syncTree. Symlinks are followed when they stay inside src.
func copyTree(ctx context.Context, src, dst string, workers int) (CopyStats, error) {
	root, err := os.OpenRoot(src)
	if err != nil {
		return CopyStats{}, fmt.Errorf("open build %s: %w", src, err)
	}
	defer root.Close()
	jobs, present, err := plan(root, dst)
	if err != nil {
		return CopyStats{}, err
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// Largest first, so that one big bundle does not finish last alone.
	slices.SortFunc(jobs, func(a, b copyJob) int { return cmp.Compare(b.size, a.size) })
	ch := make(chan copyJob)
	var (
		mu    sync.Mutex
		total CopyStats
		errs  []error
		wg    sync.WaitGroup
	)
	for range min(workers, max(len(jobs), 1)) {
		wg.Go(func() {
			for j := range ch {
				st, err := copyFile(root, dst, j, present)
				mu.Lock()
				total.add(st)
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		ch <- j
	}
	close(ch)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return total, err
	}
	return total, errors.Join(errs...)
}

// plan walks the build, creates its directories under dst and returns the
// files to copy and the set of every file name present.
func plan(root *os.Root, dst string) ([]copyJob, map[string]bool, error) {
	var jobs []copyJob
	present := map[string]bool{}
	err := fs.WalkDir(root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read build: %w", err)
		}
		if d.IsDir() {
			if err := os.Mkdir(filepath.Join(dst, filepath.FromSlash(name)), 0o755); err != nil {
				return fmt.Errorf("create release directory: %w", err)
			}
			return os.Chmod(filepath.Join(dst, filepath.FromSlash(name)), 0o755)
		}
		fi, err := root.Stat(name) // follows a symlink, only within the build
		if err != nil {
			return fmt.Errorf("build file %s: %w (fix: symlinks must stay inside the build)", name, err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("build file %s: not a regular file (fix: copy symlinked directories into the build)", name)
		}
		jobs = append(jobs, copyJob{name: name, size: fi.Size(), mod: fi.ModTime()})
		present[name] = true
		return nil
	})
	return jobs, present, err
}

// copyFile copies one file and writes its sidecars when worth it (and
// when the build does not ship its own).
func copyFile(root *os.Root, dst string, j copyJob, present map[string]bool) (CopyStats, error) {
	st := CopyStats{Files: 1, Bytes: j.size}
	out := filepath.Join(dst, filepath.FromSlash(j.name))
	in, err := root.Open(j.name)
	if err != nil {
		return st, fmt.Errorf("open build file %s: %w", j.name, err)
	}
	defer in.Close()
	if !shouldCompress(j.name, j.size) {
		return st, copyStream(in, out, j.mod)
	}
	data, err := io.ReadAll(in)
	if err != nil {
		return st, fmt.Errorf("read build file %s: %w", j.name, err)
	}
	if err := writeFile(out, data, j.mod); err != nil {
		return st, err
	}
	st.Compressible = int64(len(data))
	for _, enc := range []string{"br", "gz"} {
		if present[j.name+"."+enc] {
			continue // the build ships its own sidecar
		}
		c, err := compress(data, enc)
		if err != nil {
			return st, fmt.Errorf("compress %s: %w", j.name, err)
		}
		if len(c) >= len(data) {
			continue
		}
		if err := writeFile(out+"."+enc, c, j.mod); err != nil {
			return st, err
		}
		if enc == "br" {
			st.Brotli, st.BrotliBytes = 1, int64(len(c))
		} else {
			st.Gzip, st.GzipBytes = 1, int64(len(c))
		}
	}
	return st, nil
}

// copyStream copies r into a new file name, fsynced, with mtime mod.
func copyStream(r io.Reader, name string, mod time.Time) error {
	if err := writeSynced(name, os.O_EXCL, r); err != nil {
		return err
	}
	return finish(name, mod)
}

// writeFile writes data into a new file name, fsynced, with mtime mod.
func writeFile(name string, data []byte, mod time.Time) error {
	return copyStream(bytes.NewReader(data), name, mod)
}

// writeSynced copies r into the file name, opened with
// os.O_CREATE|os.O_WRONLY|flag (mode 0644 less the umask), and fsyncs it.
func writeSynced(name string, flag int, r io.Reader) error {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|flag, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	_, werr := io.Copy(f, r)
	if werr == nil {
		werr = f.Sync()
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return fmt.Errorf("write %s: %w", name, werr)
	}
	return nil
}

// finish sets mode 0644 whatever the umask, and the build's mtime (so
// Last-Modified stays the same for a file that did not change).
func finish(name string, mod time.Time) error {
	if err := os.Chmod(name, 0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", name, err)
	}
	if err := os.Chtimes(name, mod, mod); err != nil {
		return fmt.Errorf("set mtime of %s: %w", name, err)
	}
	return nil
}

// syncTree fsyncs every directory under dir, deepest first.
func syncTree(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("walk release: %w", err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := atomicfile.SyncDir(dirs[i]); err != nil {
			return err
		}
	}
	return nil
}
