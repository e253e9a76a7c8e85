package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Heartbeat timing: a node silent for DownAfter is shown down.
const (
	HeartbeatInterval = 5 * time.Second
	DownAfter         = 3 * HeartbeatInterval
	connectTimeout    = 3 * time.Second
)

// Options describe this node.
type Options struct {
	// Node is this instance's unique name.
	Node string
	// Version is edge's version, shown in the cluster table.
	Version string
	// Listeners returns this node's addresses, shown in the cluster table.
	Listeners func() string
	// Release returns the frontend release this node serves ("" unknown).
	Release func() string
	// LocalDir keeps the local copy of the certificate storage.
	LocalDir string
	// Logger receives migrations, lost leases and PostgreSQL outages.
	Logger *slog.Logger
	// LeaseTTL overrides DefaultLeaseTTL (tests).
	LeaseTTL time.Duration
}

// Cluster is this node's membership in the cluster: the pool, the
// storage, the singleton job slots and the heartbeat.
type Cluster struct {
	opts     Options
	pool     *pgxpool.Pool
	storage  *Storage
	cached   *Cached
	log      *slog.Logger
	started  time.Time
	migrated atomic.Bool
	mu       sync.Mutex
	leader   map[string]bool // job -> this node claimed its latest slot
}

// Open connects lazily to databaseURL: it never fails because PostgreSQL
// is down (the node then serves from its local copies and the heartbeat
// retries), only on a URL that cannot be used.
func Open(ctx context.Context, databaseURL string, opts Options) (*Cluster, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Release == nil {
		opts.Release = func() string { return "" }
	}
	if opts.Listeners == nil {
		opts.Listeners = func() string { return "" }
	}
	pc, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("cluster.database_url: %w", err)
	}
	if pc.ConnConfig.ConnectTimeout == 0 {
		pc.ConnConfig.ConnectTimeout = connectTimeout
	}
	if pc.ConnConfig.RuntimeParams["application_name"] == "" {
		pc.ConnConfig.RuntimeParams["application_name"] = "edge " + opts.Node
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("cluster.database_url: %w", err)
	}
	c := &Cluster{opts: opts, pool: pool, log: opts.Logger.With("component", "cluster", "node", opts.Node),
		started: time.Now(), leader: map[string]bool{}}
	c.storage = NewStorage(pool, StorageOptions{Node: opts.Node, LeaseTTL: opts.LeaseTTL, Logger: opts.Logger})
	c.cached = NewCached(c.storage, opts.LocalDir)
	mctx, cancel := context.WithTimeout(ctx, 2*connectTimeout)
	defer cancel()
	c.ensureSchema(mctx)
	return c, nil
}

// Node is this node's name.
func (c *Cluster) Node() string { return c.opts.Node }

// Storage is the certmagic storage for tlsmgr: PostgreSQL with a local
// copy.
func (c *Cluster) Storage() *Cached { return c.cached }

// Close ends the pool.
func (c *Cluster) Close() { c.pool.Close() }

// ensureSchema migrates once per process; failures are retried by Run.
func (c *Cluster) ensureSchema(ctx context.Context) bool {
	if c.migrated.Load() {
		return true
	}
	before, err := Migrate(ctx, c.pool)
	if err != nil {
		c.log.Warn("PostgreSQL not ready; serving from local copies, retrying", "error", err)
		return false
	}
	if before < SchemaVersion() {
		c.log.Info("schema edge migrated", "from", before, "to", SchemaVersion())
	}
	c.migrated.Store(true)
	return true
}

// Run heartbeats every HeartbeatInterval until ctx ends, migrating first
// if Open could not; then it removes nothing (a stopped node shows down).
func (c *Cluster) Run(ctx context.Context) error {
	t := time.NewTicker(HeartbeatInterval)
	defer t.Stop()
	for {
		if c.ensureSchema(ctx) {
			if err := c.beat(ctx); err != nil && ctx.Err() == nil {
				c.log.Warn("cluster heartbeat failed", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (c *Cluster) beat(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, HeartbeatInterval)
	defer cancel()
	_, err := c.pool.Exec(ctx, `INSERT INTO edge.nodes (name, version, release, listeners, started, last_seen)
		VALUES ($1, $2, $3, $4, $5, now())
		ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version, release = EXCLUDED.release,
			listeners = EXCLUDED.listeners, started = EXCLUDED.started, last_seen = EXCLUDED.last_seen`,
		c.opts.Node, c.opts.Version, c.opts.Release(), c.opts.Listeners(), c.started)
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

// Member is one node as the membership table shows it.
type Member struct {
	Name      string    `json:"name"`
	Version   string    `json:"version"`
	Release   string    `json:"release"`
	Listeners string    `json:"listeners"`
	LastSeen  time.Time `json:"last_seen"`
	Up        bool      `json:"up"`
}

// Members lists every node that ever heartbeat, by name; Up is judged by
// the database clock (seen within DownAfter).
func (c *Cluster) Members(ctx context.Context) ([]Member, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	rows, err := c.pool.Query(ctx, `SELECT name, version, release, listeners, last_seen,
		last_seen > now() - make_interval(secs => $1) FROM edge.nodes ORDER BY name`, DownAfter.Seconds())
	if err != nil {
		return nil, fmt.Errorf("cluster members: %w", err)
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.Name, &m.Version, &m.Release, &m.Listeners, &m.LastSeen, &m.Up); err != nil {
			return nil, fmt.Errorf("cluster members: %w", err)
		}
		m.LastSeen = m.LastSeen.UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}
