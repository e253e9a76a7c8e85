package cluster

import (
	"context"
	"strings"
	"sync"
	"testing"
)

// Four nodes starting at the same instant on an empty database: every one
// succeeds, each migration is applied once, and the application's own
// table is left alone.
func TestMigrateConcurrentStart(t *testing.T) {
	url := needPostgres(t).createDB(t)
	app := newPool(t, url)
	if _, err := app.Exec(t.Context(), `CREATE TABLE public.users (id int PRIMARY KEY); INSERT INTO public.users VALUES (1), (2)`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		pool := newPool(t, url)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = Migrate(t.Context(), pool)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
	var versions, maxV, users, publicTables int
	if err := app.QueryRow(t.Context(), `SELECT count(*), max(version) FROM edge.schema_version`).Scan(&versions, &maxV); err != nil {
		t.Fatal(err)
	}
	if versions != SchemaVersion() || maxV != SchemaVersion() {
		t.Errorf("schema_version has %d rows up to %d, want %d each applied once", versions, maxV, SchemaVersion())
	}
	if err := app.QueryRow(t.Context(), `SELECT count(*) FROM public.users`).Scan(&users); err != nil || users != 2 {
		t.Errorf("app table users: %d rows (%v), want 2 untouched", users, err)
	}
	if err := app.QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&publicTables); err != nil || publicTables != 1 {
		t.Errorf("public schema has %d tables (%v), want only the app's 1", publicTables, err)
	}
	// A restart finds the schema current and changes nothing.
	before, err := Migrate(t.Context(), app)
	if err != nil || before != SchemaVersion() {
		t.Errorf("second Migrate: before=%d err=%v, want %d, nil", before, err, SchemaVersion())
	}
}

// A role without CREATE on the database migrates a schema "edge" that an
// administrator created for it (docs/cluster.md, least privilege).
func TestMigrateLeastPrivilege(t *testing.T) {
	srv := needPostgres(t)
	url := srv.createDB(t)
	db := url[strings.LastIndex(url, "/")+1 : strings.Index(url, "?")]
	role := "edge_" + db
	if err := srv.Exec(t.Context(), "postgres",
		"CREATE ROLE "+role+" LOGIN PASSWORD 'pw'",
		"REVOKE CREATE ON DATABASE "+db+" FROM PUBLIC"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Exec(context.Background(), "postgres", "DROP ROLE IF EXISTS "+role) })
	limited := strings.Replace(url, appUser+":"+appPassword, role+":pw", 1)
	if _, err := Migrate(t.Context(), newPool(t, limited)); err == nil || !strings.Contains(err.Error(), "CREATE on the database") {
		t.Fatalf("Migrate without any right: %v, want an error naming the missing right", err)
	}
	if err := srv.Exec(t.Context(), db, "CREATE SCHEMA edge AUTHORIZATION "+role); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Exec(context.Background(), db, "DROP SCHEMA edge CASCADE") })
	if _, err := Migrate(t.Context(), newPool(t, limited)); err != nil {
		t.Fatalf("Migrate into a schema created for the role: %v", err)
	}
}
