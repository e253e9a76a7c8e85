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
