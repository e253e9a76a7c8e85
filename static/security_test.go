package static_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// hostileCase is a request target that must never reach a file it names
// outside the served set. want is the status of a real net/http server:
// 404 from the handler, or 400 where Go's request parser refuses the
// target before the handler sees it.
type hostileCase struct {
	name   string
	target string
	want   int
}

// hostileTargets are sent byte for byte: none is normalised by a client.
var hostileTargets = []hostileCase{
	// Plain traversal.
	{"dotdot bare", "..", http.StatusBadRequest},
	{"dotdot no slash file", "../outside-secret.txt", http.StatusBadRequest},
	{"relative no slash", "outside-secret.txt", http.StatusBadRequest},
	{"dotdot outside", "/../outside-secret.txt", http.StatusNotFound},
	{"dotdot twice", "/../../outside-secret.txt", http.StatusNotFound},
	{"dotdot at end", "/assets/..", http.StatusNotFound},
	{"assets dotdot env", "/assets/../.env", http.StatusNotFound},
	{"docs dotdot dotdot outside", "/docs/../../outside-secret.txt", http.StatusNotFound},
	{"through allowed symlink", "/link-in.css/../../outside-secret.txt", http.StatusNotFound},
	{"absolute form dotdot", "http://x/../outside-secret.txt", http.StatusNotFound},
	{"asterisk form", "*", http.StatusNotFound},

	// Encoded traversal.
	{"encoded dotdot", "/%2e%2e/outside-secret.txt", http.StatusNotFound},
	{"encoded dotdot upper", "/%2E%2E/outside-secret.txt", http.StatusNotFound},
	{"encoded dotdot mixed case", "/%2E%2e/%2e%2E/outside-secret.txt", http.StatusNotFound},
	{"half encoded dotdot", "/.%2e/outside-secret.txt", http.StatusNotFound},
	{"double encoded dotdot", "/%252e%252e/outside-secret.txt", http.StatusNotFound},
	{"double encoded slash", "/..%252f..%252foutside-secret.txt", http.StatusNotFound},
	{"encoded slash dotdot", "/..%2f..%2foutside-secret.txt", http.StatusNotFound},
	{"encoded slash dotdot bare", "/..%2f..%2f", http.StatusNotFound},
	{"encoded backslash dotdot", "/..%5c..%5coutside-secret.txt", http.StatusNotFound},
	{"encoded dot segment", "/%2e/", http.StatusNotFound},
	{"encoded dot env", "/%2eenv", http.StatusNotFound},
	{"overlong utf8 dots", "/%c0%ae%c0%ae/outside-secret.txt", http.StatusNotFound},
	{"overlong utf8 dots and slash", "/%c0%ae%c0%ae%c0%afoutside-secret.txt", http.StatusNotFound},
	{"overlong utf8 three byte dot", "/%e0%80%ae%e0%80%ae/outside-secret.txt", http.StatusNotFound},
	{"bad escape", "/%zz/.env", http.StatusBadRequest},
	{"lone percent", "/%", http.StatusBadRequest},

	// Backslashes.
	{"raw backslash dotdot", `/..\outside-secret.txt`, http.StatusNotFound},
	{"raw backslash dotdot twice", `/..\..\outside-secret.txt`, http.StatusNotFound},
	{"raw backslash env", `/assets\..\.env`, http.StatusNotFound},

	// NUL and control bytes.
	{"encoded nul", "/.env%00", http.StatusNotFound},
	{"encoded nul extension trick", "/index.html%00.js", http.StatusNotFound},
	{"encoded nul before dotdot", "/%00/../outside-secret.txt", http.StatusNotFound},
	{"encoded tab", "/%09/.env", http.StatusNotFound},
	{"encoded newline", "/assets/%0a../.env", http.StatusNotFound},
	{"raw nul", "/index.html\x00.js", http.StatusBadRequest},

	// Dotfiles, any case, any disguise.
	{"env", "/.env", http.StatusNotFound},
	{"dot slash env", "/./.env", http.StatusNotFound},
	{"env upper", "/.ENV", http.StatusNotFound},
	{"env mixed case", "/.Env", http.StatusNotFound},
	{"env trailing dot", "/.env.", http.StatusNotFound},
	{"env trailing slash", "/.env/", http.StatusNotFound},
	{"env query looks like js", "/.env?x=.js", http.StatusNotFound},
	{"env encoded hash", "/.env%23.js", http.StatusNotFound},
	{"git config", "/.git/config", http.StatusNotFound},
	{"git dir", "/.git/", http.StatusNotFound},
	{"git no slash", "/.git", http.StatusNotFound},
	{"git upper", "/.GIT/config", http.StatusNotFound},
	{"hidden secret", "/.hidden/secret.txt", http.StatusNotFound},
	{"well-known dotdot env", "/.well-known/../.env", http.StatusNotFound},
	{"well-known nested dotfile", "/.well-known/.env", http.StatusNotFound},
	{"dotdot semicolon", "/..;/outside-secret.txt", http.StatusNotFound},
	{"three dots", "/.../outside-secret.txt", http.StatusNotFound},

	// Double slashes.
	{"double slash env", "//.env", http.StatusNotFound},
	{"double slash dotdot", "//../outside-secret.txt", http.StatusNotFound},
	{"double slash mid", "/assets//../../outside-secret.txt", http.StatusNotFound},

	// Symlinks that leave the root.
	{"link out", "/link-out", http.StatusNotFound},
	{"link out slash", "/link-out/", http.StatusNotFound},
	{"relative link out", "/link-rel-out", http.StatusNotFound},
	{"linkdir out file", "/linkdir-out/x.txt", http.StatusNotFound},
	{"linkdir out extensionless", "/linkdir-out/x", http.StatusNotFound},
	{"linkdir out dir", "/linkdir-out/", http.StatusNotFound},
	{"linkdir out no slash", "/linkdir-out", http.StatusNotFound},
	{"linkdir out index", "/linkdir-out/index.html", http.StatusNotFound},

	// Unicode look-alikes are ordinary names, not dots or slashes.
	{"fullwidth dots encoded", "/%EF%BC%8E%EF%BC%8E/outside-secret.txt", http.StatusNotFound},
	{"fullwidth dots raw", "/．．/outside-secret.txt", http.StatusNotFound},
	{"fullwidth solidus", "/..%EF%BC%8Foutside-secret.txt", http.StatusNotFound},
	{"one dot leader", "/%E2%80%A4%E2%80%A4/outside-secret.txt", http.StatusNotFound},
	{"fullwidth dot env", "/%EF%BC%8Eenv.txt", http.StatusNotFound},

	// Size.
	{"very long traversal", "/" + strings.Repeat("a/", 1100) + "../.env", http.StatusNotFound},
	{"very long name", "/" + strings.Repeat("a", 3000) + ".js", http.StatusNotFound},
}

