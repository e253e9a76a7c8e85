package memtrim

import (
	"context"
	"runtime/debug"
	"time"
)

// WhenIdle releases memory each time the process has gone quiet after
// being busy: every period it reads the CPU time the process used (user +
// system); when that was at least quietCPU in some period and then less in
// a whole period, it returns free heap to the system and drops the
// executable's pages (DropExecutable), and reports to done. What serving
// mapped back while busy is released again once traffic stops. It returns
// when ctx ends.
func WhenIdle(ctx context.Context, period, quietCPU time.Duration, done func(int64, error)) {
	t := time.NewTicker(period)
	defer t.Stop()
	last, _ := cpuTime()
	busy := false
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
