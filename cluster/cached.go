package cluster

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"

	"github.com/caddyserver/certmagic"
)

// Cached is the Storage a node gives certmagic: PostgreSQL is the truth,
// and every value read or written is also kept in a local FileStorage so
// that a node restarted while PostgreSQL is down still serves its stored
// certificates. Reads fall back to the local copy only when PostgreSQL
// cannot answer (never when it answers "not there"); locks are always
// PostgreSQL's.
type Cached struct {
	*Storage
	local *certmagic.FileStorage
	log   *slog.Logger
}

var _ certmagic.Storage = (*Cached)(nil)

// NewCached layers a local copy in dir under s.
func NewCached(s *Storage, dir string) *Cached {
	return &Cached{Storage: s, local: &certmagic.FileStorage{Path: dir}, log: s.log}
}

// unreachable reports whether err is PostgreSQL failing to answer rather
// than a definite "not there".
func unreachable(err error) bool { return err != nil && !errors.Is(err, fs.ErrNotExist) }

// Store writes to PostgreSQL, then the local copy.
func (c *Cached) Store(ctx context.Context, key string, value []byte) error {
	if err := c.Storage.Store(ctx, key, value); err != nil {
		return err
	}
	if err := c.local.Store(ctx, key, value); err != nil {
		c.log.Warn("local copy of cluster storage not written", "key", key, "error", err)
	}
	return nil
}

// Load reads PostgreSQL and refreshes the local copy; while PostgreSQL is
// unreachable it reads the local copy.
func (c *Cached) Load(ctx context.Context, key string) ([]byte, error) {
	v, err := c.Storage.Load(ctx, key)
	if unreachable(err) {
		if lv, lerr := c.local.Load(ctx, key); lerr == nil {
			c.log.Warn("PostgreSQL unreachable; using the local copy", "key", key, "error", err)
			return lv, nil
		}
		return nil, err
	}
	if err == nil {
		if old, lerr := c.local.Load(ctx, key); lerr != nil || !bytes.Equal(old, v) {
			if werr := c.local.Store(ctx, key, v); werr != nil {
				c.log.Warn("local copy of cluster storage not written", "key", key, "error", werr)
			}
		}
	}
	return v, err
}

// Delete deletes in PostgreSQL, then locally.
func (c *Cached) Delete(ctx context.Context, key string) error {
	if err := c.Storage.Delete(ctx, key); err != nil {
		return err
	}
	_ = c.local.Delete(ctx, key)
	return nil
}

// Exists asks PostgreSQL, or the local copy while it is unreachable.
func (c *Cached) Exists(ctx context.Context, key string) bool {
	if _, err := c.Storage.Stat(ctx, key); unreachable(err) {
		return c.local.Exists(ctx, key)
	} else {
		return err == nil
	}
}

// List asks PostgreSQL, or the local copy while it is unreachable.
func (c *Cached) List(ctx context.Context, dir string, recursive bool) ([]string, error) {
	keys, err := c.Storage.List(ctx, dir, recursive)
	if unreachable(err) {
		if lk, lerr := c.local.List(ctx, dir, recursive); lerr == nil {
			return lk, nil
		}
	}
	return keys, err
}

// Stat asks PostgreSQL, or the local copy while it is unreachable.
func (c *Cached) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	ki, err := c.Storage.Stat(ctx, key)
	if unreachable(err) {
		if lki, lerr := c.local.Stat(ctx, key); lerr == nil {
			return lki, nil
		}
	}
	return ki, err
}

// String names the storage in certmagic's logs.
func (c *Cached) String() string { return "PostgreSQL schema edge, local copy in " + c.local.Path }
