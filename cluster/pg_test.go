package cluster

import (
	"os"
	"testing"

	"github.com/gitcourse/edge/internal/testutil"
	"github.com/jackc/pgx/v5/pgxpool"
)

const (
	appUser     = "edge"
	appPassword = "s3cret"
)

// pg is the PostgreSQL cluster (package testutil) shared by the package's
// tests; TestMain stops it.
var pg = &testutil.SharedPostgres{User: appUser, Password: appPassword}

// testServer is the shared cluster as the package's tests use it.
type testServer struct{ *testutil.Postgres }

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperProcess())
	}
	code := m.Run()
	pg.Stop()
	os.Exit(code)
}

// needPostgres returns the shared server, or skips (fails under CI=true).
func needPostgres(t testing.TB) *testServer {
	t.Helper()
	return &testServer{pg.Get(t)}
}

// createDB creates an empty database owned by the application role and
// returns its URL.
func (s *testServer) createDB(t testing.TB) string { return pg.URL(pg.CreateDB(t)) }

// newPool opens a pool on url, closed at the end of the test.
func newPool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// migratedStorage returns a Storage on a fresh migrated database.
func migratedStorage(t testing.TB, opts StorageOptions) (*Storage, string) {
	t.Helper()
	url := needPostgres(t).createDB(t)
	pool := newPool(t, url)
	if _, err := Migrate(t.Context(), pool); err != nil {
		t.Fatal(err)
	}
	return NewStorage(pool, opts), url
}
