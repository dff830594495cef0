package cache

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Rates keep each provider's rate window (pkg/ratelimit's shared limiter)
// where every process using the store sees it, so that a provider's rate
// holds for its API key, whatever the number of processes and hosts using
// it, as the daily quota does. [SQLite] and [Postgres] implement it; the
// [Memory] store does not (one process: its own limiter is enough).
//
// The store does not interpret the state: it keeps one opaque value per
// key in the rate_slots table and runs every change under a lock that all
// its processes respect (a row lock in PostgreSQL, the write lock of
// BEGIN IMMEDIATE in SQLite), so that reading the window, deciding, and
// writing it back is one atomic step.
type Rates interface {
	// UpdateRate reads key's state (nil when there is none yet), calls fn
	// with it and the store's clock, and stores what fn returns (nil keeps
	// the state as it is), holding the lock from the read to the commit.
	// fn must be quick and must not call the store; it may be called more
	// than once (after a corrupt SQLite file is replaced), and only the
	// last call's result is kept.
	UpdateRate(ctx context.Context, key string, fn func(state []byte, now time.Time) []byte) error
}

// ClaimRenewer is a Claims store whose holder can keep its leases alive:
// the lookup engine renews its claims while their lookups wait for a rate
// slot or a 429 pause, so a lease can be short (a crashed process blocks a
// key for one lease) without ever lapsing under a live holder.
type ClaimRenewer interface {
	// RenewClaims extends every lease this handle holds to lease from now,
	// and returns how many it holds.
	RenewClaims(ctx context.Context, lease time.Duration) (int, error)
}

var (
	_ Rates        = (*SQLite)(nil)
	_ Rates        = (*Postgres)(nil)
	_ ClaimRenewer = (*SQLite)(nil)
	_ ClaimRenewer = (*Postgres)(nil)
	_ ClaimRenewer = (*Memory)(nil)
)

// UpdateRate implements Rates: one BEGIN IMMEDIATE transaction, so no
// other process reads the state between this read and this write. A
// read-only cache returns ErrReadOnly: its processes keep their own
// limiters.
func (s *SQLite) UpdateRate(ctx context.Context, key string, fn func([]byte, time.Time) []byte) error {
	if s.readOnly {
		return fmt.Errorf("update rate window in %s: %w", s.path, ErrReadOnly)
	}
	err := s.do(ctx, func(db *sql.DB) error {
		tx, err := db.BeginTx(ctx, nil) // _txlock=immediate: the write lock first
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		var state []byte
		err = tx.QueryRowContext(ctx, `SELECT state FROM rate_slots WHERE provider = ?`, key).Scan(&state)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// The clock is read under the lock: the decision is about now,
		// not about when the lock was asked for.
		now := s.opts.now()
		out := fn(state, now)
		if out == nil {
			return tx.Commit()
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO rate_slots (provider, state, updated_at) VALUES (?, ?, ?)
			 ON CONFLICT (provider) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
			key, out, now.UnixMilli()); err != nil {
			return err
		}
		return tx.Commit()
	})
	if err != nil {
		return fmt.Errorf("update rate window: %w", err)
	}
	return nil
}

// RenewClaims implements ClaimRenewer.
func (s *SQLite) RenewClaims(ctx context.Context, lease time.Duration) (int, error) {
	if s.readOnly {
		return s.mem.RenewClaims(ctx, lease)
	}
	var n int64
	err := s.do(ctx, func(db *sql.DB) error {
		res, err := db.ExecContext(ctx, `UPDATE claims SET expires_at = ? WHERE holder = ?`,
			s.opts.now().Add(lease).UnixMilli(), s.holder)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("renew cache claims: %w", err)
	}
	return int(n), nil
}

// UpdateRate implements Rates: SELECT ... FOR UPDATE and UPDATE in one
// transaction; the processes of every host queue on the provider's row.
func (p *Postgres) UpdateRate(ctx context.Context, key string, fn func([]byte, time.Time) []byte) error {
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		var state []byte
		err := tx.QueryRow(ctx, `SELECT state FROM rate_slots WHERE provider = $1 FOR UPDATE`, key).Scan(&state)
		if errors.Is(err, pgx.ErrNoRows) {
			// The first process to use the provider creates its row; one
			// racing it waits for that insert and then locks the row.
			if _, err := tx.Exec(ctx,
				`INSERT INTO rate_slots (provider, state, updated_at) VALUES ($1, ''::bytea, $2) ON CONFLICT (provider) DO NOTHING`,
				key, p.opts.now()); err != nil {
				return err
			}
			err = tx.QueryRow(ctx, `SELECT state FROM rate_slots WHERE provider = $1 FOR UPDATE`, key).Scan(&state)
		}
		if err != nil {
			return err
		}
		now := p.opts.now() // under the row lock
		out := fn(state, now)
		if out == nil {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE rate_slots SET state = $2, updated_at = $3 WHERE provider = $1`, key, out, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("update rate window: %w", p.scrub(err))
	}
	return nil
}

// RenewClaims implements ClaimRenewer.
func (p *Postgres) RenewClaims(ctx context.Context, lease time.Duration) (int, error) {
	tag, err := p.pool.Exec(ctx, `UPDATE claims SET expires_at = $2 WHERE holder = $1`, p.holder, p.opts.now().Add(lease))
	if err != nil {
		return 0, fmt.Errorf("renew cache claims: %w", p.scrub(err))
	}
	return int(tag.RowsAffected()), nil
}

// RenewClaims implements ClaimRenewer: every live claim is this process's.
func (m *Memory) RenewClaims(_ context.Context, lease time.Duration) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	n := 0
	for k, exp := range m.claims {
		if exp.After(now) {
			m.claims[k] = now.Add(lease)
			n++
		}
	}
	return n, nil
}
