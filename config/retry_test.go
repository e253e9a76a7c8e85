package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/config"
)

// retry_window and retry_max_waiting: defaults, a written "0s" kept, and
// bad values reported as FILE:LINE: key: reason.
func TestRetryWindowKeys(t *testing.T) {
	site := "[site]\ndomains = [\"example.com\"]\nroot = \"" + t.TempDir() + "\"\n"
	cfg := mustParse(t, site+`
[[route]]
path = "/api/"
upstreams = ["127.0.0.1:8000"]
[[route]]
path = "/ws/"
upstreams = ["127.0.0.1:8001"]
retry_window = "0s"
retry_max_waiting = 3
`, nil)
	def, off := cfg.Routes[0], cfg.Routes[1]
	if def.RetryWindow.Duration != 5*time.Second || def.RetryMaxWaiting != 1024 {
		t.Errorf("defaults: retry_window %v retry_max_waiting %d, want 5s 1024", def.RetryWindow.Duration, def.RetryMaxWaiting)
	}
	if off.RetryWindow.Duration != 0 || off.RetryMaxWaiting != 3 {
		t.Errorf("written: retry_window %v retry_max_waiting %d, want 0s 3", off.RetryWindow.Duration, off.RetryMaxWaiting)
	}

	bad, err := parse(t, site+`[[route]]
path = "/api/"
upstreams = ["127.0.0.1:8000"]
retry_window = "-1s"
retry_max_waiting = 0
[[route]]
path = "/b/"
upstreams = ["127.0.0.1:8000"]
retry_window = "1h"
[[route]]
path = "/c/"
upstreams = ["127.0.0.1:8000"]
retry_window = "soon"
`, "edge.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bad.Validate()
	var errs *config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("got %v, want *config.Errors", err)
	}
	want := []string{
		`edge.toml:7: route[0].retry_window: "-1s": not a duration`,
		`edge.toml:8: route[0].retry_max_waiting: invalid value: 0 (fix: a count from 1 to 1000000; to not wait at all set retry_window = "0s")`,
		`edge.toml:12: route[1].retry_window: invalid value: 1h0m0s (fix: a duration from "0s" (no waiting) to "5m", such as "5s")`,
		`edge.toml:16: route[2].retry_window: "soon": not a duration`,
	}
	got := err.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	if n := len(errs.List); n != len(want) {
		t.Errorf("%d problems, want %d:\n%s", n, len(want), got)
	}
}
