package cache

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgMigrations are applied in order under an advisory lock; the
// schema_migrations table records each version once.
var pgMigrations = []struct {
	name string
	sql  string
}{
	1: {"initial schema", `
CREATE TABLE entries (
	provider   text        NOT NULL,
	params     text        NOT NULL,
	ioc_type   text        NOT NULL,
	value      bytea       NOT NULL, -- attacker-written: any bytes, NUL and invalid UTF-8 included
	status     text        NOT NULL,
	data       bytea       NOT NULL,
	fetched_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (provider, params, ioc_type, value)
);
CREATE INDEX entries_expires ON entries (expires_at);
CREATE TABLE counters (
	provider text   NOT NULL,
	ioc_type text   NOT NULL,
	hits     bigint NOT NULL DEFAULT 0,
	misses   bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (provider, ioc_type)
);
CREATE TABLE quota (
	provider text    NOT NULL,
	day      text    NOT NULL, -- UTC, YYYY-MM-DD
	used     integer NOT NULL,
	PRIMARY KEY (provider, day)
);
CREATE TABLE claims (
	provider   text        NOT NULL,
	params     text        NOT NULL,
	ioc_type   text        NOT NULL,
	value      bytea       NOT NULL,
	holder     text        NOT NULL,
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (provider, params, ioc_type, value)
);`},
	2: {"shared rate windows", `
CREATE TABLE rate_slots (
	provider   text        PRIMARY KEY,
	state      bytea       NOT NULL, -- pkg/ratelimit's window: its schedule, pause and recent requests
	updated_at timestamptz NOT NULL
);`},
}

// migrateLockID is the pg_advisory_xact_lock key that serialises schema
// migrations ("verdict" in ASCII, then 1).
const migrateLockID int64 = 0x7665726469637401

// Postgres is the Store that several hosts share: one PostgreSQL database
// through a pgxpool.Pool. Quota counts and claims are single-statement
// upserts, so they hold across hosts; the clock is the server's (measured
// once on open), so hosts agree on lease expiry and on the UTC day.
type Postgres struct {
	pool    *pgxpool.Pool
	desc    string
	secrets []string
	opts    options
	holder  string
	sslmode string
	local   bool // the server is on this machine: a Unix socket or a loopback address

	mu       sync.Mutex
	counters map[[2]string][2]int64
	closed   bool
}

var _ Store = (*Postgres)(nil)

// OpenPostgres connects to the PostgreSQL database that dsn names (a
// postgres:// or postgresql:// URL, or a libpq keyword/value string) and
// brings its schema up to date. PGPASSWORD, PGPASSFILE, ~/.pgpass, PGSSLMODE
// and the other PG* variables work as they do for libpq. The password never
// appears in its errors or in Describe.
func OpenPostgres(ctx context.Context, dsn string, opts ...Option) (*Postgres, error) {
	o := newOptions(opts)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse cache url: %w", scrubErr(err, dsnSecrets(dsn, nil)))
	}
	p := &Postgres{
		desc:     describeDSN(dsn, &cfg.ConnConfig.Config),
		secrets:  dsnSecrets(dsn, &cfg.ConnConfig.Config),
		sslmode:  sslMode(dsn),
		local:    localHost(cfg.ConnConfig.Host),
		opts:     o,
		holder:   newHolder(),
		counters: map[[2]string][2]int64{},
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		// The engine runs a few lookups per provider at once; each is a
		// short statement, so a handful of connections serves them.
		cfg.MaxConns = 8
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 15 * time.Second
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "verdict"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to cache %s: %w", p.desc, p.scrub(err))
	}
	p.pool = pool
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to cache %s: %w", p.desc, p.scrub(err))
	}
	if err := p.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrate cache %s: %w", p.desc, p.scrub(err))
	}
	if isDefaultClock(opts) {
		if err := p.syncClock(ctx); err != nil {
			pool.Close()
			return nil, fmt.Errorf("read clock of cache %s: %w", p.desc, p.scrub(err))
		}
	}
	return p, nil
}

