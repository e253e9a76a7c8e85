package testutil

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestInCI(t *testing.T) {
	for v, want := range map[string]bool{"": false, "false": false, "0": false, "true": true, "1": true, "TRUE": true} {
		t.Setenv("CI", v)
		if got := InCI(); got != want {
			t.Errorf("CI=%q: InCI() = %v, want %v", v, got, want)
		}
	}
}

// TestWaitGoroutines: a goroutine still blocked is seen; once it returns
// the count comes back.
func TestWaitGoroutines(t *testing.T) {
	// Several goroutines, so that one unrelated goroutine ending meanwhile
	// (the runtime's, an earlier test's) cannot hide them.
	const blocked = 8
	before := countGoroutines()
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range blocked {
		wg.Go(func() { <-release })
	}
	if n := WaitGoroutines(before, 100*time.Millisecond); n <= before {
		t.Fatalf("%d blocked goroutines were not counted: %d, before %d", blocked, n, before)
	}
	close(release)
	wg.Wait()
	if n := WaitGoroutines(before, 5*time.Second); n > before {
		t.Errorf("count did not come back: %d, before %d", n, before)
	}
}

func TestStartPostgres(t *testing.T) {
	pg := StartPostgres(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.SuperURL("postgres"))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	if pg.PID() == 0 {
		t.Error("PID() = 0 while the server runs")
	}
}
