package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// helperEnv makes the test binary act as a second edge node (TestMain).
const helperEnv = "EDGE_CLUSTER_LOCK_HELPER"

// helperProcess is the other process: "hold" takes the lock, prints
// LOCKED and waits to be killed; "count" increments a counter in the
// storage N times, each read-modify-write under the lock.
func helperProcess() int {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("EDGE_CLUSTER_URL"))
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	ttl, _ := time.ParseDuration(os.Getenv("EDGE_CLUSTER_TTL"))
	s := NewStorage(pool, StorageOptions{Node: "helper", LeaseTTL: ttl, PollInterval: 20 * time.Millisecond})
	switch os.Getenv(helperEnv) {
	case "hold":
		if err := s.Lock(ctx, "issue_cert_localhost"); err != nil {
			fmt.Println("ERROR", err)
			return 1
		}
		fmt.Println("LOCKED")
		select {}
	case "count":
		n, _ := strconv.Atoi(os.Getenv("EDGE_CLUSTER_N"))
		if err := count(ctx, s, n); err != nil {
			fmt.Println("ERROR", err)
			return 1
		}
		fmt.Println("DONE")
	}
	return 0
}

// count does n increments of key "counter", each a Load then a Store
// under the lock: without mutual exclusion increments are lost.
func count(ctx context.Context, s *Storage, n int) error {
	for range n {
		if err := s.Lock(ctx, "counter"); err != nil {
			return err
		}
		v := 0
		if b, err := s.Load(ctx, "counter"); err == nil {
			v, _ = strconv.Atoi(string(b))
		}
		time.Sleep(time.Millisecond) // widen the window a missing lock would expose
		if err := s.Store(ctx, "counter", []byte(strconv.Itoa(v+1))); err != nil {
			return err
		}
		if err := s.Unlock(ctx, "counter"); err != nil {
			return err
		}
	}
	return nil
}

// startHelper runs this test binary as another node and returns its
// stdout lines.
func startHelper(t *testing.T, mode, url string, env ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{helperEnv + "=" + mode, "EDGE_CLUSTER_URL=" + url}, env...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	})
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, out)
	}()
	return cmd, lines
}

func waitLine(t *testing.T, lines <-chan string, want string, limit time.Duration) {
	t.Helper()
	select {
	case l := <-lines:
		if l != want {
			t.Fatalf("helper said %q, want %q", l, want)
		}
	case <-time.After(limit):
		t.Fatalf("helper did not say %q within %s", want, limit)
	}
}

// Lock blocks (never returns "locked") until the holder unlocks, and
// honours its context meanwhile.
func TestLockBlocksUntilUnlocked(t *testing.T) {
	a, url := migratedStorage(t, StorageOptions{Node: "a", PollInterval: 20 * time.Millisecond})
	b := NewStorage(newPool(t, url), StorageOptions{Node: "b", PollInterval: 20 * time.Millisecond})
	ctx := t.Context()
	if err := a.Lock(ctx, "job"); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := b.Lock(short, "job"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock on a held lock with a 300ms context: %v, want context.DeadlineExceeded", err)
	}
	got := make(chan error, 1)
	go func() { got <- b.Lock(ctx, "job") }()
	select {
	case err := <-got:
		t.Fatalf("Lock returned %v while the lock is held; it must block", err)
	case <-time.After(200 * time.Millisecond): // ten polls of b
	}
	if err := a.Unlock(ctx, "job"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Lock did not return within 5s of Unlock")
	}
	if err := b.Unlock(ctx, "job"); err != nil {
		t.Fatal(err)
	}
	if err := b.Unlock(ctx, "job"); err == nil {
		t.Error("a second Unlock succeeded; it must say the lock is not held")
	}
}

