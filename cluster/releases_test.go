package cluster

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPackUnpackRoundTrip(t *testing.T) {
	src := t.TempDir()
	for name, body := range map[string]string{"index.html": "<h1>x</h1>", "assets/app-1.js": "js", "assets/deep/a.css": "css"} {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	data, sha, err := Pack(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := Unpack(data, sha, dst); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "assets", "deep", "a.css")); err != nil || string(b) != "css" {
		t.Errorf("unpacked a.css = %q, %v", b, err)
	}
	if _, err := os.Lstat(filepath.Join(dst, "link")); err == nil {
		t.Error("a symlink of the build was packed")
	}
	data[len(data)/2] ^= 1
	if err := Unpack(data, sha, t.TempDir()); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("Unpack of a damaged tar: %v, want a sha256 mismatch", err)
	}
}

// evilTar is a tar with one entry of the given name and type.
func evilTar(name string, typ byte) ([]byte, string) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: name, Typeflag: typ, Mode: 0o644, Size: 1, Linkname: "/etc/passwd"})
	if typ == tar.TypeReg {
		_, _ = tw.Write([]byte("x"))
	}
	_ = tw.Close()
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), hex.EncodeToString(sum[:])
}

func TestUnpackRefusesEscapes(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  byte
	}{{"../outside", tar.TypeReg}, {"/etc/x", tar.TypeReg}, {"a/../../x", tar.TypeReg}, {"link", tar.TypeSymlink}} {
		data, sha := evilTar(tc.name, tc.typ)
		dir := t.TempDir()
		if err := Unpack(data, sha, filepath.Join(dir, "in")); err == nil {
			t.Errorf("Unpack of %q (type %c) succeeded", tc.name, tc.typ)
		}
		if _, err := os.Stat(filepath.Join(dir, "outside")); err == nil {
			t.Errorf("%q escaped the target", tc.name)
		}
	}
}

// FuzzUnpack: any bytes either unpack inside the target or fail; nothing
// is written outside it.
func FuzzUnpack(f *testing.F) {
	good, _ := evilTar("index.html", tar.TypeReg)
	bad, _ := evilTar("../x", tar.TypeReg)
	f.Add(good)
	f.Add(bad)
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		in := filepath.Join(root, "in")
		if err := os.Mkdir(in, 0o755); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		_ = Unpack(data, hex.EncodeToString(sum[:]), in)
		entries, _ := os.ReadDir(root)
		if len(entries) != 1 {
			t.Fatalf("Unpack wrote outside its target: %v", entries)
		}
	})
}

// Publishing stores the build and makes it current; a different build
// under an id already stored is refused; only stored ids can be made
// current.
func TestPublishRelease(t *testing.T) {
	url := needPostgres(t).createDB(t)
	a, b := openTestCluster(t, url, "a"), openTestCluster(t, url, "b")
	ctx := t.Context()
	if id, err := b.CurrentRelease(ctx); err != nil || id != "" {
		t.Fatalf("CurrentRelease before any = %q, %v", id, err)
	}
	if err := a.PublishRelease(ctx, "20261206T150000Z", []byte("tar1"), "sha1"); err != nil {
		t.Fatal(err)
	}
	if id, err := b.CurrentRelease(ctx); err != nil || id != "20261206T150000Z" {
		t.Errorf("CurrentRelease = %q, %v", id, err)
	}
	if data, sha, err := b.LoadRelease(ctx, "20261206T150000Z"); err != nil || string(data) != "tar1" || sha != "sha1" {
		t.Errorf("LoadRelease = %q %q %v", data, sha, err)
	}
	if err := b.PublishRelease(ctx, "20261206T150000Z", []byte("other"), "sha2"); err == nil {
		t.Error("a different build under a stored id was accepted")
	}
	if err := a.PublishRelease(ctx, "20261206T150100Z", []byte("tar2"), "sha3"); err != nil {
		t.Fatal(err)
	}
	if err := a.SetCurrentRelease(ctx, "20261206T150000Z"); err != nil {
		t.Fatal(err)
	}
	if id, _ := b.CurrentRelease(ctx); id != "20261206T150000Z" {
		t.Errorf("after rollback CurrentRelease = %q", id)
	}
	if err := a.SetCurrentRelease(ctx, "20201231T000000Z"); err == nil || !strings.Contains(err.Error(), "not in the cluster store") {
		t.Errorf("SetCurrentRelease of an unknown id: %v", err)
	}
}
