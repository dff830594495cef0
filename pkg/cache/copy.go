package cache

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// CopyStats counts what Copy moved.
type CopyStats struct {
	Entries   int64 `json:"entries"`    // fresh answers copied
	Expired   int64 `json:"expired"`    // expired answers left behind
	Counters  int64 `json:"counters"`   // hit/miss counter rows merged
	QuotaDays int64 `json:"quota_days"` // (provider, day) quota rows merged
}

// record is one exported answer with its absolute times.
type record struct {
	Key
	Entry
}

// copySource and copyTarget are what Copy needs of a store; every Store in
// this package implements both.
type copySource interface {
	exportEntries(ctx context.Context, fn func(record) error) error
	exportCounters(ctx context.Context) ([]GroupStats, error)
	exportQuota(ctx context.Context) ([]QuotaStats, error)
}

type copyTarget interface {
	importEntries(ctx context.Context, rs []record) error
	importCounters(ctx context.Context, gs []GroupStats) error
	importQuota(ctx context.Context, qs []QuotaStats) error
}

// Copy copies the fresh answers, the hit/miss counters and the quota counts
// of src into dst (`verdict cache migrate`). It merges rather than
// overwrites, so running it twice changes nothing: an answer replaces one
// in dst only if it was fetched later, and counters and quota counts take
// the larger of the two (a quota count must never go down, or the day's
// requests would be spent twice). Claims are not copied: they are leases of
// running processes.
func Copy(ctx context.Context, dst, src Store) (CopyStats, error) {
	var st CopyStats
	from, ok := src.(copySource)
	if !ok {
		return st, fmt.Errorf("copy cache: %s cannot be exported", src.Describe())
	}
	to, ok := dst.(copyTarget)
	if !ok {
		return st, fmt.Errorf("copy cache: %s cannot be imported into", dst.Describe())
	}
	if src.Describe() == dst.Describe() {
		return st, fmt.Errorf("copy cache: source and destination are the same store (%s)", src.Describe())
	}
	if f, ok := src.(interface{ Flush(context.Context) error }); ok {
		if err := f.Flush(ctx); err != nil {
			return st, err
		}
	}
	now := time.Now()
	if n, ok := src.(interface{ clock() time.Time }); ok {
		now = n.clock()
	}
	const batch = 500
	var pending []record
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		if err := to.importEntries(ctx, pending); err != nil {
			return fmt.Errorf("copy cache entries into %s: %w", dst.Describe(), err)
		}
		st.Entries += int64(len(pending))
		pending = pending[:0]
		return nil
	}
	err := from.exportEntries(ctx, func(r record) error {
		if !r.ExpiresAt.After(now) {
			st.Expired++
			return nil
		}
		pending = append(pending, r)
		if len(pending) >= batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return st, err
	}
	gs, err := from.exportCounters(ctx)
	if err != nil {
		return st, fmt.Errorf("read counters of %s: %w", src.Describe(), err)
	}
	if err := to.importCounters(ctx, gs); err != nil {
		return st, fmt.Errorf("copy counters into %s: %w", dst.Describe(), err)
	}
	st.Counters = int64(len(gs))
	qs, err := from.exportQuota(ctx)
	if err != nil {
		return st, fmt.Errorf("read quota of %s: %w", src.Describe(), err)
	}
	if err := to.importQuota(ctx, qs); err != nil {
		return st, fmt.Errorf("copy quota into %s: %w", dst.Describe(), err)
	}
	st.QuotaDays = int64(len(qs))
	return st, nil
}

// Memory.

func (m *Memory) clock() time.Time { return m.now() }

func (m *Memory) exportEntries(_ context.Context, fn func(record) error) error {
	m.mu.Lock()
	rs := make([]record, 0, len(m.entries))
	for k, e := range m.entries {
		rs = append(rs, record{k, e})
	}
	m.mu.Unlock()
	for _, r := range rs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (m *Memory) exportCounters(context.Context) ([]GroupStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []GroupStats
	for k, c := range m.counters {
		out = append(out, GroupStats{Provider: k[0], Type: k[1], Hits: c[0], Misses: c[1]})
	}
	return out, nil
}

func (m *Memory) exportQuota(context.Context) ([]QuotaStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []QuotaStats
	for k, n := range m.quota {
		out = append(out, QuotaStats{Provider: k[0], Day: k[1], Used: int64(n)})
	}
	return out, nil
}

func (m *Memory) importEntries(_ context.Context, rs []record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rs {
		if old, ok := m.entries[r.Key]; ok && !r.FetchedAt.After(old.FetchedAt) {
			continue
		}
		r.Data = append([]byte(nil), r.Data...)
		m.entries[r.Key] = r.Entry
	}
	return nil
}

func (m *Memory) importCounters(_ context.Context, gs []GroupStats) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, g := range gs {
		k := [2]string{g.Provider, g.Type}
		c := m.counters[k]
		m.counters[k] = [2]int64{max(c[0], g.Hits), max(c[1], g.Misses)}
	}
	return nil
}

