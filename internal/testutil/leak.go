package testutil

import (
	"bytes"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"
)

// leakSettle bounds how long goroutines that are returning are waited
// for before the difference counts as a leak.
const leakSettle = 5 * time.Second

// CheckGoroutines records the goroutines running now and returns a func
// that fails t when, within a few seconds, the count has not come back to
// at most what it was plus slack; the failure lists the stacks. Call the
// returned func after stopping what the test started:
//
//	done := testutil.CheckGoroutines(t, 0)
//	... start, use, stop ...
//	done()
//
// Goroutines of the runtime and the testing package are counted on both
// sides, so slack is 0 unless the test knowingly keeps something. Those
// that live as long as the process once started (os/signal's loop) are
// not counted.
func CheckGoroutines(t testing.TB, slack int) func() {
	t.Helper()
	before := countGoroutines()
	return func() {
		t.Helper()
		n := WaitGoroutines(before+slack, leakSettle)
		if n > before+slack {
			t.Errorf("goroutine leak: %d running before, %d after (slack %d); stacks:\n%s",
				before, n, slack, goroutineStacks())
		}
	}
}

// processLifetime are functions whose goroutines, once started, run until
// the process exits.
var processLifetime = []string{"os/signal.loop", "os/signal.signal_recv"}

// countGoroutines counts the goroutines that are not process-lifetime.
func countGoroutines() int {
	count := 0
	for _, g := range stacks() {
		if !slices.ContainsFunc(processLifetime, func(f string) bool { return strings.Contains(g, f) }) {
			count++
		}
	}
	return count
}

// stacks returns the stack of every goroutine.
func stacks() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.TrimSpace(g) != "" {
			out = append(out, g)
		}
	}
	return out
}

// StacksWith returns the stacks of the goroutines running now whose stack
// mentions substr (a function such as "edge/tlsmgr.(*acme).manage").
func StacksWith(substr string) []string {
	var out []string
	for _, g := range stacks() {
		if strings.Contains(g, substr) {
			out = append(out, g)
		}
	}
	return out
}

// WaitGoroutines waits up to limit for the number of goroutines (but those
// living as long as the process) to drop to at most want and returns the
// last count. Polling is the only way to observe goroutines that are
// returning; it is bounded in time.
func WaitGoroutines(want int, limit time.Duration) int {
	deadline := time.Now().Add(limit)
	for {
		n := countGoroutines()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		runtime.Gosched()
		time.Sleep(20 * time.Millisecond)
	}
}

// goroutineStacks is the stacks of all goroutines, grouped.
func goroutineStacks() string {
	var b bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
	return strings.TrimSpace(b.String())
}