// TestHostileTargetsInProcess sends each target through httptest.NewRequest.
// Targets Go's request parser refuses cannot be built and must be the ones
// a real server answers with 400.
func TestHostileTargetsInProcess(t *testing.T) {
	if n := len(hostileTargets); n < 40 {
		t.Fatalf("got %d hostile targets, want at least 40", n)
	}
	s := newSite(t)
	for _, spa := range []bool{true, false} {
		opts := defaultOptions(s.root)
		opts.SPA = spa
		h := newHandler(t, opts)
		for _, tc := range hostileTargets {
			t.Run(fmt.Sprintf("spa=%v/%s", spa, tc.name), func(t *testing.T) {
				r, ok := tryNewRequest(http.MethodGet, tc.target)
				if !ok {
					if tc.want != http.StatusBadRequest {
						t.Fatalf("target %q does not parse, want status %d", tc.target, tc.want)
					}
					return
				}
				r.Header.Set("Accept-Encoding", "identity")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if tc.want == http.StatusBadRequest {
					t.Fatalf("target %q parses (path %q) but a real server refuses it", tc.target, r.URL.Path)
				}
				if w.Code != tc.want {
					t.Errorf("status of %q (path %q): got %d, want %d", tc.target, r.URL.Path, w.Code, tc.want)
				}
				assertNoSecrets(t, w.Body.Bytes())
				if w.Code == http.StatusNotFound && !bytes.Contains(w.Body.Bytes(), []byte("NOT-FOUND-PAGE")) {
					t.Errorf("404 body of %q: got %q, want the site's 404.html", tc.target, truncate(w.Body.Bytes()))
				}
			})
		}
	}
}

