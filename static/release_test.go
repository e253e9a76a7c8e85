package static_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/static"
)

// releases builds base/releases/r1 and r2 and base/current -> releases/r1,
// as edge release lays them out.
func releases(t *testing.T) (current string, swap func(to string)) {
	t.Helper()
	base := t.TempDir()
	for _, r := range []string{"r1", "r2"} {
		mustWrite(t, filepath.Join(base, "releases", r, "index.html"), "<title>release "+r+"</title>\n")
		mustWrite(t, filepath.Join(base, "releases", r, "assets", "app-"+r+".js"), "console.log('"+r+"')\n")
	}
	current = filepath.Join(base, "current")
	mustSymlink(t, filepath.Join("releases", "r1"), current)
	swap = func(to string) {
		t.Helper()
		tmp := filepath.Join(base, "current.tmp")
		mustSymlink(t, filepath.Join("releases", to), tmp)
		if err := os.Rename(tmp, current); err != nil {
			t.Fatalf("swap current to %s: %v", to, err)
		}
	}
	return current, swap
}

func TestReleaseSwap(t *testing.T) {
	tests := []struct {
		name          string
		checkInterval time.Duration
		invalidate    bool
		wait          time.Duration
		want          string
	}{
		{"invalidate", time.Hour, true, 0, "r2"},
		{"check interval", time.Millisecond, false, 5 * time.Millisecond, "r2"},
		{"neither yet", time.Hour, false, 5 * time.Millisecond, "r1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			current, swap := releases(t)
			opts := defaultOptions(current)
			opts.CheckInterval = tc.checkInterval
			h := newHandler(t, opts)
			for _, target := range []string{"/", "/courses/1", "/assets/app-r1.js"} {
				if w := get(h, http.MethodGet, target); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "r1") {
					t.Fatalf("before swap %s: got %d %q, want 200 from r1", target, w.Code, w.Body.String())
				}
			}
			oldETag := get(h, http.MethodGet, "/").Header().Get("ETag")

			swap("r2")
			if tc.invalidate {
				if err := h.Invalidate(); err != nil {
					t.Fatalf("Invalidate: %v", err)
				}
			}
			time.Sleep(tc.wait)

			w := get(h, http.MethodGet, "/")
			if got, want := w.Body.String(), "<title>release "+tc.want+"</title>\n"; got != want {
				t.Errorf("index after swap: got %q, want %q", got, want)
			}
			nm := get(h, http.MethodGet, "/", "If-None-Match", oldETag)
			if wantCode := map[string]int{"r1": 304, "r2": 200}[tc.want]; nm.Code != wantCode {
				t.Errorf("If-None-Match with r1's ETag: got %d, want %d", nm.Code, wantCode)
			}
			js := "/assets/app-" + tc.want + ".js"
			if w := get(h, http.MethodGet, js); w.Code != http.StatusOK {
				t.Errorf("%s after swap: got %d, want %d", js, w.Code, http.StatusOK)
			}
			if tc.want == "r2" {
				if w := get(h, http.MethodGet, "/assets/app-r1.js"); w.Code != http.StatusNotFound {
					t.Errorf("r1 asset after swap: got %d, want %d", w.Code, http.StatusNotFound)
				}
			}
		})
	}
}

// TestReleaseRootGone: when the symlink briefly points nowhere, the handler
// keeps serving the release it has.
func TestReleaseRootGone(t *testing.T) {
	current, swap := releases(t)
	opts := defaultOptions(current)
	opts.CheckInterval = time.Millisecond
	h := newHandler(t, opts)
	if err := os.Remove(current); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if w := get(h, http.MethodGet, "/"); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "r1") {
		t.Errorf("root gone: got %d %q, want 200 from r1", w.Code, w.Body.String())
	}
	if err := h.Invalidate(); err == nil {
		t.Errorf("Invalidate with no root: got nil error, want one")
	}
	swap("r2")
	time.Sleep(5 * time.Millisecond)
	if w := get(h, http.MethodGet, "/"); !strings.Contains(w.Body.String(), "r2") {
		t.Errorf("root back: got %q, want r2", w.Body.String())
	}
}

func TestNewMissingRoot(t *testing.T) {
	opts := defaultOptions(filepath.Join(t.TempDir(), "nope"))
	h, err := static.New(opts)
	if err == nil {
		_ = h.Close()
		t.Fatalf("New with a missing root: got nil error, want one")
	}
}

// TestClose: Close releases the root and is idempotent; a request after it
// gets 503 instead of opening the root again.
func TestClose(t *testing.T) {
	s := newSite(t)
	opts := defaultOptions(s.root)
	opts.CheckInterval = time.Millisecond
	h, err := static.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if w := get(h, http.MethodGet, "/"); w.Code != http.StatusOK {
		t.Fatalf("before Close: got %d, want %d", w.Code, http.StatusOK)
	}
	if err := h.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	time.Sleep(5 * time.Millisecond)
	if w := get(h, http.MethodGet, "/"); w.Code != http.StatusServiceUnavailable {
		t.Errorf("after Close: got %d, want %d", w.Code, http.StatusServiceUnavailable)
	}
	if err := h.Invalidate(); err == nil {
		t.Errorf("Invalidate after Close: got nil error, want one")
	}
	if w := get(h, http.MethodGet, "/"); w.Code != http.StatusServiceUnavailable {
		t.Errorf("after Close and Invalidate: got %d, want %d", w.Code, http.StatusServiceUnavailable)
	}
}
