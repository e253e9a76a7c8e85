//go:build !linux

package memtrim

import (
	"errors"
	"time"
)

// dropExecutable does nothing outside Linux.
func dropExecutable() (int64, error) { return 0, nil }

// cpuTime is not read outside Linux: WhenIdle stops at its first tick.
func cpuTime() (time.Duration, error) {
	return 0, errors.New("memtrim: process CPU time is only read on Linux")
}
