// Package memtrim gives memory back to the system after work that needed it
// once: the pages of edge's own executable that starting up touched, and
// heap left free by a one-off burst such as compressing a large file.
//
// Resident memory (RSS) counts every page of the executable the process has
// mapped. Starting edge runs the initialisation of a few hundred packages
// spread over its ~13 MB of code, and the kernel maps the file pages around
// each fault (fault-around, 64 KiB by default), so about 19 MB of the
// executable is resident after start although idling needs a fraction of
// it. DropExecutable unmaps those pages: they stay in the page cache (clean,
// shared with every other edge process, reclaimable) and come back with a
// minor fault when used again.
package memtrim

import (
	"runtime/debug"
	"sync"
	"time"
)

// DropExecutable unmaps the resident pages of the executable's read-only
// mappings from this process and reports how many bytes were resident.
// Mappings that are writable or hold a modified (copied-on-write) page are
// left alone. Safe to call at any time; it does nothing outside Linux.
func DropExecutable() (int64, error) { return dropExecutable() }

// ReleaseDelay is how long Soon waits after its last call before it
// collects: a burst of calls costs one collection.
const ReleaseDelay = 500 * time.Millisecond

var (
	releaseMu    sync.Mutex
	releaseTimer *time.Timer
)

// Soon schedules a garbage collection that returns free heap to the system,
// ReleaseDelay after the last call. Call it after a large transient
// allocation (a compressor's tables), so that the heap goal of the next
// cycles is set from what is really live, not from the burst.
func Soon() {
	releaseMu.Lock()
	defer releaseMu.Unlock()
	if releaseTimer == nil {
		releaseTimer = time.AfterFunc(ReleaseDelay, debug.FreeOSMemory)
		return
	}
	releaseTimer.Reset(ReleaseDelay)
}