// isDefaultClock reports whether no WithClock option was given.
func isDefaultClock(opts []Option) bool {
	var probe options
	for _, f := range opts {
		f(&probe)
	}
	return probe.now == nil
}

// syncClock makes the store's clock the server's: leases and quota days
// then agree across hosts whose clocks drift apart.
func (p *Postgres) syncClock(ctx context.Context) error {
	before := time.Now()
	var server time.Time
	if err := p.pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&server); err != nil {
		return err
	}
	after := time.Now()
	offset := server.Sub(before.Add(after.Sub(before) / 2))
	p.opts.now = func() time.Time { return time.Now().Add(offset) }
	return nil
}

func (p *Postgres) scrub(err error) error { return scrubErr(err, p.secrets) }

// migrate applies the missing migrations. Every process that starts at
// once takes the same transaction-scoped advisory lock, so the first one
// migrates and the others find the work done.
func (p *Postgres) migrate(ctx context.Context) error {
	latest := len(pgMigrations) - 1
	// Fast path: already migrated, no lock taken.
	var v int
	err := p.pool.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	if err == nil && v == latest {
		return nil
	}
	if err == nil && v > latest {
		return fmt.Errorf("cache schema version %d is newer than this verdict supports (%d): upgrade verdict", v, latest)
	}
	var pgErr *pgconn.PgError
	if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42P01") { // undefined_table
		return err
	}
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer     PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now(),
			applied_by text        NOT NULL
		)`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
			return err
		}
		if v > latest {
			return fmt.Errorf("cache schema version %d is newer than this verdict supports (%d): upgrade verdict", v, latest)
		}
		for i := v + 1; i <= latest; i++ {
			if _, err := tx.Exec(ctx, pgMigrations[i].sql); err != nil {
				return fmt.Errorf("migrate cache schema to version %d: %w", i, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_by) VALUES ($1, $2, $3)`,
				i, pgMigrations[i].name, p.holder); err != nil {
				return err
			}
		}
		return nil
	})
}

// Describe implements Store: the URL without its password.
func (p *Postgres) Describe() string { return p.desc }

// Get implements Cache.
func (p *Postgres) Get(ctx context.Context, k Key) (Entry, bool, error) {
	var e Entry
	err := p.pool.QueryRow(ctx,
		`SELECT status, data, fetched_at, expires_at FROM entries
		 WHERE provider = $1 AND params = $2 AND ioc_type = $3 AND value = $4 AND expires_at > $5`,
		k.Provider, k.Params, k.Type, []byte(k.Value), p.opts.now()).Scan(&e.Status, &e.Data, &e.FetchedAt, &e.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("read cache: %w", p.scrub(err))
	}
	e.FetchedAt, e.ExpiresAt = e.FetchedAt.UTC(), e.ExpiresAt.UTC()
	return e, true, nil
}

// GetMany implements Cache: one query per 5000 values.
func (p *Postgres) GetMany(ctx context.Context, provider, params, typ string, values []string) (map[string]Entry, error) {
	out := make(map[string]Entry)
	const chunk = 5000
	now := p.opts.now()
	for start := 0; start < len(values); start += chunk {
		part := make([][]byte, 0, min(chunk, len(values)-start))
		for _, v := range values[start:min(start+chunk, len(values))] {
			part = append(part, []byte(v))
		}
		rows, err := p.pool.Query(ctx,
			`SELECT value, status, data, fetched_at, expires_at FROM entries
			 WHERE provider = $1 AND params = $2 AND ioc_type = $3 AND expires_at > $4 AND value = ANY($5)`,
			provider, params, typ, now, part)
		if err != nil {
			return nil, fmt.Errorf("read cache: %w", p.scrub(err))
		}
		for rows.Next() {
			var v []byte
			var e Entry
			if err := rows.Scan(&v, &e.Status, &e.Data, &e.FetchedAt, &e.ExpiresAt); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read cache: %w", p.scrub(err))
			}
			e.FetchedAt, e.ExpiresAt = e.FetchedAt.UTC(), e.ExpiresAt.UTC()
			out[string(v)] = e
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read cache: %w", p.scrub(err))
		}
	}
	return out, nil
}