// TestHostileTargetsOverTCP writes each target on a real connection to a
// real server, so that nothing between the test and the handler rewrites it.
func TestHostileTargetsOverTCP(t *testing.T) {
	s := newSite(t)
	srv := httptest.NewServer(newHandler(t, defaultOptions(s.root)))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	counts := map[int]int{}
	for _, tc := range hostileTargets {
		t.Run(tc.name, func(t *testing.T) {
			resp := rawGet(t, addr, tc.target)
			counts[resp.status]++
			if resp.status != tc.want {
				t.Errorf("status of %q: got %d, want %d", tc.target, resp.status, tc.want)
			}
			assertNoSecrets(t, resp.body)
		})
	}
	t.Logf("%d hostile targets: %d answered 404 by the handler, %d answered 400 by net/http",
		len(hostileTargets), counts[http.StatusNotFound], counts[http.StatusBadRequest])
}

// TestHostileExtensionlessNeverLeak covers targets the SPA fallback could
// answer: a 200 is allowed only when it is index.html itself.
func TestHostileExtensionlessNeverLeak(t *testing.T) {
	s := newSite(t)
	index := s.file(t, "index.html")
	h := newHandler(t, defaultOptions(s.root))
	targets := []string{
		// Unicode look-alike dots name nothing on disk: an app route.
		"/%EF%BC%8E%EF%BC%8E", "/%EF%BC%8E%EF%BC%8E/%EF%BC%8Eenv", "/．．/．env",
		"/assets%2f..%2f..%2foutside-secret", "/linkdir-out/nothing-here",
	}
	for _, tc := range hostileTargets {
		if tc.want != http.StatusBadRequest && extensionless(tc.target) {
			targets = append(targets, tc.target)
		}
	}
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			w := get(h, http.MethodGet, target)
			assertNoSecrets(t, w.Body.Bytes())
			switch w.Code {
			case http.StatusNotFound:
			case http.StatusOK:
				if !bytes.Equal(w.Body.Bytes(), index) {
					t.Errorf("200 body of %q: got %q, want index.html", target, truncate(w.Body.Bytes()))
				}
			default:
				t.Errorf("status of %q: got %d, want 404 or the SPA's index.html", target, w.Code)
			}
		})
	}
}

// TestSymlinkInsideRootServed checks that os.Root still follows a relative
// symlink that stays inside the root.
func TestSymlinkInsideRootServed(t *testing.T) {
	s := newSite(t)
	h := newHandler(t, defaultOptions(s.root))
	w := get(h, http.MethodGet, "/link-in.css")
	if w.Code != http.StatusOK {
		t.Fatalf("status: got %d, want %d", w.Code, http.StatusOK)
	}
	if got, want := w.Body.String(), string(s.file(t, "assets/style.css")); got != want {
		t.Errorf("body: got %q, want %q", got, want)
	}
}

// TestWellKnownServed checks the one dot-directory that is allowed.
func TestWellKnownServed(t *testing.T) {
	s := newSite(t)
	h := newHandler(t, defaultOptions(s.root))
	w := get(h, http.MethodGet, "/.well-known/security.txt")
	if w.Code != http.StatusOK {
		t.Fatalf("status: got %d, want %d", w.Code, http.StatusOK)
	}
	if got := w.Body.String(); got != wellKnownBody {
		t.Errorf("body: got %q, want %q", got, wellKnownBody)
	}
}
