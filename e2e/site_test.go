package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The fixture site: a compiled SPA with an index, a hashed asset large
// enough to be compressed, and things that must never be served.
const (
	assetPath     = "/assets/app-3f2a1b9c.js"
	secret        = "DATABASE_PASSWORD=hunter2-e2e-must-not-leak"
	gitSecret     = "url = https://token-e2e-must-not-leak@example.invalid/repo.git"
	outsideSecret = "outside-the-root-e2e-must-not-leak"
)

var (
	indexHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>GitCourse e2e</title>
<script type="module" src="` + assetPath + `"></script></head>
<body><div id="root"></div>
` + strings.Repeat("<!-- padding so that the index is worth compressing -->\n", 30) + `</body></html>
`
	appJS = "// app bundle\n" + strings.Repeat("export function lesson(n) { return 'lesson ' + n + ' of the course'; }\n", 120)
)

// writeSite writes the fixture into dir/site and a secret outside it,
// reachable only through a symlink that leaves the root.
func writeSite(t testing.TB, dir string) {
	t.Helper()
	site := filepath.Join(dir, "site")
	files := map[string]string{
		"index.html":       indexHTML,
		assetPath[1:]:      appJS,
		"assets/app.css":   "body { margin: 0 }\n",
		"robots.txt":       "User-agent: *\nDisallow:\n",
		".env":             secret + "\n",
		".git/config":      "[remote \"origin\"]\n\t" + gitSecret + "\n",
		"../outside/s.txt": outsideSecret + "\n",
	}
	for name, body := range files {
		p := filepath.Join(site, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "outside", "s.txt"), filepath.Join(site, "leak.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "outside"), filepath.Join(site, "outdir")); err != nil {
		t.Fatal(err)
	}
}

// leaks reports whether body shows any of the fixture's secrets or a
// system file.
func leaks(body []byte) bool {
	s := string(body)
	for _, needle := range []string{"hunter2", "token-e2e", outsideSecret, "root:x:0:0"} {
		if strings.Contains(s, needle) {
			return true
		}
	}
	return false
}
