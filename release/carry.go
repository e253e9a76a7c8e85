package release

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// maxHops bounds how far an asset is carried: a file of release A stays
// reachable in the next two releases, which covers a page load that
// straddles two quick releases, without keeping every file forever.
const maxHops = 2

// carry hard-links into the release directory to the files of the
// release directory from (ID fromID) that to lacks: from's own files and
// the ones it had carried itself, up to maxHops. HTML files are never
// carried (a page must come from the release it belongs to), nor
// dotfiles; a .br/.gz sidecar goes with its file. It returns what it
// linked, by slash-separated path.
func carry(from, to, fromID string) (map[string]Carried, error) {
	m, err := readManifest(from)
	if err != nil {
		return nil, err
	}
	files, err := listFiles(from)
	if err != nil {
		return nil, err
	}
	out := map[string]Carried{}
	for _, name := range files {
		if isSidecar(name, files) || isHTML(name) {
			continue
		}
		c := Carried{From: fromID, Hops: 1}
		if prev, ok := m.Carried[name]; ok {
			c = Carried{From: prev.From, Hops: prev.Hops + 1}
		}
		if c.Hops > maxHops || exists(filepath.Join(to, filepath.FromSlash(name))) {
			continue
		}
		for _, n := range []string{name, name + ".br", name + ".gz"} {
			if n != name && (!has(files, n) || exists(filepath.Join(to, filepath.FromSlash(n)))) {
				continue
			}
			if err := linkFile(filepath.Join(from, filepath.FromSlash(n)), filepath.Join(to, filepath.FromSlash(n))); err != nil {
				return nil, err
			}
			out[n] = c
		}
	}
	return out, nil
}

// listFiles returns the regular files under dir (slash-separated,
// sorted), skipping dotfiles and dot-directories.
func listFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list release files in %s: %w", dir, err)
	}
	return files, nil
}

// has reports whether name is in the sorted list files.
func has(files []string, name string) bool {
	lo, hi := 0, len(files)
	for lo < hi {
		mid := (lo + hi) / 2
		if files[mid] < name {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo < len(files) && files[lo] == name
}

// isSidecar reports whether name is the .br/.gz form of another file.
func isSidecar(name string, files []string) bool {
	for _, ext := range []string{".br", ".gz"} {
		if base, ok := strings.CutSuffix(name, ext); ok && has(files, base) {
			return true
		}
	}
	return false
}

func isHTML(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return ext == ".html" || ext == ".htm"
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// linkFile hard-links src at dst (creating dst's directories), or copies
// it when the filesystem refuses a link.
func linkFile(src, dst string) error {
	if err := mkdirs(filepath.Dir(dst)); err != nil {
		return err
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("carry %s: %w", src, err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return fmt.Errorf("carry %s: %w", src, err)
	}
	return copyStream(in, dst, fi.ModTime())
}

// mkdirs creates dir and its missing parents with mode 0755 whatever the
// umask: edge runs as another user and must be able to read releases.
func mkdirs(dir string) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := mkdirs(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return fmt.Errorf("create directory: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("chmod directory: %w", err)
	}
	return nil
}
