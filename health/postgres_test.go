package health

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gitcourse/edge/internal/testutil"
)

func TestPostgresCheck(t *testing.T) {
	pg := testutil.StartPostgres(t)
	check := &Postgres{URL: pg.SuperURL("postgres")}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := check.Check(ctx); err != nil {
		t.Fatalf("running server: %v", err)
	}
	wrong := &Postgres{URL: strings.Replace(pg.SuperURL("postgres"), testutil.PostgresPassword, "wrongpw", 1)}
	if err := wrong.Check(ctx); err == nil || strings.Contains(err.Error(), "wrongpw") {
		t.Errorf("wrong password: got %v, want an error without the password", err)
	}
	pg.Stop()
	err := check.Check(ctx)
	if err == nil || !strings.Contains(err.Error(), "connect to PostgreSQL") {
		t.Fatalf("stopped server: got %v", err)
	}
	if strings.Contains(err.Error(), testutil.PostgresPassword) {
		t.Errorf("error reveals the password: %v", err)
	}
}