func (m *Memory) importQuota(_ context.Context, qs []QuotaStats) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, q := range qs {
		k := [2]string{q.Provider, q.Day}
		m.quota[k] = max(m.quota[k], int(q.Used))
	}
	return nil
}

// SQLite.

func (s *SQLite) clock() time.Time { return s.opts.now() }

func (s *SQLite) exportEntries(ctx context.Context, fn func(record) error) error {
	return s.do(ctx, func(db *sql.DB) error {
		rows, err := db.QueryContext(ctx, `SELECT provider, params, ioc_type, value, status, data, fetched_at, expires_at FROM entries`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r record
			var fetched, expires int64
			if err := rows.Scan(&r.Provider, &r.Params, &r.Type, &r.Value, &r.Status, &r.Data, &fetched, &expires); err != nil {
				_ = rows.Close()
				return err
			}
			scanEntry(fetched, expires, &r.Entry)
			if err := fn(r); err != nil {
				_ = rows.Close()
				return err
			}
		}
		return errors.Join(rows.Err(), rows.Close())
	})
}

func (s *SQLite) exportCounters(ctx context.Context) ([]GroupStats, error) {
	var out []GroupStats
	err := s.do(ctx, func(db *sql.DB) error {
		out = nil
		rows, err := db.QueryContext(ctx, `SELECT provider, ioc_type, hits, misses FROM counters`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var g GroupStats
			if err := rows.Scan(&g.Provider, &g.Type, &g.Hits, &g.Misses); err != nil {
				_ = rows.Close()
				return err
			}
			out = append(out, g)
		}
		return errors.Join(rows.Err(), rows.Close())
	})
	return out, err
}

func (s *SQLite) exportQuota(ctx context.Context) ([]QuotaStats, error) {
	var out []QuotaStats
	err := s.do(ctx, func(db *sql.DB) error {
		out = nil
		rows, err := db.QueryContext(ctx, `SELECT provider, day, used FROM quota`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var q QuotaStats
			if err := rows.Scan(&q.Provider, &q.Day, &q.Used); err != nil {
				_ = rows.Close()
				return err
			}
			out = append(out, q)
		}
		return errors.Join(rows.Err(), rows.Close())
	})
	return out, err
}

// importTx runs one statement per row in one transaction.
func (s *SQLite) importTx(ctx context.Context, query string, n int, args func(i int) []any) error {
	if s.readOnly {
		return fmt.Errorf("import into %s: %w", s.path, ErrReadOnly)
	}
	return s.do(ctx, func(db *sql.DB) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		stmt, err := tx.PrepareContext(ctx, query)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := 0; i < n; i++ {
			if _, err := stmt.ExecContext(ctx, args(i)...); err != nil {
				return err
			}
		}
		return tx.Commit()
	})
}

func (s *SQLite) importEntries(ctx context.Context, rs []record) error {
	return s.importTx(ctx,
		`INSERT INTO entries (provider, params, ioc_type, value, status, data, fetched_at, expires_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (provider, params, ioc_type, value) DO UPDATE SET
		   status = excluded.status, data = excluded.data,
		   fetched_at = excluded.fetched_at, expires_at = excluded.expires_at
		 WHERE excluded.fetched_at > entries.fetched_at`, len(rs), func(i int) []any {
			r := rs[i]
			data := r.Data
			if data == nil {
				data = []byte{}
			}
			return []any{r.Provider, r.Params, r.Type, r.Value, r.Status, data, r.FetchedAt.Unix(), r.ExpiresAt.Unix()}
		})
}

func (s *SQLite) importCounters(ctx context.Context, gs []GroupStats) error {
	return s.importTx(ctx,
		`INSERT INTO counters (provider, ioc_type, hits, misses) VALUES (?, ?, ?, ?)
		 ON CONFLICT (provider, ioc_type) DO UPDATE SET hits = MAX(hits, excluded.hits), misses = MAX(misses, excluded.misses)`,
		len(gs), func(i int) []any { return []any{gs[i].Provider, gs[i].Type, gs[i].Hits, gs[i].Misses} })
}

