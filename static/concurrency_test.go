package static_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// replaceFile swaps root/name for data atomically (write, then rename), as
// a deploy does, with its own mtime so the change is seen.
func replaceFile(t testing.TB, root, name string, data []byte, mod time.Time) error {
	p := filepath.Join(root, filepath.FromSlash(name))
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Chtimes(tmp, mod, mod); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// TestConcurrentRequestsWhileFilesChange runs 50 clients over several paths
// and encodings while a writer keeps replacing two files and another
// goroutine invalidates the cache. Run with -race. Every answer must be one
// of the versions that existed, whole.
func TestConcurrentRequestsWhileFilesChange(t *testing.T) {
	s := newSite(t)
	// Small enough that recompressing each new version at the on-the-fly
	// brotli level does not dominate the run under -race; index.html is
	// under the compression threshold, app.js over it.
	s.write(t, "assets/app-abc123.js", jsText("app", 1200))
	s.write(t, "index.html", htmlPage("INDEX-PAGE", 600))
	opts := defaultOptions(s.root)
	opts.CheckInterval = time.Millisecond
	h := newHandler(t, opts)

	appA := s.file(t, "assets/app-abc123.js")
	appB := bytes.ToUpper(appA)
	indexA := s.file(t, "index.html")
	indexB := htmlPage("INDEX-PAGE-B", 700)
	valid := map[string][][]byte{
		"/assets/app-abc123.js": {appA, appB},
		"/":                     {indexA, indexB},
		"/courses/42":           {indexA, indexB},
		"/assets/big.js":        {s.file(t, "assets/big.js")},
		"/assets/style.css":     {s.file(t, "assets/style.css")},
		"/docs/":                {s.file(t, "docs/index.html")},
		"/assets/missing.js":    {s.file(t, "404.html")},
	}
	var targets []string
	for target := range valid {
		targets = append(targets, target)
	}
	accepts := []string{"", "gzip", "br", "br, gzip"}

	const maxWrites = 40
	stop := make(chan struct{})
	var writers sync.WaitGroup
	lastApp := appA // written by the writer, read after writers.Wait
	writes := 0
	writers.Go(func() {
		for i := range maxWrites {
			select {
			case <-stop:
				return
			default:
			}
			app, index := appA, indexA
			if i%2 == 1 {
				app, index = appB, indexB
			}
			mod := s.modTime.Add(time.Duration(i+1) * time.Second)
			if err := replaceFile(t, s.root, "assets/app-abc123.js", app, mod); err != nil {
				t.Errorf("replace app: %v", err)
				return
			}
			if err := replaceFile(t, s.root, "index.html", index, mod); err != nil {
				t.Errorf("replace index: %v", err)
				return
			}
			lastApp, writes = app, i+1
			time.Sleep(5 * time.Millisecond)
		}
	})
	writers.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(40 * time.Millisecond):
				if err := h.Invalidate(); err != nil {
					t.Errorf("Invalidate: %v", err)
				}
			}
		}
	})

	const clients, perClient = 50, 40
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range perClient {
				target := targets[(c+i)%len(targets)]
				accept := accepts[(c*7+i)%len(accepts)]
				if err := checkResponse(h, target, accept, valid[target]); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	writers.Wait()
	t.Logf("%d clients x %d requests during %d file replacements", clients, perClient, writes)

	time.Sleep(5 * time.Millisecond)
	if err := checkResponse(h, "/assets/app-abc123.js", "br", [][]byte{lastApp}); err != nil {
		t.Errorf("after the writer stopped: %v", err)
	}
}

// checkResponse requests target and reports an error unless the decoded
// body is one of want, with a matching status.
func checkResponse(h http.Handler, target, accept string, want [][]byte) error {
	w := get(h, http.MethodGet, target, "Accept-Encoding", accept)
	wantStatus := http.StatusOK
	if target == "/assets/missing.js" {
		wantStatus = http.StatusNotFound
	}
	if w.Code != wantStatus {
		return fmt.Errorf("%s (%q): status: got %d, want %d", target, accept, w.Code, wantStatus)
	}
	body, err := decodeErr(w.Header().Get("Content-Encoding"), w.Body.Bytes())
	if err != nil {
		return fmt.Errorf("%s (%q): %v", target, accept, err)
	}
	for _, v := range want {
		if bytes.Equal(body, v) {
			return nil
		}
	}
	return fmt.Errorf("%s (%q): body: got %q, want one of the %d versions", target, accept, truncate(body), len(want))
}
