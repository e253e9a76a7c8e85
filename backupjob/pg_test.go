package backupjob

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/gitcourse/edge/internal/testutil"
	"github.com/jackc/pgx/v5"
)

// pg is the PostgreSQL cluster (package testutil) shared by the package's
// tests; TestMain stops it.
var pg = &testutil.SharedPostgres{User: "edge", Password: "s3cret"}

type testServer struct{ *testutil.Postgres }

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Stop()
	os.Exit(code)
}

// needPostgres returns the shared server, or skips (fails under CI).
func needPostgres(t testing.TB) *testServer {
	t.Helper()
	return &testServer{pg.Get(t)}
}

// url is the URL of database db as the application role.
func (s *testServer) url(db string) string { return pg.URL(db) }

// createDB creates an empty database owned by the application role and
// returns its name.
func (s *testServer) createDB(t testing.TB) string { return pg.CreateDB(t) }

// fixtureDB creates a database with a GitCourse-like schema and data.
func (s *testServer) fixtureDB(t testing.TB, users int) string {
	t.Helper()
	name := s.createDB(t)
	s.exec(t, name, fixtureSQL(users))
	return name
}

func (s *testServer) exec(t testing.TB, db, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), s.url(db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("exec in %s: %v", db, err)
	}
}

// fixtureSQL is users with a role ENUM, courses and enrollments with
// timestamps defaulting to now(), an empty table, and awkward text.
func fixtureSQL(users int) string {
	return `
CREATE TYPE user_role AS ENUM ('student', 'instructor', 'admin');
CREATE TABLE users (
  id bigserial PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name text NOT NULL,
  role user_role NOT NULL DEFAULT 'student',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE courses (
  id bigserial PRIMARY KEY,
  slug text NOT NULL UNIQUE,
  title text NOT NULL,
  instructor_id bigint REFERENCES users(id),
  published boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE enrollments (
  user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  course_id bigint NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
  progress numeric(5,2) NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, course_id)
);
CREATE TABLE audit_log (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), entry jsonb);
CREATE INDEX enrollments_course ON enrollments (course_id);
INSERT INTO users (email, name, role)
  SELECT 'user' || i || '@example.com',
         CASE WHEN i % 7 = 0 THEN E'O''Brien\t"quoted"\nnewline ' || i ELSE 'Ünïcødé 名前 ' || i END,
         (ARRAY['student', 'student', 'student', 'instructor', 'admin'])[1 + i % 5]::user_role
  FROM generate_series(1, ` + strconv.Itoa(users) + `) i;
INSERT INTO courses (slug, title, instructor_id, published)
  SELECT 'course-' || i, 'Course ' || i, (SELECT min(id) FROM users WHERE role = 'instructor'), i % 2 = 0
  FROM generate_series(1, 20) i;
INSERT INTO enrollments (user_id, course_id, progress)
  SELECT u.id, c.id, (u.id * c.id) % 100
  FROM users u JOIN courses c ON (u.id + c.id) % 3 = 0;
`
}

// tableSums is, per table, its row count and an md5 of all rows in order.
func tableSums(t testing.TB, url string) map[string]string {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables
		WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range names {
		var count int64
		var sum *string
		q := "SELECT count(*), md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM " + n + " t"
		if err := conn.QueryRow(ctx, q).Scan(&count, &sum); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		v := fmt.Sprintf("%d rows", count)
		if sum != nil {
			v += " md5 " + *sum
		}
		out[n] = v
	}
	return out
}
