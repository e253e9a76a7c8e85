//go:build !linux

package memtrim

// dropExecutable does nothing outside Linux.
func dropExecutable() (int64, error) { return 0, nil }
