package release

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// build writes a frontend build under a temp dir: index.html referencing
// /assets/app-<tag>.js and /assets/app-<tag>.css, plus extra files.
func build(t *testing.T, tag string, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	js := "console.log('" + tag + "');\n" + strings.Repeat("export const x"+tag+" = 'lorem ipsum dolor';\n", 60)
	files := map[string]string{
		"index.html": `<!doctype html><html><head>
<link rel="stylesheet" href="/assets/app-` + tag + `.css">
<link rel="canonical" href="/courses">
<script type="module" src="/assets/app-` + tag + `.js"></script>
</head><body><a href="/about">about</a></body></html>
`,
		"assets/app-" + tag + ".js":  js,
		"assets/app-" + tag + ".css": "body{color:red}\n",
	}
	for k, v := range extra {
		files[k] = v
	}
	for name, body := range files {
		writeTestFile(t, filepath.Join(dir, name), body)
	}
	return dir
}

func writeTestFile(t *testing.T, name, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// site returns the site root (…/frontend/current, not yet existing) and
// options whose clock advances one second per call.
func site(t *testing.T) (string, Options) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "frontend", "current")
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	return root, Options{Root: root, Now: func() time.Time {
		clock = clock.Add(time.Second)
		return clock
	}}
}

func install(t *testing.T, src string, opts Options) *Result {
	t.Helper()
	res, err := Install(context.Background(), src, opts)
	if err != nil {
		t.Fatalf("Install(%s): %v", src, err)
	}
	return res
}

// currentID is the release the symlink points at.
func currentID(t *testing.T, root string) string {
	t.Helper()
	target, err := os.Readlink(root)
	if err != nil {
		t.Fatalf("readlink %s: %v", root, err)
	}
	return filepath.Base(target)
}

// servedFile reads name through the current symlink, as edge would.
func servedFile(root, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
	return string(b), err
}

func mustServe(t *testing.T, root, name, wantSubstr string) {
	t.Helper()
	got, err := servedFile(root, name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !strings.Contains(got, wantSubstr) {
		t.Fatalf("%s: got %.80q, want it to contain %q", name, got, wantSubstr)
	}
}

func releasesOf(t *testing.T, root string) []string {
	t.Helper()
	infos, err := List(root)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	ids := make([]string, len(infos))
	for i, in := range infos {
		ids[i] = in.ID
	}
	return ids
}

func ids(n int, from time.Time) []string {
	var out []string
	for i := range n {
		out = append(out, from.Add(time.Duration(i)*time.Second).Format(idFormat))
	}
	return out
}

func fmtIDs(ids []string) string { return fmt.Sprint(ids) }

func mustTime(t *testing.T, id string) time.Time {
	t.Helper()
	tm, err := time.Parse(idFormat, id)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
