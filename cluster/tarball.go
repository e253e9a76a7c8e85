package cluster

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxReleaseBytes bounds a release build kept in PostgreSQL.
const maxReleaseBytes = 512 << 20

// Pack tars the regular files and directories under dir (no symlinks,
// no devices) and returns the tar with its sha256.
func Pack(dir string) ([]byte, string, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() && !info.IsDir() {
			return nil // symlinks and special files are not part of a build
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		if buf.Len() > maxReleaseBytes {
			return fmt.Errorf("build larger than %d MiB", maxReleaseBytes>>20)
		}
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		return nil, "", fmt.Errorf("pack release %s: %w", dir, err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), hex.EncodeToString(sum[:]), nil
}

// Unpack checks data against sha and extracts it into dir (which must
// exist), refusing any path that would leave dir.
func Unpack(data []byte, sha, dir string) error {
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != sha {
		return errors.New("unpack release: sha256 mismatch (the stored release is damaged)")
	}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("unpack release: %w", err)
		}
		name := filepath.FromSlash(h.Name)
		if !filepath.IsLocal(name) || strings.HasPrefix(h.Name, "/") {
			return fmt.Errorf("unpack release: unsafe path %q", h.Name)
		}
		dst := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return fmt.Errorf("unpack release: %w", err)
			}
		case tar.TypeReg:
			if err := writeFile(dst, tr); err != nil {
				return fmt.Errorf("unpack release: %w", err)
			}
		default:
			return fmt.Errorf("unpack release: %q is not a file or directory", h.Name)
		}
	}
}

func writeFile(dst string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, io.LimitReader(r, maxReleaseBytes)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
