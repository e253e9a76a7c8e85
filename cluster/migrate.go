package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrateLockKey is the advisory lock that serialises migrations: every
// node that starts takes it (for the length of one transaction) before it
// reads the schema version.
const migrateLockKey int64 = 0x656467652d6d6967 // "edge-mig"

// migrations are applied in order, each once; the index+1 is the version.
// Only additive changes: an older edge keeps working against a newer
// schema during a rolling upgrade.
var migrations = []string{
	// 1: certmagic storage, leases, singleton job slots, membership.
	`CREATE TABLE edge.kv (
		key      text PRIMARY KEY COLLATE "C",
		value    bytea NOT NULL,
		modified timestamptz NOT NULL DEFAULT now()
	);
	CREATE TABLE edge.locks (
		name     text PRIMARY KEY,
		owner    text NOT NULL,
		acquired timestamptz NOT NULL,
		expires  timestamptz NOT NULL
	);
	CREATE TABLE edge.job_slots (
		job        text PRIMARY KEY,
		last_slot  timestamptz NOT NULL,
		node       text NOT NULL,
		claimed_at timestamptz NOT NULL
	);
	CREATE TABLE edge.nodes (
		name      text PRIMARY KEY,
		version   text NOT NULL,
		release   text NOT NULL,
		listeners text NOT NULL,
		started   timestamptz NOT NULL,
		last_seen timestamptz NOT NULL
	);`,
	// 2: alert incidents, one notification per incident for the cluster.
	`CREATE TABLE edge.incidents (
		check_name  text PRIMARY KEY,
		opened_at   timestamptz NOT NULL,
		opened_by   text NOT NULL,
		resolved_at timestamptz,
		resolved_by text
	);
	CREATE TABLE edge.incident_nodes (
		check_name text NOT NULL,
		node       text NOT NULL,
		down       boolean NOT NULL,
		at         timestamptz NOT NULL,
		PRIMARY KEY (check_name, node)
	);`,
	// 3: frontend releases: the build as a tar, and which one every node serves.
	`CREATE TABLE edge.releases (
		id       text PRIMARY KEY,
		created  timestamptz NOT NULL,
		node     text NOT NULL,
		sha256   text NOT NULL,
		size     bigint NOT NULL,
		tar      bytea NOT NULL
	);
	CREATE TABLE edge.release_current (
		only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
		id         text NOT NULL REFERENCES edge.releases (id),
		changed_at timestamptz NOT NULL,
		changed_by text NOT NULL
	);`,
	// 4: the last successful run of each singleton job, for freshness checks.
	`ALTER TABLE edge.job_slots ADD COLUMN last_success timestamptz, ADD COLUMN last_success_node text;`,
}

// SchemaVersion is the schema version this build migrates to.
func SchemaVersion() int { return len(migrations) }

// Migrate creates schema "edge" and applies the missing migrations in one
// transaction under an advisory lock, so that nodes starting together
// apply each migration once. It returns the version found before.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate schema edge: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
		return 0, fmt.Errorf("migrate schema edge: take the migration lock: %w", err)
	}
	// CREATE SCHEMA IF NOT EXISTS would still need CREATE on the database:
	// a schema an administrator made for edge's role is used as it is.
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'edge')`).Scan(&exists); err != nil {
		return 0, fmt.Errorf("migrate schema edge: %w", err)
	}
	if !exists {
		if _, err := tx.Exec(ctx, `CREATE SCHEMA edge`); err != nil {
			return 0, fmt.Errorf("migrate schema edge: create it (the role needs CREATE on the database, "+
				"or create schema edge owned by the role first): %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS edge.schema_version (
			version    int PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
		return 0, fmt.Errorf("migrate schema edge: create its version table (the role needs CREATE on schema edge): %w", err)
	}
	var have int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM edge.schema_version`).Scan(&have); err != nil {
		return 0, fmt.Errorf("migrate schema edge: read its version: %w", err)
	}
	for v := have + 1; v <= len(migrations); v++ {
		if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
			return have, fmt.Errorf("migrate schema edge to version %d: %w", v, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO edge.schema_version (version) VALUES ($1)`, v); err != nil {
			return have, fmt.Errorf("migrate schema edge to version %d: %w", v, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return have, fmt.Errorf("migrate schema edge: commit: %w", err)
	}
	return have, nil
}

// isNoRows reports whether err means a query matched no row.
func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