func (s *SQLite) importQuota(ctx context.Context, qs []QuotaStats) error {
	return s.importTx(ctx,
		`INSERT INTO quota (provider, day, used) VALUES (?, ?, ?)
		 ON CONFLICT (provider, day) DO UPDATE SET used = MAX(used, excluded.used)`,
		len(qs), func(i int) []any { return []any{qs[i].Provider, qs[i].Day, qs[i].Used} })
}

// Postgres.

func (p *Postgres) clock() time.Time { return p.opts.now() }

func (p *Postgres) exportEntries(ctx context.Context, fn func(record) error) error {
	rows, err := p.pool.Query(ctx, `SELECT provider, params, ioc_type, value, status, data, fetched_at, expires_at FROM entries`)
	if err != nil {
		return p.scrub(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r record
		var value []byte
		if err := rows.Scan(&r.Provider, &r.Params, &r.Type, &value, &r.Status, &r.Data, &r.FetchedAt, &r.ExpiresAt); err != nil {
			return p.scrub(err)
		}
		r.Value = string(value)
		r.FetchedAt, r.ExpiresAt = r.FetchedAt.UTC(), r.ExpiresAt.UTC()
		if err := fn(r); err != nil {
			return err
		}
	}
	return p.scrub(rows.Err())
}

func (p *Postgres) exportCounters(ctx context.Context) ([]GroupStats, error) {
	rows, err := p.pool.Query(ctx, `SELECT provider, ioc_type, hits, misses FROM counters`)
	if err != nil {
		return nil, p.scrub(err)
	}
	var out []GroupStats
	var g GroupStats
	_, err = pgx.ForEachRow(rows, []any{&g.Provider, &g.Type, &g.Hits, &g.Misses}, func() error {
		out = append(out, g)
		return nil
	})
	return out, p.scrub(err)
}

func (p *Postgres) exportQuota(ctx context.Context) ([]QuotaStats, error) {
	rows, err := p.pool.Query(ctx, `SELECT provider, day, used FROM quota`)
	if err != nil {
		return nil, p.scrub(err)
	}
	var out []QuotaStats
	var q QuotaStats
	_, err = pgx.ForEachRow(rows, []any{&q.Provider, &q.Day, &q.Used}, func() error {
		out = append(out, q)
		return nil
	})
	return out, p.scrub(err)
}

// importBatch sends one statement per row in one transaction and one
// round trip.
func (p *Postgres) importBatch(ctx context.Context, query string, n int, args func(i int) []any) error {
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for i := 0; i < n; i++ {
			b.Queue(query, args(i)...)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	return p.scrub(err)
}

func (p *Postgres) importEntries(ctx context.Context, rs []record) error {
	return p.importBatch(ctx,
		`INSERT INTO entries AS e (provider, params, ioc_type, value, status, data, fetched_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		 ON CONFLICT (provider, params, ioc_type, value) DO UPDATE SET
		   status = EXCLUDED.status, data = EXCLUDED.data,
		   fetched_at = EXCLUDED.fetched_at, expires_at = EXCLUDED.expires_at
		 WHERE EXCLUDED.fetched_at > e.fetched_at`, len(rs), func(i int) []any {
			r := rs[i]
			data := r.Data
			if data == nil {
				data = []byte{}
			}
			return []any{r.Provider, r.Params, r.Type, []byte(r.Value), r.Status, data, r.FetchedAt, r.ExpiresAt}
		})
}

func (p *Postgres) importCounters(ctx context.Context, gs []GroupStats) error {
	return p.importBatch(ctx,
		`INSERT INTO counters AS c (provider, ioc_type, hits, misses) VALUES ($1, $2, $3, $4)
		 ON CONFLICT (provider, ioc_type) DO UPDATE SET hits = GREATEST(c.hits, EXCLUDED.hits), misses = GREATEST(c.misses, EXCLUDED.misses)`,
		len(gs), func(i int) []any { return []any{gs[i].Provider, gs[i].Type, gs[i].Hits, gs[i].Misses} })
}

func (p *Postgres) importQuota(ctx context.Context, qs []QuotaStats) error {
	return p.importBatch(ctx,
		`INSERT INTO quota AS q (provider, day, used) VALUES ($1, $2, $3)
		 ON CONFLICT (provider, day) DO UPDATE SET used = GREATEST(q.used, EXCLUDED.used)`,
		len(qs), func(i int) []any { return []any{qs[i].Provider, qs[i].Day, qs[i].Used} })
}
