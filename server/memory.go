package server

import (
	"context"
	"time"

	"github.com/gitcourse/edge/internal/memtrim"
)

// Memory release timing (internal/memtrim; docs/benchmarks.md, "Memory
// (issue 14)").
const (
	// Start-up has settled when, at least settleMin after the workers
	// start, a settleStep passes in which edge used less than settleCPU
	// (the goroutines started with serving have run their first steps:
	// with one P they run only once Run blocks); settleMax at the latest.
	settleMin  = 100 * time.Millisecond
	settleStep = 50 * time.Millisecond
	settleCPU  = 5 * time.Millisecond
	settleMax  = 3 * time.Second
	// idleEvery and idleCPU: after a minute in which edge used idleCPU or
	// more (0.5% of a core: sustained traffic, or a compression), the first
	// whole minute with less (idle edge uses about 0.03%) releases free
	// heap and the executable pages again; so does the first quiet minute
	// after start. The first request after a release maps back the code it
	// runs (about 5 ms once, measured); light traffic never counts as
	// busy, so it never pays that again.
	idleEvery = time.Minute
	idleCPU   = idleEvery / 200
)

// releaseMemory unmaps, once start-up has settled, the pages of the
// executable that package initialisation and config loading touched
// (about 19 MB of RSS that idling does not use), then releases free heap
// and those pages again each time edge goes quiet after traffic. Serving
// maps back the code it runs. It returns when ctx ends.
func (s *Server) releaseMemory(ctx context.Context) {
	if !memtrim.Settle(ctx, settleMin, settleStep, settleCPU, settleMax) {
		return
	}
	s.logReleased("start-up")(memtrim.DropExecutable())
	memtrim.WhenIdle(ctx, idleEvery, idleCPU, s.logReleased("idle"))
}

// logReleased logs (at debug level) what a release of memory gave back.
func (s *Server) logReleased(when string) func(int64, error) {
	return func(n int64, err error) {
		if err != nil {
			s.log.Debug("could not release memory", "when", when, "err", err)
			return
		}
		s.log.Debug("released memory", "when", when, "executable_bytes", n)
	}
}
