package cluster

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// reportPercentiles adds p50 and p99 of ds (in µs) to b's output.
func reportPercentiles(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkStorageLoad: Load of a 3 KiB certificate from the local
// PostgreSQL (run: bench/cluster.sh).
func BenchmarkStorageLoad(b *testing.B) {
	s, _ := migratedStorage(b, StorageOptions{Node: "bench"})
	pem := make([]byte, 3<<10)
	if err := s.Store(b.Context(), "certificates/acme/example.com/example.com.crt", pem); err != nil {
		b.Fatal(err)
	}
	ds := make([]time.Duration, 0, b.N)
	for b.Loop() {
		t := time.Now()
		if _, err := s.Load(b.Context(), "certificates/acme/example.com/example.com.crt"); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(t))
	}
	reportPercentiles(b, ds)
}

// BenchmarkLockUnlock: an uncontended Lock then Unlock (two statements,
// plus starting and stopping the renewal goroutine).
func BenchmarkLockUnlock(b *testing.B) {
	s, _ := migratedStorage(b, StorageOptions{Node: "bench"})
	ds := make([]time.Duration, 0, b.N)
	i := 0
	for b.Loop() {
		name := fmt.Sprintf("issue_cert_%d", i%64)
		i++
		t := time.Now()
		if err := s.Lock(b.Context(), name); err != nil {
			b.Fatal(err)
		}
		if err := s.Unlock(b.Context(), name); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(t))
	}
	reportPercentiles(b, ds)
}

// BenchmarkHeartbeat: one membership heartbeat (the per-node cost every
// HeartbeatInterval).
func BenchmarkHeartbeat(b *testing.B) {
	url := needPostgres(b).createDB(b)
	c, err := Open(b.Context(), url, Options{Node: "bench", Version: "v", LocalDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ds := make([]time.Duration, 0, b.N)
	for b.Loop() {
		t := time.Now()
		if err := c.beat(b.Context()); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(t))
	}
	reportPercentiles(b, ds)
}
