package cluster

import (
	"context"
	"fmt"
)

// PublishRelease stores the build of release id (made on this node) and
// makes it the release every node serves, in one transaction.
func (c *Cluster) PublishRelease(ctx context.Context, id string, tarball []byte, sha string) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	tx, err := c.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("publish release %s: %w", id, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var stored string
	err = tx.QueryRow(ctx, `INSERT INTO edge.releases (id, created, node, sha256, size, tar) VALUES ($1, now(), $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET id = edge.releases.id
		RETURNING sha256`, id, c.opts.Node, sha, len(tarball), tarball).Scan(&stored)
	if err != nil {
		return fmt.Errorf("publish release %s: %w", id, err)
	}
	if stored != sha {
		return fmt.Errorf("publish release %s: another node stored a different build under this id in the same second (fix: run edge release again)", id)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO edge.release_current (only_row, id, changed_at, changed_by) VALUES (true, $1, now(), $2)
		ON CONFLICT (only_row) DO UPDATE SET id = EXCLUDED.id, changed_at = EXCLUDED.changed_at, changed_by = EXCLUDED.changed_by`,
		id, c.opts.Node); err != nil {
		return fmt.Errorf("publish release %s: %w", id, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("publish release %s: %w", id, err)
	}
	return nil
}

// SetCurrentRelease makes the stored release id the one every node
// serves (edge rollback). It fails when id was never published.
func (c *Cluster) SetCurrentRelease(ctx context.Context, id string) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	tag, err := c.pool.Exec(ctx, `INSERT INTO edge.release_current (only_row, id, changed_at, changed_by)
		SELECT true, id, now(), $2 FROM edge.releases WHERE id = $1
		ON CONFLICT (only_row) DO UPDATE SET id = EXCLUDED.id, changed_at = EXCLUDED.changed_at, changed_by = EXCLUDED.changed_by`,
		id, c.opts.Node)
	if err != nil {
		return fmt.Errorf("set cluster release %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("set cluster release %s: not in the cluster store (it was made before [cluster] was set up; run edge release again)", id)
	}
	return nil
}

// CurrentRelease is the release every node should serve ("" when none
// was published).
func (c *Cluster) CurrentRelease(ctx context.Context) (string, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	var id string
	err := c.pool.QueryRow(ctx, `SELECT id FROM edge.release_current`).Scan(&id)
	if isNoRows(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("cluster release: %w", err)
	}
	return id, nil
}

// LoadRelease returns the stored build of release id and its sha256.
func (c *Cluster) LoadRelease(ctx context.Context, id string) ([]byte, string, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	var tarball []byte
	var sha string
	if err := c.pool.QueryRow(ctx, `SELECT tar, sha256 FROM edge.releases WHERE id = $1`, id).Scan(&tarball, &sha); err != nil {
		return nil, "", fmt.Errorf("load cluster release %s: %w", id, err)
	}
	return tarball, sha, nil
}
