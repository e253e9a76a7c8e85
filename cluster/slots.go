package cluster

import (
	"context"
	"fmt"
	"time"
)

// ClaimSlot hands the slot of a singleton job (such as "backup" at
// 03:00) to exactly one node: the first to claim a slot later than the
// job's last claimed one gets true, every other node false. One statement
// (an upsert whose WHERE is re-checked on the locked row), so it is
// atomic under READ COMMITTED. A node that cannot reach PostgreSQL gets
// the error and must not run the slot: the slot then runs on a node that
// can, or is missed and reported by the job's freshness check.
func (c *Cluster) ClaimSlot(ctx context.Context, job string, slot time.Time) (bool, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	var node string
	err := c.pool.QueryRow(ctx, `INSERT INTO edge.job_slots (job, last_slot, node, claimed_at)
		VALUES ($1, $2, $3, now())
		ON CONFLICT (job) DO UPDATE SET last_slot = EXCLUDED.last_slot, node = EXCLUDED.node, claimed_at = EXCLUDED.claimed_at
		WHERE edge.job_slots.last_slot < EXCLUDED.last_slot
		RETURNING node`, job, slot.UTC(), c.opts.Node).Scan(&node)
	won := err == nil && node == c.opts.Node
	if err != nil && !isNoRows(err) {
		return false, fmt.Errorf("claim %s slot %s: %w", job, slot.UTC().Format(time.RFC3339), err)
	}
	c.mu.Lock()
	c.leader[job] = won
	c.mu.Unlock()
	if won {
		c.log.Info("slot claimed; this node runs it", "job", job, "slot", slot.UTC())
	} else {
		c.log.Info("slot claimed by another node", "job", job, "slot", slot.UTC())
	}
	return won, nil
}

// Leaders reports, per job, whether this node claimed its latest slot.
func (c *Cluster) Leaders() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]bool, len(c.leader))
	for k, v := range c.leader {
		out[k] = v
	}
	return out
}

// JobSucceeded records that this node finished a run of job, so that
// every node's freshness check sees the cluster's last success, not only
// its own.
func (c *Cluster) JobSucceeded(ctx context.Context, job string) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	_, err := c.pool.Exec(ctx, `INSERT INTO edge.job_slots (job, last_slot, node, claimed_at, last_success, last_success_node)
		VALUES ($1, '-infinity', $2, now(), now(), $2)
		ON CONFLICT (job) DO UPDATE SET last_success = now(), last_success_node = EXCLUDED.last_success_node`, job, c.opts.Node)
	if err != nil {
		return fmt.Errorf("record %s success: %w", job, err)
	}
	return nil
}

// LastSuccess is when a run of job last succeeded on any node (zero
// when none did).
func (c *Cluster) LastSuccess(ctx context.Context, job string) (time.Time, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	var at *time.Time
	err := c.pool.QueryRow(ctx, `SELECT last_success FROM edge.job_slots WHERE job = $1`, job).Scan(&at)
	if isNoRows(err) || (err == nil && at == nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%s last success: %w", job, err)
	}
	return at.UTC(), nil
}