// Put implements Cache: one statement stores the answer and drops this
// handle's claim on it, committed before it returns.
func (p *Postgres) Put(ctx context.Context, k Key, e Entry, ttl time.Duration) error {
	now := p.opts.now()
	if e.FetchedAt.IsZero() {
		e.FetchedAt = now
	}
	if e.Data == nil {
		e.Data = []byte{} // NOT NULL, as in SQLite
	}
	_, err := p.pool.Exec(ctx,
		`WITH up AS (
		   INSERT INTO entries (provider, params, ioc_type, value, status, data, fetched_at, expires_at)
		   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		   ON CONFLICT (provider, params, ioc_type, value) DO UPDATE SET
		     status = EXCLUDED.status, data = EXCLUDED.data,
		     fetched_at = EXCLUDED.fetched_at, expires_at = EXCLUDED.expires_at
		 )
		 DELETE FROM claims WHERE provider = $1 AND params = $2 AND ioc_type = $3 AND value = $4 AND holder = $9`,
		k.Provider, k.Params, k.Type, []byte(k.Value), e.Status, e.Data, e.FetchedAt, now.Add(ttl), p.holder)
	if err != nil {
		return fmt.Errorf("write cache: %w", p.scrub(err))
	}
	return nil
}

// Claim implements Claims with one upsert: a new row, or an expired lease
// taken over, changes one row; a live lease changes none. Concurrent
// claimants of one key queue on its row lock, so exactly one wins.
func (p *Postgres) Claim(ctx context.Context, k Key, lease time.Duration) (bool, error) {
	now := p.opts.now()
	tag, err := p.pool.Exec(ctx,
		`INSERT INTO claims AS c (provider, params, ioc_type, value, holder, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
		 ON CONFLICT (provider, params, ioc_type, value) DO UPDATE SET
		   holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
		 WHERE c.expires_at <= $7`,
		k.Provider, k.Params, k.Type, []byte(k.Value), p.holder, now.Add(lease), now)
	if err != nil {
		return false, fmt.Errorf("claim cache key: %w", p.scrub(err))
	}
	return tag.RowsAffected() == 1, nil
}

// Release implements Claims.
func (p *Postgres) Release(ctx context.Context, k Key) error {
	_, err := p.pool.Exec(ctx,
		`DELETE FROM claims WHERE provider = $1 AND params = $2 AND ioc_type = $3 AND value = $4 AND holder = $5`,
		k.Provider, k.Params, k.Type, []byte(k.Value), p.holder)
	if err != nil {
		return fmt.Errorf("release cache claim: %w", p.scrub(err))
	}
	return nil
}

// Count implements Cache; counters are flushed on Stats and Close.
func (p *Postgres) Count(provider, typ string, hit bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	countHit(p.counters, provider, typ, hit)
}

// Flush writes buffered hit/miss counters in one batch.
func (p *Postgres) Flush(ctx context.Context) error {
	p.mu.Lock()
	pending := p.counters
	p.counters = map[[2]string][2]int64{}
	p.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for k, c := range pending {
		b.Queue(`INSERT INTO counters AS c (provider, ioc_type, hits, misses) VALUES ($1, $2, $3, $4)
			ON CONFLICT (provider, ioc_type) DO UPDATE SET hits = c.hits + EXCLUDED.hits, misses = c.misses + EXCLUDED.misses`,
			k[0], k[1], c[0], c[1])
	}
	if err := p.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("write cache counters: %w", p.scrub(err))
	}
	return nil
}

