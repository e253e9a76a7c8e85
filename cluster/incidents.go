package cluster

import (
	"context"
	"fmt"
)

// OpenIncident records that this node sees check down and reports
// whether this node opened the incident (and so sends the one "down"
// notification of the cluster). The incident opens when a majority of
// the live nodes see the check down: a node that alone cannot reach it
// shows the check down on its own status page without alerting
// everyone. Votes of one check are serialised by an advisory lock, so
// exactly one node opens it.
func (c *Cluster) OpenIncident(ctx context.Context, check string) (bool, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	tx, err := c.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("open incident %s: %w", check, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('edge.incident ' || $1))`, check); err != nil {
		return false, fmt.Errorf("open incident %s: %w", check, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO edge.incident_nodes (check_name, node, down, at) VALUES ($1, $2, true, now())
		ON CONFLICT (check_name, node) DO UPDATE SET down = true, at = now()`, check, c.opts.Node); err != nil {
		return false, fmt.Errorf("open incident %s: %w", check, err)
	}
	var down, live int
	if err := tx.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM edge.incident_nodes i JOIN edge.nodes n ON n.name = i.node
			WHERE i.check_name = $1 AND i.down AND n.last_seen > now() - make_interval(secs => $2)),
		(SELECT count(*) FROM edge.nodes WHERE last_seen > now() - make_interval(secs => $2))`,
		check, DownAfter.Seconds()).Scan(&down, &live); err != nil {
		return false, fmt.Errorf("open incident %s: %w", check, err)
	}
	if live > 0 && down*2 <= live {
		if err := tx.Commit(ctx); err != nil {
			return false, fmt.Errorf("open incident %s: %w", check, err)
		}
		c.log.Warn("check down on this node only so far; no alert until most nodes agree", "check", check, "down_on", down, "live_nodes", live)
		return false, nil
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
// The same advisory lock as OpenIncident serialises the votes.
func (c *Cluster) ResolveIncident(ctx context.Context, check string) (bool, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	tx, err := c.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("resolve incident %s: %w", check, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('edge.incident ' || $1))`, check); err != nil {
		return false, fmt.Errorf("resolve incident %s: %w", check, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE edge.incident_nodes SET down = false, at = now() WHERE check_name = $1 AND node = $2`,
		check, c.opts.Node); err != nil {
		return false, fmt.Errorf("resolve incident %s: %w", check, err)
	}
	var open bool
	err = tx.QueryRow(ctx, `SELECT resolved_at IS NULL FROM edge.incidents WHERE check_name = $1`, check).Scan(&open)
	if isNoRows(err) {
		return false, tx.Commit(ctx) // never opened: only this node's vote changes
	}
	if err != nil {
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
