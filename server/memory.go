package server

import (
	"context"
	"time"

	"github.com/gitcourse/edge/internal/memtrim"
)

// startupSettle is how long after reporting ready edge waits before it
// drops the executable pages that starting touched: long enough for the
// goroutines started with serving to have run their first steps (with one
// P they run only once Run blocks), short against any idle measurement.
const startupSettle = 250 * time.Millisecond

// releaseStartupMemory unmaps, once serving has settled, the pages of the
// executable that package initialisation and config loading touched:
// about 19 MB of RSS that idling does not use (internal/memtrim;
// docs/benchmarks.md, "Memory (issue 14)"). Serving maps back the code it
// runs. It returns early when ctx ends.
func (s *Server) releaseStartupMemory(ctx context.Context) {
	t := time.NewTimer(startupSettle)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
	}
	n, err := memtrim.DropExecutable()
	if err != nil {
		s.log.Debug("could not release start-up memory", "err", err)
		return
	}
	s.log.Debug("released start-up memory", "executable_bytes", n)
}
