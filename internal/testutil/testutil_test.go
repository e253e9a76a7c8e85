package testutil

import (
	"context"
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
	before := countGoroutines()
	release := make(chan struct{})
	done := make(chan struct{})
	go func() { <-release; close(done) }()
	if n := WaitGoroutines(before, 100*time.Millisecond); n <= before {
		t.Fatalf("a blocked goroutine was not counted: %d, before %d", n, before)
	}
	close(release)
	<-done
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
