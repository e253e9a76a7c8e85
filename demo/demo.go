// Package demo holds what "edge demo" serves: an embedded sample SPA and
// an in-process sample API, so edge can be tried with no setup.
package demo

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed site
var siteFS embed.FS

// WriteSite copies the embedded sample SPA into dir (created 0755) and
// returns dir. The static handler serves real files through os.Root.
func WriteSite(dir string) error {
	sub, err := fs.Sub(siteFS, "site")
	if err != nil {
		return fmt.Errorf("open embedded site: %w", err)
	}
	return fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return fmt.Errorf("write demo file %s: %w", dst, err)
		}
		return nil
	})
}