// Take implements Quota: one row per provider and day, grown by one
// statement only while under the limit, so a request is counted exactly
// once across all hosts and the limit is never passed.
func (p *Postgres) Take(ctx context.Context, provider string, limit int) (bool, error) {
	if limit <= 0 {
		return true, nil
	}
	tag, err := p.pool.Exec(ctx,
		`INSERT INTO quota AS q (provider, day, used) VALUES ($1, $2, 1)
		 ON CONFLICT (provider, day) DO UPDATE SET used = q.used + 1 WHERE q.used < $3`,
		provider, Day(p.opts.now()), limit)
	if err != nil {
		return false, fmt.Errorf("count quota: %w", p.scrub(err))
	}
	return tag.RowsAffected() == 1, nil
}

// Refund implements Quota.
func (p *Postgres) Refund(ctx context.Context, provider string) error {
	_, err := p.pool.Exec(ctx, `UPDATE quota SET used = used - 1 WHERE provider = $1 AND day = $2 AND used > 0`,
		provider, Day(p.opts.now()))
	if err != nil {
		return fmt.Errorf("refund quota: %w", p.scrub(err))
	}
	return nil
}

// Used implements Quota.
func (p *Postgres) Used(ctx context.Context, provider string) (int, error) {
	var n int
	err := p.pool.QueryRow(ctx, `SELECT used FROM quota WHERE provider = $1 AND day = $2`, provider, Day(p.opts.now())).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read quota: %w", p.scrub(err))
	}
	return n, nil
}

