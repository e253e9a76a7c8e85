package cluster

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Defaults of a Storage's leases.
const (
	DefaultLeaseTTL     = 15 * time.Second
	DefaultPollInterval = 250 * time.Millisecond
	// opTimeout bounds each statement when the caller's context has no
	// deadline, so a vanished PostgreSQL never hangs a handshake path.
	opTimeout = 10 * time.Second
)

// Storage is a certmagic.Storage in table edge.kv, with Lock/Unlock on
// leases in edge.locks. It is safe for concurrent use.
type Storage struct {
	pool *pgxpool.Pool
	node string
	ttl  time.Duration
	poll time.Duration
	log  *slog.Logger
	mu   sync.Mutex
	held map[string]*lease // name -> lease this process holds
}

// StorageOptions tune a Storage; zero values take the defaults.
type StorageOptions struct {
	// Node names the holder in edge.locks (for operators and logs).
	Node string
	// LeaseTTL is how long a lease lasts without renewal: the time another
	// node waits after the holder died. Renewed every LeaseTTL/3.
	LeaseTTL time.Duration
	// PollInterval is how often a blocked Lock retries.
	PollInterval time.Duration
	// Logger receives lease renewals that failed.
	Logger *slog.Logger
}

var _ certmagic.Storage = (*Storage)(nil)

// NewStorage returns the storage on pool; the schema must be migrated.
func NewStorage(pool *pgxpool.Pool, opts StorageOptions) *Storage {
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Storage{pool: pool, node: opts.Node, ttl: opts.LeaseTTL, poll: opts.PollInterval,
		log: opts.Logger.With("component", "cluster"), held: map[string]*lease{}}
}

// bounded gives ctx a deadline of opTimeout when it has none.
func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, opTimeout)
}

// dirRange returns the bounds of the keys under dir: key > dir+"/" and
// key < dir+"0" ('0' follows '/' in byte order; the column collates "C").
func dirRange(dir string) (lo, hi string) { return dir + "/", dir + "0" }

// Store puts value at key, replacing any value there.
func (s *Storage) Store(ctx context.Context, key string, value []byte) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	if value == nil {
		value = []byte{}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO edge.kv (key, value, modified) VALUES ($1, $2, now())
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, modified = EXCLUDED.modified`, key, value)
	if err != nil {
		return fmt.Errorf("cluster storage: store %s: %w", key, err)
	}
	return nil
}

// Load returns the value at key, or an error wrapping fs.ErrNotExist.
func (s *Storage) Load(ctx context.Context, key string) ([]byte, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM edge.kv WHERE key = $1`, key).Scan(&v)
	if isNoRows(err) {
		return nil, fmt.Errorf("cluster storage: load %s: %w", key, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("cluster storage: load %s: %w", key, err)
	}
	return v, nil
}

// Delete removes key, and every key under it when it is a directory. A
// missing key is not an error.
func (s *Storage) Delete(ctx context.Context, key string) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	lo, hi := dirRange(key)
	_, err := s.pool.Exec(ctx, `DELETE FROM edge.kv WHERE key = $1 OR (key > $2 AND key < $3)`, key, lo, hi)
	if err != nil {
		return fmt.Errorf("cluster storage: delete %s: %w", key, err)
	}
	return nil
}

// Exists reports whether key is a file or a directory (a prefix of keys).
func (s *Storage) Exists(ctx context.Context, key string) bool {
	ctx, cancel := bounded(ctx)
	defer cancel()
	lo, hi := dirRange(key)
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM edge.kv WHERE key = $1 OR (key > $2 AND key < $3))`,
		key, lo, hi).Scan(&ok)
	return err == nil && ok
}

// List returns the keys under dir: its direct children (files and
// directories), or with recursive every file and directory below it. An
// empty dir is the root. A dir with nothing under it is fs.ErrNotExist.
func (s *Storage) List(ctx context.Context, dir string, recursive bool) ([]string, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	lo, hi := dirRange(dir)
	q, args := `SELECT key FROM edge.kv WHERE key > $1 AND key < $2 ORDER BY key`, []any{lo, hi}
	if dir == "" {
		lo, q, args = "", `SELECT key FROM edge.kv ORDER BY key`, nil
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("cluster storage: list %s: %w", dir, err)
	}
	defer rows.Close()
	var out []string
	seen := map[string]bool{}
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for rows.Next() {
		var key string
		if err := rows.Scan(&key); err != nil {
			return nil, fmt.Errorf("cluster storage: list %s: %w", dir, err)
		}
		rel := strings.TrimPrefix(key, lo)
		parts := strings.Split(rel, "/")
		if !recursive {
			add(joinKey(dir, parts[0]))
			continue
		}
		for i := 1; i <= len(parts); i++ {
			add(joinKey(dir, strings.Join(parts[:i], "/")))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cluster storage: list %s: %w", dir, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("cluster storage: list %s: %w", dir, fs.ErrNotExist)
	}
	return out, nil
}

func joinKey(dir, rel string) string {
	if dir == "" {
		return rel
	}
	return dir + "/" + rel
}

// Stat describes key: a file (IsTerminal) with its size and modification
// time, or a directory; fs.ErrNotExist when it is neither.
func (s *Storage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	var size int64
	var mod time.Time
	err := s.pool.QueryRow(ctx, `SELECT length(value), modified FROM edge.kv WHERE key = $1`, key).Scan(&size, &mod)
	if err == nil {
		return certmagic.KeyInfo{Key: key, Modified: mod, Size: size, IsTerminal: true}, nil
	}
	if !isNoRows(err) {
		return certmagic.KeyInfo{}, fmt.Errorf("cluster storage: stat %s: %w", key, err)
	}
	lo, hi := dirRange(key)
	err = s.pool.QueryRow(ctx, `SELECT max(modified) FROM edge.kv WHERE key > $1 AND key < $2 HAVING count(*) > 0`,
		lo, hi).Scan(&mod)
	if isNoRows(err) {
		return certmagic.KeyInfo{}, fmt.Errorf("cluster storage: stat %s: %w", key, fs.ErrNotExist)
	}
	if err != nil {
		return certmagic.KeyInfo{}, fmt.Errorf("cluster storage: stat %s: %w", key, err)
	}
	return certmagic.KeyInfo{Key: key, Modified: mod, IsTerminal: false}, nil
}

// String names the storage in certmagic's logs.
func (s *Storage) String() string { return "PostgreSQL schema edge" }
