package testutil

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
)

// SharedPostgres is one throwaway cluster for all the tests of a package,
// started on first use with an application role User (LOGIN CREATEDB,
// password Password). The package's TestMain calls Stop after m.Run.
type SharedPostgres struct {
	// User and Password are the application role's name and password.
	User, Password string

	once sync.Once
	pg   *Postgres
	err  error
}

// Get returns the cluster, starting it on the first call. Without
// PostgreSQL it skips t (fails it under CI=true); in -short mode it skips.
func (s *SharedPostgres) Get(t testing.TB) *Postgres {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping PostgreSQL test in -short mode")
	}
	s.once.Do(func() { s.pg, s.err = s.start() })
	RequireOrSkip(t, "PostgreSQL", s.err)
	return s.pg
}

func (s *SharedPostgres) start() (*Postgres, error) {
	pg, err := NewPostgres()
	if err != nil {
		return nil, err
	}
	role := fmt.Sprintf("CREATE ROLE %s LOGIN CREATEDB PASSWORD '%s'", s.User, s.Password)
	if err := pg.Exec(context.Background(), "postgres", role); err != nil {
		pg.Stop()
		return nil, fmt.Errorf("create the application role: %w", err)
	}
	return pg, nil
}

// Stop stops the cluster if Get started it.
func (s *SharedPostgres) Stop() {
	if s.pg != nil {
		s.pg.Stop()
	}
}

// URL is the URL of database db as the application role.
func (s *SharedPostgres) URL(db string) string { return s.pg.URL(s.User, s.Password, db) }

// CreateDB creates an empty database owned by the application role,
// dropped when t ends, and returns its name.
func (s *SharedPostgres) CreateDB(t testing.TB) string {
	t.Helper()
	pg := s.Get(t)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	if err := pg.Exec(t.Context(), "postgres", "CREATE DATABASE "+name+" OWNER "+s.User); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Exec(context.Background(), "postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	return name
}

var dbSeq atomic.Int64

// Exec runs statements in order as the superuser in database db.
func (p *Postgres) Exec(ctx context.Context, db string, stmts ...string) error {
	conn, err := pgx.Connect(ctx, p.SuperURL(db))
	if err != nil {
		return fmt.Errorf("connect to %s as postgres: %w", db, err)
	}
	defer conn.Close(context.Background())
	for _, st := range stmts {
		if _, err := conn.Exec(ctx, st); err != nil {
			return fmt.Errorf("%s: %w", st, err)
		}
	}
	return nil
}

// FreePort is a TCP port on 127.0.0.1 that nothing listened on a moment
// ago.
func FreePort() (string, error) { return freePort() }
