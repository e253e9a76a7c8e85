package memtrim

import (
	"context"
	"testing"
	"time"
)

// TestWhenIdleReleasesAfterBusy: a busy period followed by a quiet one
// releases memory once.
func TestWhenIdleReleasesAfterBusy(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		n   int64
		err error
	}
	got := make(chan result, 4)
	const period = 100 * time.Millisecond
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		WhenIdle(ctx, period, period/5, func(n int64, err error) { got <- result{n, err} })
	}()
	// Stopped before the next test: its collections must not count there.
	t.Cleanup(func() { cancel(); <-exited })
	// Busy: three periods of a core spinning.
	x := 0
	for end := time.Now().Add(3 * period); time.Now().Before(end); {
		x++
	}
	select {
	case r := <-got:
		if r.err != nil || r.n <= 0 {
			t.Fatalf("release after the busy spell: %d bytes, err %v", r.n, r.err)
		}
	case <-time.After(50 * period):
		t.Fatalf("no release within %s of going quiet (spun %d times)", 50*period, x)
	}
}

// TestSettle: a quiet process settles after min; an ended context stops
// the wait.
func TestSettle(t *testing.T) {
	start := time.Now()
	if !Settle(context.Background(), 20*time.Millisecond, 20*time.Millisecond, 15*time.Millisecond, 5*time.Second) {
		t.Fatal("Settle = false with a live context")
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("settled after %s, before min", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Settle(ctx, time.Hour, time.Hour, time.Millisecond, 2*time.Hour) {
		t.Error("Settle = true with an ended context")
	}
}
