package release

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

func TestInstallFirstRelease(t *testing.T) {
	root, opts := site(t)
	noise := make([]byte, 4096)
	_, _ = rand.Read(noise)
	src := build(t, "a", map[string]string{
		"noise.js":    string(noise), // incompressible: no sidecar
		"favicon.png": strings.Repeat("p", 4096),
		"small.js":    "tiny",
	})
	old := syscall.Umask(0o077) // edge must read releases whatever the deployer's umask
	res, err := Install(context.Background(), src, opts)
	syscall.Umask(old)
	if err != nil {
		t.Fatalf("Install: %v", err)
	}
	if res.Previous != "" || res.ID != "20261125T030001Z" {
		t.Errorf("result: got id %q previous %q, want 20261125T030001Z and none", res.ID, res.Previous)
	}
	target, err := os.Readlink(root)
	if err != nil || target != "releases/"+res.ID {
		t.Fatalf("current: got %q (%v), want a relative link releases/%s", target, err, res.ID)
	}
	mustServe(t, root, "index.html", "app-a.js")
	for _, tc := range []struct {
		name   string
		br, gz bool
	}{
		{"assets/app-a.js", true, true},
		{"index.html", false, false}, // under 1 KiB
		{"assets/app-a.css", false, false},
		{"noise.js", false, false},
		{"favicon.png", false, false},
		{"small.js", false, false},
	} {
		orig, _ := servedFile(root, tc.name)
		for enc, want := range map[string]bool{"br": tc.br, "gz": tc.gz} {
			data, err := os.ReadFile(filepath.Join(root, tc.name+"."+enc))
			if got := err == nil; got != want {
				t.Errorf("%s.%s exists: got %v, want %v", tc.name, enc, got, want)
				continue
			}
			if want && decode(t, enc, data) != orig {
				t.Errorf("%s.%s does not decode to the file", tc.name, enc)
			}
		}
	}
	if res.Copy.Files != 6 || res.Copy.Brotli != 1 || res.Copy.Gzip != 1 {
		t.Errorf("copy stats: got %+v, want 6 files, 1 br, 1 gz", res.Copy)
	}
	checkModes(t, res.Dir)
	m, err := readManifest(res.Dir)
	if err != nil || m.ID != res.ID || m.Files != 6 || m.Source != src {
		t.Errorf("manifest: got %+v (%v)", m, err)
	}
}

func decode(t *testing.T, enc string, data []byte) string {
	t.Helper()
	var r io.Reader
	if enc == "br" {
		r = brotli.NewReader(bytes.NewReader(data))
	} else {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", enc, err)
	}
	return string(out)
}

// checkModes wants directories 0755 and files 0644 under dir.
func checkModes(t *testing.T, dir string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := d.Info()
		want := fs.FileMode(0o644)
		if d.IsDir() {
			want = 0o755
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		return nil
	})
}

func TestInstallKeepsShippedSidecars(t *testing.T) {
	root, opts := site(t)
	src := build(t, "a", map[string]string{"assets/app-a.js.br": "shipped"})
	install(t, src, opts)
	if got, _ := servedFile(root, "assets/app-a.js.br"); got != "shipped" {
		t.Errorf("shipped sidecar: got %.40q, want it copied as is", got)
	}
	if _, err := os.Stat(filepath.Join(root, "assets/app-a.js.gz")); err != nil {
		t.Errorf("missing .gz sidecar: %v", err)
	}
}

func TestInstallRefusesInvalidBuild(t *testing.T) {
	root, opts := site(t)
	src := build(t, "a", nil)
	if err := os.Remove(filepath.Join(src, "assets", "app-a.css")); err != nil {
		t.Fatal(err)
	}
	_, err := Install(context.Background(), src, opts)
	if !errors.Is(err, ErrInvalidBuild) || !strings.Contains(err.Error(), "/assets/app-a.css") {
		t.Fatalf("Install: got %v, want ErrInvalidBuild naming /assets/app-a.css", err)
	}
	if _, err := os.Lstat(root); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("current exists after a refused release: %v", err)
	}
	if got := releasesOf(t, root); len(got) != 0 {
		t.Errorf("releases after a refused release: %v", got)
	}
}

