package release

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReferences(t *testing.T) {
	page := `<!doctype html><html><head>
<meta charset="utf-8">
<link rel="icon" type="image/svg+xml" href="/vite.svg">
<link rel="modulepreload" href="./assets/vendor-1.js?v=2#x">
<link rel="canonical" href="/courses">
<link rel="preconnect" href="https://fonts.example.com">
<link rel="alternate" hreflang="de" href="/de/">
<link rel="stylesheet" href="//cdn.example.com/x.css">
<script type="module" crossorigin src="/assets/index-abc.js"></script>
<script>console.log("inline")</script>
</head><body>
<a href="/about">about</a>
<img src="data:image/png;base64,AAAA" srcset="/img/a-1x.png 1x, img/a-2x.png 2x">
<picture><source srcset="/img/b.webp"></picture>
<video poster="/img/poster.jpg"><source src="/media/v.mp4"></video>
<iframe src="https://example.com/embed"></iframe>
<img src="/assets/index-abc.js"><img src="#frag"><img src="/sub/">
<img src="../../escape.png">
</body></html>`
	got := References([]byte(page))
	want := []string{"vite.svg", "assets/vendor-1.js", "assets/index-abc.js", "img/a-1x.png", "img/a-2x.png",
		"img/b.webp", "img/poster.jpg", "media/v.mp4", "escape.png"}
	if !slices.Equal(got, want) {
		t.Errorf("References:\n got %q\nwant %q", got, want)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(dir string)
		wantErr string
	}{
		{"ok", func(string) {}, ""},
		{"no index", func(d string) { os.Remove(filepath.Join(d, "index.html")) }, "no index.html"},
		{"missing script", func(d string) { os.Remove(filepath.Join(d, "assets", "app-a.js")) }, "/assets/app-a.js"},
		{"asset is a directory", func(d string) {
			os.Remove(filepath.Join(d, "assets", "app-a.css"))
			os.Mkdir(filepath.Join(d, "assets", "app-a.css"), 0o755)
		}, "/assets/app-a.css"},
		{"symlink out of the build", func(d string) {
			os.Remove(filepath.Join(d, "assets", "app-a.css"))
			os.Symlink("/etc/passwd", filepath.Join(d, "assets", "app-a.css"))
		}, "/assets/app-a.css"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := build(t, "a", nil)
			tc.mutate(dir)
			_, err := Validate(dir)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidBuild) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate: got %v, want ErrInvalidBuild mentioning %q", err, tc.wantErr)
			}
		})
	}
	if _, err := Validate(filepath.Join(t.TempDir(), "nothing")); !errors.Is(err, ErrInvalidBuild) {
		t.Errorf("Validate of a missing directory: got %v", err)
	}
}

func FuzzReferences(f *testing.F) {
	f.Add([]byte(`<script src="/a.js"></script><link rel=stylesheet href=b.css><img srcset=", ,x 1x">`))
	f.Add([]byte(`<link rel="canonical alternate" href="%zz">`))
	f.Fuzz(func(t *testing.T, page []byte) {
		for _, r := range References(page) {
			if r == "" || strings.HasPrefix(r, "/") || strings.Contains(r, "..") && slices.Contains(strings.Split(r, "/"), "..") {
				t.Fatalf("References returned %q", r)
			}
		}
	})
}
