package cluster

import (
	"context"
	"fmt"
)

// OpenIncident records that this node sees check down and reports
// whether this node opened the incident (and so sends the one "down"
// notification of the cluster): the upsert succeeds on exactly one node
// while the incident is open.
func (c *Cluster) OpenIncident(ctx context.Context, check string) (bool, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	tx, err := c.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("open incident %s: %w", check, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `INSERT INTO edge.incident_nodes (check_name, node, down, at) VALUES ($1, $2, true, now())
		ON CONFLICT (check_name, node) DO UPDATE SET down = true, at = now()`, check, c.opts.Node); err != nil {
		return false, fmt.Errorf("open incident %s: %w", check, err)
	}
	var by string
	err = tx.QueryRow(ctx, `INSERT INTO edge.incidents (check_name, opened_at, opened_by) VALUES ($1, now(), $2)
		ON CONFLICT (check_name) DO UPDATE SET opened_at = now(), opened_by = EXCLUDED.opened_by, resolved_at = NULL, resolved_by = NULL
		WHERE edge.incidents.resolved_at IS NOT NULL
		RETURNING opened_by`, check, c.opts.Node).Scan(&by)
	if err != nil && !isNoRows(err) {
		return false, fmt.Errorf("open incident %s: %w", check, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("open incident %s: %w", check, err)
	}
	return by == c.opts.Node, nil
}

// ResolveIncident records that this node sees check up and reports
// whether this node resolved the incident: true on exactly one node, the
// last live node (heartbeat within DownAfter) that still saw it down.
// The incident row is locked first, so two nodes recovering together
// serialise and the second sees the first's vote.
func (c *Cluster) ResolveIncident(ctx context.Context, check string) (bool, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	tx, err := c.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("resolve incident %s: %w", check, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var open bool
	err = tx.QueryRow(ctx, `SELECT resolved_at IS NULL FROM edge.incidents WHERE check_name = $1 FOR UPDATE`, check).Scan(&open)
	if isNoRows(err) {
		return false, nil // never opened: nothing to resolve
	}
	if err != nil {
		return false, fmt.Errorf("resolve incident %s: %w", check, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE edge.incident_nodes SET down = false, at = now() WHERE check_name = $1 AND node = $2`,
		check, c.opts.Node); err != nil {
		return false, fmt.Errorf("resolve incident %s: %w", check, err)
	}
	var stillDown int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM edge.incident_nodes i JOIN edge.nodes n ON n.name = i.node
		WHERE i.check_name = $1 AND i.down AND n.last_seen > now() - make_interval(secs => $2)`,
		check, DownAfter.Seconds()).Scan(&stillDown); err != nil {
		return false, fmt.Errorf("resolve incident %s: %w", check, err)
	}
	resolved := false
	if open && stillDown == 0 {
		if _, err := tx.Exec(ctx, `UPDATE edge.incidents SET resolved_at = now(), resolved_by = $2 WHERE check_name = $1`,
			check, c.opts.Node); err != nil {
			return false, fmt.Errorf("resolve incident %s: %w", check, err)
		}
		resolved = true
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("resolve incident %s: %w", check, err)
	}
	return resolved, nil
}
