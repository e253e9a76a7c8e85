package memtrim

import (
	"context"
	"runtime/debug"
	"time"
)

// Settle waits until the process's start-up work is done: until a whole
// step passes in which the process used less than quietCPU of CPU time
// (user + system), but at least min and at most max after the call. A
// process that is starved of CPU by others still uses a share of it while
// it has work, so a loaded machine delays Settle rather than fooling it.
// It reports false when ctx ended first.
func Settle(ctx context.Context, min, step, quietCPU, max time.Duration) bool {
	if !sleep(ctx, min) {
		return false
	}
	deadline := time.Now().Add(max - min)
	last, err := cpuTime()
	for err == nil && time.Now().Before(deadline) {
		if !sleep(ctx, step) {
			return false
		}
		var now time.Duration
		if now, err = cpuTime(); err == nil && now-last < quietCPU {
			return true
		}
		last = now
	}
	return ctx.Err() == nil
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// WhenIdle releases memory each time the process has gone quiet after
// being busy: every period it reads the CPU time the process used (user +
// system); after a period with at least quietCPU, the first whole period
// with less returns free heap to the system and drops the executable's
// pages (DropExecutable), and reports to done. The time before the first
// period counts as busy (it follows start-up), so the first quiet period
// releases too. What serving mapped back while busy is released again once
// traffic stops. It returns when ctx ends.
func WhenIdle(ctx context.Context, period, quietCPU time.Duration, done func(int64, error)) {
	t := time.NewTicker(period)
	defer t.Stop()
	last, _ := cpuTime()
	busy := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now, err := cpuTime()
		if err != nil {
			done(0, err)
			return
		}
		used := now - last
		last = now
		switch {
		case used >= quietCPU:
			busy = true
		case busy:
			busy = false
			debug.FreeOSMemory() // first: a collection reads the executable's function tables
			n, err := DropExecutable()
			done(n, err)
		}
	}
}
