// Package testutil holds the scaffolding edge's tests share: whether the
// run is CI (where a missing component fails instead of skipping), a
// throwaway PostgreSQL cluster, and a goroutine-leak check. Only tests
// import it.
package testutil

import (
	"os"
	"strings"
	"testing"
)

// InCI reports whether CI=true, where a missing component (PostgreSQL,
// Pebble, uvicorn...) fails a test instead of skipping it.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "false" && v != "0"
}

// RequireOrSkip fails t under CI=true and skips it elsewhere when err says
// that a component t needs is missing, naming what is missing. A nil err
// does nothing.
func RequireOrSkip(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if InCI() {
		t.Fatalf("%s is missing: %v (CI=true: a missing component fails the test)", what, err)
	}
	t.Skipf("skipping: %s is missing: %v (under CI=true this fails)", what, err)
}
