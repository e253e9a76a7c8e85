package backupjob

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// RestoreOptions shape Restore.
type RestoreOptions struct {
	// Force restores into a database that already has tables, replacing
	// the objects the backup contains.
	Force bool
}

// Restore checks the SHA-256 of the backup with id, then restores it into
// the database at targetURL in one transaction (a failed restore leaves
// the target as it was) and compares the row counts with the manifest.
// A target with tables is refused with ErrNotEmpty unless opts.Force.
// Encrypted backups need Options.Identities.
func (j *Job) Restore(ctx context.Context, id, targetURL string, opts RestoreOptions) (*Manifest, error) {
	m, err := j.Find(id)
	if err != nil {
		return nil, err
	}
	target, err := parseTarget(targetURL)
	if err != nil {
		return m, err
	}
	if bad := checkSHA256(j.Path(m), m); bad != "" {
		return m, fmt.Errorf("restore backup %s: %s", m.ID, bad)
	}
	conn, err := connect(ctx, target)
	if err != nil {
		return m, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, major, err := serverVersion(ctx, conn)
	if err != nil {
		return m, err
	}
	if n, err := relationCount(ctx, conn); err != nil {
		return m, err
	} else if n > 0 && !opts.Force {
		return m, fmt.Errorf("%w: %q has %d tables, views or sequences (fix: restore into an empty database, or pass -force to replace the backup's objects)",
			ErrNotEmpty, target.name, n)
	}
	tools, err := FindTools(ctx, j.cfg.PGBin, max(major, serverMajor(m.ServerVersion)))
	if err != nil {
		return m, err
	}
	in, direct, closeFn, err := openPlain(j.Path(m), m, j.opts.Identities)
	if err != nil {
		return m, fmt.Errorf("restore backup %s: %w", m.ID, err)
	}
	defer closeFn()
	r := &restoreSpec{tools: tools, format: m.Format, target: target, file: direct, input: in, clean: opts.Force}
	if err := r.run(ctx); err != nil {
		return m, fmt.Errorf("restore backup %s: %w", m.ID, err)
	}
	got, err := tableCounts(ctx, conn, m.Tables)
	if err != nil {
		return m, err
	}
	if diff := compareCounts(m.Tables, got); diff != "" {
		return m, fmt.Errorf("restore backup %s: restored, but row counts differ from the manifest: %s", m.ID, diff)
	}
	return m, nil
}

// relationCount counts the tables, views and sequences outside the system
// schemas.
func relationCount(ctx context.Context, conn *pgx.Conn) (int, error) {
	var n int
	err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("check that the target is empty: %w", err)
	}
	return n, nil
}
