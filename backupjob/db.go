package backupjob

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// connectTimeout bounds connecting to PostgreSQL.
const connectTimeout = 15 * time.Second

// ErrOtherNode reports that another process holds the database's backup
// advisory lock (another edge node is backing it up).
var ErrOtherNode = errors.New("another edge node is backing up this database (advisory lock held)")

// dbTarget is a database URL split for child processes: the URL without
// its password (safe on a command line) and the password for PGPASSWORD.
type dbTarget struct {
	full     string // for pgx
	url      string // without the password, for -d
	password string
	name     string // database name
}

// parseTarget splits a postgres:// URL. The password never reaches a
// command line, where other users could read it.
func parseTarget(raw string) (dbTarget, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return dbTarget{}, errors.New("parse database URL: not a postgres:// URL")
	}
	t := dbTarget{full: raw, name: strings.TrimPrefix(u.Path, "/")}
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			t.password = pw
			u.User = url.User(u.User.Username())
		}
	}
	q := u.Query()
	if pw := q.Get("password"); pw != "" {
		t.password = pw
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	if t.name == "" {
		if t.name = q.Get("dbname"); t.name == "" && u.User != nil {
			t.name = u.User.Username()
		}
	}
	t.url = u.String()
	return t, nil
}

// withDatabase returns the target pointed at another database on the same
// server.
func (t dbTarget) withDatabase(name string) dbTarget {
	swap := func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil {
			return raw
		}
		u.Path = "/" + name
		q := u.Query()
		if q.Has("dbname") {
			q.Set("dbname", name)
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return dbTarget{full: swap(t.full), url: swap(t.url), password: t.password, name: name}
}

// env is the environment for pg_dump, pg_restore and psql.
func (t dbTarget) env(base []string) []string {
	env := append([]string{}, base...)
	if t.password != "" {
		env = append(env, "PGPASSWORD="+t.password)
	}
	return append(env, "PGCONNECT_TIMEOUT=15")
}

func connect(ctx context.Context, t dbTarget) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	conn, err := pgx.Connect(cctx, t.full)
	if err != nil {
		return nil, oneLine(fmt.Errorf("connect to database %q: %w", t.name, err))
	}
	return conn, nil
}

// serverVersion returns the server's version text ("15.18") and major.
func serverVersion(ctx context.Context, conn *pgx.Conn) (string, int, error) {
	var text string
	var num int
	err := conn.QueryRow(ctx, "SELECT current_setting('server_version'), current_setting('server_version_num')::int").Scan(&text, &num)
	if err != nil {
		return "", 0, fmt.Errorf("read the server version: %w", err)
	}
	if i := strings.IndexByte(text, ' '); i > 0 {
		text = text[:i]
	}
	return text, num / 10000, nil
}

// advisoryKey is the pg_try_advisory_lock key of the backups of dbName.
func advisoryKey(dbName string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("edge.backup:" + dbName))
	return int64(h.Sum64())
}

// tryAdvisoryLock takes the session-level backup lock of the database;
// it is released when conn closes.
func tryAdvisoryLock(ctx context.Context, conn *pgx.Conn, dbName string) error {
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", advisoryKey(dbName)).Scan(&ok); err != nil {
		return fmt.Errorf("take the backup advisory lock: %w", err)
	}
	if !ok {
		return ErrOtherNode
	}
	return nil
}

// userTables lists the ordinary tables outside the system schemas as
// "schema.table" keys, with their quoted identifiers.
func userTables(ctx context.Context, q pgx.Tx) (map[string]string, error) {
	rows, err := q.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
		AND n.nspname NOT LIKE 'pg_temp%'`)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	tables := map[string]string{}
	for rows.Next() {
		var schema, name string
		if err := rows.Scan(&schema, &name); err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		tables[schema+"."+name] = pgx.Identifier{schema, name}.Sanitize()
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	return tables, nil
}

// countRows counts the rows of every user table inside tx.
func countRows(ctx context.Context, tx pgx.Tx) (map[string]int64, error) {
	tables, err := userTables(ctx, tx)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(tables))
	for k := range tables {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	counts := make(map[string]int64, len(keys))
	for _, k := range keys {
		var n int64
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+tables[k]).Scan(&n); err != nil {
			return nil, fmt.Errorf("count rows of %s: %w", k, err)
		}
		counts[k] = n
	}
	return counts, nil
}

// snapshot is a repeatable-read transaction held open so that pg_dump can
// share its snapshot; Close ends it.
type snapshot struct {
	tx     pgx.Tx
	id     string
	counts map[string]int64
}

// takeSnapshot exports a snapshot and counts rows in it.
func takeSnapshot(ctx context.Context, conn *pgx.Conn) (*snapshot, error) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("begin the snapshot transaction: %w", err)
	}
	s := &snapshot{tx: tx}
	if err := tx.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&s.id); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("export the snapshot: %w", err)
	}
	if s.counts, err = countRows(ctx, tx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	return s, nil
}

// Close ends the snapshot transaction (pg_dump must be done with it).
func (s *snapshot) Close(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = s.tx.Rollback(ctx)
}

// tableCounts counts the rows, in the database conn is connected to, of
// the tables named by want; a missing table is reported as -1.
func tableCounts(ctx context.Context, conn *pgx.Conn, want map[string]int64) (map[string]int64, error) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("begin counting: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	tables, err := userTables(ctx, tx)
	if err != nil {
		return nil, err
	}
	got := make(map[string]int64, len(want))
	for k := range want {
		ident, ok := tables[k]
		if !ok {
			got[k] = -1
			continue
		}
		var n int64
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+ident).Scan(&n); err != nil {
			return nil, fmt.Errorf("count rows of %s: %w", k, err)
		}
		got[k] = n
	}
	return got, nil
}

// compareCounts describes how got differs from want, or returns "".
func compareCounts(want, got map[string]int64) string {
	var diffs []string
	for k, w := range want {
		switch g := got[k]; {
		case g < 0:
			diffs = append(diffs, k+" missing")
		case g != w:
			diffs = append(diffs, fmt.Sprintf("%s has %d rows, manifest %d", k, g, w))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 3 {
		diffs = append(diffs[:3], fmt.Sprintf("and %d more", len(diffs)-3))
	}
	return strings.Join(diffs, "; ")
}

var unsafeNameRE = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// fileSafe makes a database name safe inside a file name.
func fileSafe(name string) string {
	s := unsafeNameRE.ReplaceAllString(name, "_")
	if s == "" || s == "." || s == ".." {
		return "db"
	}
	return s
}

// lineError is an error whose message is kept on one line (pgx lists each
// address tried on its own line); errors.Is still sees the cause.
type lineError struct {
	msg string
	err error
}

func (e *lineError) Error() string { return e.msg }
func (e *lineError) Unwrap() error { return e.err }

func oneLine(err error) error {
	msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
	return &lineError{msg: msg, err: err}
}