// Prune implements Cache.
func (p *Postgres) Prune(ctx context.Context, olderThan time.Duration) (int64, error) {
	now := p.opts.now()
	var n int64
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		var tag pgconn.CommandTag
		var err error
		if olderThan > 0 {
			tag, err = tx.Exec(ctx, `DELETE FROM entries WHERE expires_at <= $1 OR fetched_at < $2`, now, now.Add(-olderThan))
		} else {
			tag, err = tx.Exec(ctx, `DELETE FROM entries WHERE expires_at <= $1`, now)
		}
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		if _, err := tx.Exec(ctx, `DELETE FROM claims WHERE expires_at <= $1`, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM quota WHERE day < $1`, Day(now.Add(-48*time.Hour))); err != nil {
			return err
		}
		// A window nobody used for two days holds nothing a rate needs.
		_, err = tx.Exec(ctx, `DELETE FROM rate_slots WHERE updated_at < $1`, now.Add(-48*time.Hour))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune cache: %w", p.scrub(err))
	}
	return n, nil
}

// Clear implements Cache. DELETE rather than TRUNCATE: TRUNCATE would wait
// for, and then block, every other host's run.
func (p *Postgres) Clear(ctx context.Context) error {
	p.mu.Lock()
	p.counters = map[[2]string][2]int64{}
	p.mu.Unlock()
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM entries`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM counters`)
		return err
	})
	if err != nil {
		return fmt.Errorf("clear cache: %w", p.scrub(err))
	}
	return nil
}

// Stats implements Cache.
func (p *Postgres) Stats(ctx context.Context) (Stats, error) {
	if err := p.Flush(ctx); err != nil {
		return Stats{}, err
	}
	st, err := p.stats(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("cache stats: %w", p.scrub(err))
	}
	return st, nil
}

func (p *Postgres) stats(ctx context.Context) (Stats, error) {
	now := p.opts.now()
	st := Stats{Path: p.desc, Backend: "postgres"}
	groups := map[[2]string]*GroupStats{}
	get := func(pr, t string) *GroupStats {
		g := groups[[2]string{pr, t}]
		if g == nil {
			g = &GroupStats{Provider: pr, Type: t}
			groups[[2]string{pr, t}] = g
		}
		return g
	}
	rows, err := p.pool.Query(ctx,
		`SELECT provider, ioc_type, COUNT(*),
		        COUNT(*) FILTER (WHERE status = 'not_found'),
		        COUNT(*) FILTER (WHERE expires_at <= $1),
		        COALESCE(SUM(octet_length(data) + octet_length(value) + octet_length(params) + 32), 0)
		 FROM entries GROUP BY provider, ioc_type`, now)
	if err != nil {
		return Stats{}, err
	}
	var pr, t string
	var n, nf, exp, bytes int64
	_, err = pgx.ForEachRow(rows, []any{&pr, &t, &n, &nf, &exp, &bytes}, func() error {
		g := get(pr, t)
		g.Entries, g.NotFound, g.Expired, g.Bytes = n, nf, exp, bytes
		st.Entries += n
		st.Expired += exp
		return nil
	})
	if err != nil {
		return Stats{}, err
	}
	var h, m int64
	rows, err = p.pool.Query(ctx, `SELECT provider, ioc_type, hits, misses FROM counters`)
	if err != nil {
		return Stats{}, err
	}
	_, err = pgx.ForEachRow(rows, []any{&pr, &t, &h, &m}, func() error {
		g := get(pr, t)
		g.Hits, g.Misses = h, m
		return nil
	})
	if err != nil {
		return Stats{}, err
	}
	var q QuotaStats
	rows, err = p.pool.Query(ctx, `SELECT provider, day, used FROM quota WHERE day = $1 ORDER BY provider`, Day(now))
	if err != nil {
		return Stats{}, err
	}
	_, err = pgx.ForEachRow(rows, []any{&q.Provider, &q.Day, &q.Used}, func() error {
		st.QuotaUsed = append(st.QuotaUsed, q)
		return nil
	})
	if err != nil {
		return Stats{}, err
	}
	err = p.pool.QueryRow(ctx,
		`SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint
		 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname = current_schema() AND c.relkind = 'r'
		   AND c.relname IN ('entries', 'counters', 'quota', 'claims', 'rate_slots', 'schema_migrations')`).Scan(&st.SizeBytes)
	if err != nil {
		return Stats{}, err
	}
	st.Groups = sortedGroups(groups)
	return st, nil
}

// Close implements Cache: it flushes the counters and closes the pool.
func (p *Postgres) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := p.Flush(ctx)
	p.pool.Close() // pgxpool reports nothing: it waits for the connections to close
	return err
}

// PostgresInfo is what `verdict doctor` shows of a PostgreSQL cache's
// connection. None of it is secret.
type PostgresInfo struct {
	// URL is the connection without its password (Describe).
	URL string
	// SSLMode is the sslmode the connection string or PGSSLMODE asks for;
	// "" when neither does (libpq's and pgx's default, prefer).
	SSLMode string
	// TLS reports whether this connection is encrypted.
	TLS bool
	// Local reports whether the server is on this machine (a Unix socket
	// or a loopback address), where an unencrypted connection crosses no
	// network.
	Local bool
	// ServerVersion is the server's version string (server_version).
	ServerVersion string
	// Database and User are the names the connection ended up with.
	Database, User string
	// SchemaVersion is the cache schema the database holds; LatestSchema
	// the one this verdict applies.
	SchemaVersion, LatestSchema int
}

// Info reads the connection's facts from the server, in one query.
func (p *Postgres) Info(ctx context.Context) (PostgresInfo, error) {
	in := PostgresInfo{URL: p.desc, SSLMode: p.sslmode, Local: p.local, LatestSchema: len(pgMigrations) - 1}
	err := p.pool.QueryRow(ctx,
		`SELECT current_setting('server_version'), current_database(), current_user,
		        (SELECT COALESCE(MAX(version), 0) FROM schema_migrations),
		        COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)`).
		Scan(&in.ServerVersion, &in.Database, &in.User, &in.SchemaVersion, &in.TLS)
	if err != nil {
		return PostgresInfo{}, fmt.Errorf("read cache server facts: %w", p.scrub(err))
	}
	return in, nil
}

// localHost reports whether host (pgconn's: a name, an address or a socket
// directory) is this machine.
func localHost(host string) bool {
	if strings.HasPrefix(host, "/") || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