// Sixteen nodes racing for the same free lease, fifty times: exactly one
// wins each round (an upsert, not check-then-insert).
func TestTryLockRaceOneWinner(t *testing.T) {
	_, url := migratedStorage(t, StorageOptions{})
	nodes := make([]*Storage, 16)
	for i := range nodes {
		nodes[i] = NewStorage(newPool(t, url), StorageOptions{Node: fmt.Sprintf("n%d", i)})
	}
	for round := range 50 {
		name := fmt.Sprintf("race-%d", round)
		var wg sync.WaitGroup
		won := make([]bool, len(nodes))
		start := make(chan struct{})
		for i, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ok, err := n.TryLock(t.Context(), name)
				if err != nil {
					t.Error(err)
				}
				won[i] = ok
			}()
		}
		close(start)
		wg.Wait()
		winners := 0
		for i, ok := range won {
			if ok {
				winners++
				_ = nodes[i].Unlock(t.Context(), name)
			}
		}
		if winners != 1 {
			t.Fatalf("round %d: %d nodes won the lease, want exactly 1", round, winners)
		}
	}
}

// A lease held longer than its TTL stays held while renewed; another
// node cannot take it meanwhile.
func TestLeaseRenewedWhileHeld(t *testing.T) {
	ttl := 600 * time.Millisecond
	a, url := migratedStorage(t, StorageOptions{Node: "a", LeaseTTL: ttl})
	b := NewStorage(newPool(t, url), StorageOptions{Node: "b", LeaseTTL: ttl, PollInterval: 20 * time.Millisecond})
	ctx := t.Context()
	if err := a.Lock(ctx, "long"); err != nil {
		t.Fatal(err)
	}
	_, firstExp, _ := a.Holder(ctx, "long")
	wait, cancel := context.WithTimeout(ctx, 4*ttl)
	defer cancel()
	if err := b.Lock(wait, "long"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("another node got a renewed lease after %s (TTL %s): %v", 4*ttl, ttl, err)
	}
	owner, exp, err := a.Holder(ctx, "long")
	if err != nil || !strings.HasPrefix(owner, "a/") || !exp.After(firstExp) {
		t.Errorf("holder %q expiring %v (first %v), %v; want a's lease pushed forward", owner, exp, firstExp, err)
	}
	if err := a.Unlock(ctx, "long"); err != nil {
		t.Fatal(err)
	}
	if owner, _, _ := a.Holder(ctx, "long"); owner != "" {
		t.Errorf("after Unlock the lease is still held by %q", owner)
	}
}

// Two processes contend for one lock around a read-modify-write of the
// same key: no increment is lost.
func TestTwoProcessesContend(t *testing.T) {
	s, url := migratedStorage(t, StorageOptions{Node: "parent", PollInterval: 20 * time.Millisecond})
	const n = 40
	_, lines := startHelper(t, "count", url, "EDGE_CLUSTER_N="+strconv.Itoa(n), "EDGE_CLUSTER_TTL=15s")
	if err := count(t.Context(), s, n); err != nil {
		t.Fatal(err)
	}
	waitLine(t, lines, "DONE", 60*time.Second)
	b, err := s.Load(t.Context(), "counter")
	if err != nil || string(b) != strconv.Itoa(2*n) {
		t.Errorf("counter = %q, %v; want %d (increments lost: the lock did not exclude)", b, err, 2*n)
	}
}

// The holder is SIGKILLed: its lease is not renewed, and a waiting node
// takes it over once the TTL has passed, not before.
func TestStaleLeaseTakenOverAfterKill(t *testing.T) {
	ttl := 2 * time.Second
	s, url := migratedStorage(t, StorageOptions{Node: "survivor", LeaseTTL: ttl, PollInterval: 50 * time.Millisecond})
	cmd, lines := startHelper(t, "hold", url, "EDGE_CLUSTER_TTL="+ttl.String())
	waitLine(t, lines, "LOCKED", 30*time.Second)
	owner, _, err := s.Holder(t.Context(), "issue_cert_localhost")
	if err != nil || !strings.HasPrefix(owner, "helper/") {
		t.Fatalf("holder = %q, %v; want the helper", owner, err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 3*ttl)
	defer cancel()
	if err := s.Lock(ctx, "issue_cert_localhost"); err != nil {
		t.Fatalf("the lease of a killed holder was not taken over within %s: %v", 3*ttl, err)
	}
	took := time.Since(killed)
	t.Logf("lease taken over %s after SIGKILL (TTL %s)", took.Round(time.Millisecond), ttl)
	if took < ttl/2 { // the last renewal was at most TTL/3 before the kill
		t.Errorf("taken over after %s: before the dead holder's lease (TTL %s) could have expired", took, ttl)
	}
	_ = s.Unlock(t.Context(), "issue_cert_localhost")
}