func TestInstallRefusesRealDirectoryRoot(t *testing.T) {
	root, opts := site(t)
	writeTestFile(t, filepath.Join(root, "index.html"), "hand-made")
	_, err := Install(context.Background(), build(t, "a", nil), opts)
	if err == nil || !strings.Contains(err.Error(), "not a symlink") {
		t.Fatalf("Install over a real directory: got %v, want a not-a-symlink error", err)
	}
	mustServe(t, root, "index.html", "hand-made")
}

// TestCarry: a page loaded from release A keeps finding its assets for two
// more releases; HTML is never carried, a sidecar goes with its file.
func TestCarry(t *testing.T) {
	root, opts := site(t)
	install(t, build(t, "a", map[string]string{"about.html": "old page", "old.txt": "gone next"}), opts)
	rb := install(t, build(t, "b", nil), opts)
	mustServe(t, root, "index.html", "app-b.js")
	mustServe(t, root, "assets/app-a.js", "console.log('a')")
	mustServe(t, root, "assets/app-a.js.br", "")
	if _, err := servedFile(root, "about.html"); err == nil {
		t.Errorf("about.html of release A was carried into B")
	}
	if rb.Carried != 5 { // app-a.js(+.br,.gz), app-a.css, old.txt
		t.Errorf("carried into B: got %d, want 5", rb.Carried)
	}
	install(t, build(t, "c", nil), opts)
	mustServe(t, root, "assets/app-a.js", "console.log('a')") // two hops
	mustServe(t, root, "assets/app-b.js", "console.log('b')")
	install(t, build(t, "d", nil), opts)
	if _, err := servedFile(root, "assets/app-a.js"); err == nil {
		t.Errorf("app-a.js still carried three releases later")
	}
	mustServe(t, root, "assets/app-b.js", "console.log('b')")
	mustServe(t, root, "assets/app-c.js", "console.log('c')")

	opts.NoCarry = true
	install(t, build(t, "e", nil), opts)
	if _, err := servedFile(root, "assets/app-d.js"); err == nil {
		t.Errorf("NoCarry: app-d.js was carried")
	}
}

func TestRollback(t *testing.T) {
	root, opts := site(t)
	var rels []string
	for _, tag := range []string{"a", "b", "c"} {
		rels = append(rels, install(t, build(t, tag, nil), opts).ID)
	}
	res, err := Rollback(context.Background(), "", opts)
	if err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if res.ID != rels[1] || res.Previous != rels[2] || currentID(t, root) != rels[1] {
		t.Fatalf("rollback: got %s (from %s), current %s; want %s from %s", res.ID, res.Previous, currentID(t, root), rels[1], rels[2])
	}
	mustServe(t, root, "index.html", "app-b.js")
	mustServe(t, root, "assets/app-c.js", "console.log('c')") // a page of C still loads
	if m, _ := readManifest(filepath.Join(filepath.Dir(root), "releases", rels[2])); m.RolledBackAt == nil {
		t.Errorf("release %s not marked as rolled back from", rels[2])
	}
	if _, err := Rollback(context.Background(), "", opts); err != nil {
		t.Fatalf("second Rollback: %v", err)
	}
	mustServe(t, root, "index.html", "app-a.js")
	if _, err := Rollback(context.Background(), "", opts); !errors.Is(err, ErrNoPrevious) {
		t.Fatalf("Rollback from the first release: got %v, want ErrNoPrevious", err)
	}
	// A new release goes after all of them; its rollback skips B and C,
	// which were rolled back from.
	rd := install(t, build(t, "d", nil), opts)
	if rd.Previous != rels[0] {
		t.Errorf("previous of the new release: got %s, want %s", rd.Previous, rels[0])
	}
	res, err = Rollback(context.Background(), "", opts)
	if err != nil || res.ID != rels[0] {
		t.Fatalf("Rollback after rollbacks: got %v %v, want %s", res, err, rels[0])
	}
	// Named target: rolls "forward" too, and clears its mark.
	res, err = Rollback(context.Background(), rels[2], opts)
	if err != nil || currentID(t, root) != rels[2] {
		t.Fatalf("Rollback -to %s: %v, current %s", rels[2], err, currentID(t, root))
	}
	if m, _ := readManifest(res.Dir); m.RolledBackAt != nil {
		t.Errorf("named target keeps its rolled-back mark")
	}
	for _, bad := range []string{"nope", "20991231T000000Z", rels[2]} {
		if _, err := Rollback(context.Background(), bad, opts); err == nil {
			t.Errorf("Rollback -to %q: got nil error", bad)
		}
	}
}

