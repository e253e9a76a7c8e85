package cluster

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// The lease design.
//
// A lock is a row of edge.locks (name, owner, acquired, expires). Taking
// it is ONE statement:
//
//	INSERT ... ON CONFLICT (name) DO UPDATE ... WHERE edge.locks.expires < now()
//	RETURNING owner
//
// PostgreSQL runs an upsert atomically even under READ COMMITTED: the
// conflicting row is locked and the WHERE re-evaluated on its newest
// version, so of two nodes racing for a free or expired lease exactly one
// gets a row back. There is no read-then-write window (the race of the
// check-then-upsert designs). Expiry uses the database clock only, so
// nodes' clocks may disagree.
//
// The holder renews the lease every TTL/3 (UPDATE ... WHERE owner = its
// token). A holder that dies stops renewing and its lease is taken over
// TTL after the last renewal. Lock blocks, retrying every PollInterval
// (with jitter), until it wins or ctx ends; it never returns "locked".
//
// Why not advisory locks on a dedicated connection: they need one
// connection held per lock for the whole critical section (an ACME order
// takes seconds to minutes), they vanish silently when that connection
// drops (a PostgreSQL restart or a network blip) while the holder goes on
// believing it holds the lock, and they do not survive a pooler in
// transaction mode. A lease row is visible (SELECT * FROM edge.locks),
// survives reconnects and pools, and its failure mode is explicit: a
// holder that cannot renew for TTL loses the lock, and says so in its log.

// lease is a lock this process holds.
type lease struct {
	token string
	stop  context.CancelFunc
	done  chan struct{}
}

func newToken(node string) string {
	b := make([]byte, 8)
	_, _ = crand.Read(b)
	return node + "/" + hex.EncodeToString(b)
}

// TryLock takes the lease on name if it is free or expired, without
// waiting. The lease is then renewed until Unlock.
func (s *Storage) TryLock(ctx context.Context, name string) (bool, error) {
	s.mu.Lock()
	_, mine := s.held[name]
	s.mu.Unlock()
	if mine {
		return false, nil // held by another caller in this process
	}
	token := newToken(s.node)
	ok, err := s.acquire(ctx, name, token)
	if err != nil || !ok {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, mine := s.held[name]; mine { // lost a race inside this process: give it back
		go func() { _ = s.release(context.WithoutCancel(ctx), name, token) }()
		return false, nil
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	l := &lease{token: token, stop: stop, done: make(chan struct{})}
	s.held[name] = l
	go s.renew(rctx, name, l)
	return true, nil
}

func (s *Storage) acquire(ctx context.Context, name, token string) (bool, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	var owner string
	err := s.pool.QueryRow(ctx, `INSERT INTO edge.locks (name, owner, acquired, expires)
		VALUES ($1, $2, now(), now() + make_interval(secs => $3))
		ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, acquired = EXCLUDED.acquired, expires = EXCLUDED.expires
		WHERE edge.locks.expires < now()
		RETURNING owner`, name, token, s.ttl.Seconds()).Scan(&owner)
	if isNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cluster lock %s: %w", name, err)
	}
	return owner == token, nil
}

// Lock blocks until this process holds the lease on name or ctx ends.
// A database error ends the wait with that error.
func (s *Storage) Lock(ctx context.Context, name string) error {
	for {
		ok, err := s.TryLock(ctx, name)
		if ok {
			return nil
		}
		if err != nil {
			return err
		}
		wait := s.poll/2 + rand.N(s.poll) // jitter: waiters do not retry in step
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("cluster lock %s: %w", name, context.Cause(ctx))
		case <-t.C:
		}
	}
}

// Unlock stops renewing and releases the lease. A lease that had already
// expired and been taken by another node is not an error (it is logged).
func (s *Storage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	l, ok := s.held[name]
	delete(s.held, name)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("cluster unlock %s: not locked by this process", name)
	}
	l.stop()
	<-l.done
	return s.release(ctx, name, l.token)
}

func (s *Storage) release(ctx context.Context, name, token string) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `DELETE FROM edge.locks WHERE name = $1 AND owner = $2`, name, token)
	if err != nil {
		return fmt.Errorf("cluster unlock %s: %w (the lease expires by itself within %s)", name, err, s.ttl)
	}
	if tag.RowsAffected() == 0 {
		s.log.Warn("lease had expired before unlock; another node may have taken it", "lock", name)
	}
	return nil
}

// renew extends the lease every TTL/3 until stopped. A renewal that finds
// the lease taken stops and logs: the critical section ran too long
// without reaching PostgreSQL.
func (s *Storage) renew(ctx context.Context, name string, l *lease) {
	defer close(l.done)
	tick := time.NewTicker(s.ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rctx, cancel := context.WithTimeout(ctx, s.ttl/3)
		tag, err := s.pool.Exec(rctx, `UPDATE edge.locks SET expires = now() + make_interval(secs => $3)
			WHERE name = $1 AND owner = $2`, name, l.token, s.ttl.Seconds())
		cancel()
		switch {
		case err != nil && !errors.Is(err, context.Canceled):
			s.log.Warn("lease renewal failed; retrying", "lock", name, "error", err)
		case err == nil && tag.RowsAffected() == 0:
			s.log.Error("lease lost: it expired and another node took it", "lock", name)
			return
		}
	}
}

// Holder returns the owner token of the lease on name and when it
// expires, or "" when no live lease exists.
func (s *Storage) Holder(ctx context.Context, name string) (string, time.Time, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	var owner string
	var exp time.Time
	err := s.pool.QueryRow(ctx, `SELECT owner, expires FROM edge.locks WHERE name = $1 AND expires >= now()`, name).Scan(&owner, &exp)
	if isNoRows(err) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("cluster lock %s: %w", name, err)
	}
	return owner, exp, nil
}