func TestPrune(t *testing.T) {
	root, opts := site(t)
	var rels []string
	for i := range 8 {
		res := install(t, build(t, string(rune('a'+i)), nil), opts)
		rels = append(rels, res.ID)
	}
	if got, want := releasesOf(t, root), rels[3:]; fmtIDs(got) != fmtIDs(want) {
		t.Fatalf("after 8 releases: got %v, want the newest 5 %v", got, want)
	}
	// Roll back to the oldest kept release, then release 4 more: the
	// current one and the one before it survive although older.
	for range 4 {
		if _, err := Rollback(context.Background(), "", opts); err != nil {
			t.Fatal(err)
		}
	}
	if got := currentID(t, root); got != rels[3] {
		t.Fatalf("current after 4 rollbacks: %s, want %s", got, rels[3])
	}
	opts.Keep = 2
	res := install(t, build(t, "x", nil), opts)
	got := releasesOf(t, root)
	want := []string{rels[3], rels[7], res.ID} // previous (not rolled back), newest 2
	if fmtIDs(got) != fmtIDs(want) {
		t.Errorf("after prune with keep 2: got %v, want %v (pruned %v)", got, want, res.Pruned)
	}
}

func TestNextID(t *testing.T) {
	at := ids(1, mustTime(t, "20261125T030000Z"))[0]
	tests := []struct {
		name string
		rels []string
		want string
	}{
		{"first", nil, at},
		{"newer", []string{"20261124T000000Z"}, at},
		{"same second", []string{at}, at + "-2"},
		{"third in a second", []string{at, at + "-2"}, at + "-3"},
		{"clock went back", []string{"20261126T000000Z"}, "20261126T000000Z-2"},
		{"tenth", []string{at + "-9"}, at + "-10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextID(mustTime(t, "20261125T030000Z"), tc.rels); got != tc.want {
				t.Errorf("nextID: got %q, want %q", got, tc.want)
			}
		})
	}
	if compareIDs(at+"-10", at+"-9") <= 0 || compareIDs(at+"-2", at) <= 0 {
		t.Errorf("compareIDs does not order sequence numbers numerically")
	}
	for name, want := range map[string]bool{at: true, at + "-2": true, at + "-x": false, ".tmp-" + at: false, "r1": false} {
		if got := validName(name); got != want {
			t.Errorf("validName(%q): got %v, want %v", name, got, want)
		}
	}
}

// TestConcurrentInstalls: two deploys at once both land, one after the
// other, under the lock.
func TestConcurrentInstalls(t *testing.T) {
	root, opts := site(t)
	var mu sync.Mutex
	now := opts.Now
	opts.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now() }
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		src := build(t, string(rune('a'+i)), nil)
		wg.Go(func() { _, errs[i] = Install(context.Background(), src, opts) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("install %d: %v", i, err)
		}
	}
	if got := releasesOf(t, root); len(got) != 4 {
		t.Errorf("releases: got %v, want 4", got)
	}
	if _, err := os.Stat(filepath.Join(root, "index.html")); err != nil {
		t.Errorf("current: %v", err)
	}
}

func TestListWithoutReleases(t *testing.T) {
	root, _ := site(t)
	infos, err := List(root)
	if err != nil || len(infos) != 0 {
		t.Fatalf("List: got %v, %v; want nothing", infos, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(root), "releases")); err == nil {
		t.Errorf("List created the releases directory")
	}
}
