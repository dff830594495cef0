package cache

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// FileName is the database file inside cache.dir.
const FileName = "verdict-cache.db"

const schemaVersion = "1"

const schema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries (
	provider   TEXT    NOT NULL,
	params     TEXT    NOT NULL,
	ioc_type   TEXT    NOT NULL,
	value      TEXT    NOT NULL,
	status     TEXT    NOT NULL,
	data       BLOB    NOT NULL,
	fetched_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (provider, params, ioc_type, value)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_expires ON entries (expires_at);
CREATE TABLE IF NOT EXISTS counters (
	provider TEXT    NOT NULL,
	ioc_type TEXT    NOT NULL,
	hits     INTEGER NOT NULL DEFAULT 0,
	misses   INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (provider, ioc_type)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS quota (
	provider TEXT    NOT NULL,
	day      TEXT    NOT NULL,
	used     INTEGER NOT NULL,
	PRIMARY KEY (provider, day)
) WITHOUT ROWID;
`

// SQLite is the on-disk Cache and Quota.
type SQLite struct {
	db   *sql.DB
	path string
	now  func() time.Time

	mu       sync.Mutex
	counters map[[2]string][2]int64 // (provider, type) -> hits, misses not yet flushed
	closed   bool
}

var (
	_ Cache = (*SQLite)(nil)
	_ Quota = (*SQLite)(nil)
)

// Option configures Open.
type Option func(*SQLite)

// WithClock injects the time source (tests).
func WithClock(now func() time.Time) Option { return func(s *SQLite) { s.now = now } }

// Open opens (creating if needed) the cache database in dir.
func Open(dir string, opts ...Option) (*SQLite, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create cache dir: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// WAL lets readers and one writer work at once across processes; the
	// busy timeout makes a second process wait for the write lock instead of
	// failing; synchronous=NORMAL in WAL mode survives a process kill (the
	// committed frames are in the WAL) at a fraction of FULL's cost.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(15000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(OFF)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + filepath.ToSlash(path) + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open cache %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	db.SetConnMaxIdleTime(time.Minute)
	s := &SQLite{db: db, path: path, now: time.Now, counters: map[[2]string][2]int64{}}
	for _, o := range opts {
		o(s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open cache %s: %w", path, err)
	}
	return s, nil
}

func (s *SQLite) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, schema); err != nil {
		return err
	}
	var v string
	err = tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('schema_version', ?)`, schemaVersion); err != nil {
			return err
		}
	case err != nil:
		return err
	case v != schemaVersion:
		return fmt.Errorf("cache schema version %s is not supported (want %s); run `verdict cache clear` or remove the file", v, schemaVersion)
	}
	return tx.Commit()
}

// Path is the database file.
func (s *SQLite) Path() string { return s.path }

// Get implements Cache.
func (s *SQLite) Get(ctx context.Context, k Key) (Entry, bool, error) {
	var e Entry
	var fetched, expires int64
	err := s.db.QueryRowContext(ctx,
		`SELECT status, data, fetched_at, expires_at FROM entries
		 WHERE provider = ? AND params = ? AND ioc_type = ? AND value = ? AND expires_at > ?`,
		k.Provider, k.Params, k.Type, k.Value, s.now().Unix()).Scan(&e.Status, &e.Data, &fetched, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("read cache: %w", err)
	}
	e.FetchedAt, e.ExpiresAt = time.Unix(fetched, 0).UTC(), time.Unix(expires, 0).UTC()
	return e, true, nil
}

// GetMany implements Cache.
func (s *SQLite) GetMany(ctx context.Context, provider, params, typ string, values []string) (map[string]Entry, error) {
	out := make(map[string]Entry)
	const chunk = 400 // well under SQLite's default limit of bound parameters
	now := s.now().Unix()
	for start := 0; start < len(values); start += chunk {
		part := values[start:min(start+chunk, len(values))]
		args := make([]any, 0, len(part)+4)
		args = append(args, provider, params, typ, now)
		q := strings.Builder{}
		q.WriteString(`SELECT value, status, data, fetched_at, expires_at FROM entries
		 WHERE provider = ? AND params = ? AND ioc_type = ? AND expires_at > ? AND value IN (`)
		for i, v := range part {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteByte('?')
			args = append(args, v)
		}
		q.WriteByte(')')
		rows, err := s.db.QueryContext(ctx, q.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("read cache: %w", err)
		}
		for rows.Next() {
			var v string
			var e Entry
			var fetched, expires int64
			if err := rows.Scan(&v, &e.Status, &e.Data, &fetched, &expires); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read cache: %w", err)
			}
			e.FetchedAt, e.ExpiresAt = time.Unix(fetched, 0).UTC(), time.Unix(expires, 0).UTC()
			out[v] = e
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read cache: %w", err)
		}
	}
	return out, nil
}

// Put implements Cache. Each Put is its own short transaction, so a crash
// keeps every answer stored before it.
func (s *SQLite) Put(ctx context.Context, k Key, e Entry, ttl time.Duration) error {
	now := s.now()
	if e.FetchedAt.IsZero() {
		e.FetchedAt = now
	}
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO entries (provider, params, ioc_type, value, status, data, fetched_at, expires_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (provider, params, ioc_type, value) DO UPDATE SET
		   status = excluded.status, data = excluded.data,
		   fetched_at = excluded.fetched_at, expires_at = excluded.expires_at`,
		k.Provider, k.Params, k.Type, k.Value, e.Status, e.Data, e.FetchedAt.Unix(), now.Add(ttl).Unix())
	if err != nil {
		return fmt.Errorf("write cache: %w", err)
	}
	return nil
}

// Count implements Cache; counters are flushed in one transaction on Close.
func (s *SQLite) Count(provider, typ string, hit bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counters[[2]string{provider, typ}]
	if hit {
		c[0]++
	} else {
		c[1]++
	}
	s.counters[[2]string{provider, typ}] = c
}

// Flush writes buffered hit/miss counters.
func (s *SQLite) Flush(ctx context.Context) error {
	s.mu.Lock()
	pending := s.counters
	s.counters = map[[2]string][2]int64{}
	s.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for k, c := range pending {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO counters (provider, ioc_type, hits, misses) VALUES (?, ?, ?, ?)
			 ON CONFLICT (provider, ioc_type) DO UPDATE SET hits = hits + excluded.hits, misses = misses + excluded.misses`,
			k[0], k[1], c[0], c[1]); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Take implements Quota with one atomic upsert: the row only grows while it
// is under the limit, so two processes can never both take the last unit.
func (s *SQLite) Take(ctx context.Context, provider string, limit int) (bool, error) {
	if limit <= 0 {
		return true, nil
	}
	res, err := s.db.ExecContext(ctx,
		`INSERT INTO quota (provider, day, used) VALUES (?, ?, 1)
		 ON CONFLICT (provider, day) DO UPDATE SET used = used + 1 WHERE used < ?`,
		provider, Day(s.now()), limit)
	if err != nil {
		return false, fmt.Errorf("count quota: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// Used implements Quota.
func (s *SQLite) Used(ctx context.Context, provider string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT used FROM quota WHERE provider = ? AND day = ?`, provider, Day(s.now())).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

// Prune implements Cache.
func (s *SQLite) Prune(ctx context.Context, olderThan time.Duration) (int64, error) {
	now := s.now()
	var res sql.Result
	var err error
	if olderThan > 0 {
		res, err = s.db.ExecContext(ctx, `DELETE FROM entries WHERE expires_at <= ? OR fetched_at < ?`, now.Unix(), now.Add(-olderThan).Unix())
	} else {
		res, err = s.db.ExecContext(ctx, `DELETE FROM entries WHERE expires_at <= ?`, now.Unix())
	}
	if err != nil {
		return 0, fmt.Errorf("prune cache: %w", err)
	}
	// Old quota days are history nobody needs.
	if _, err := s.db.ExecContext(ctx, `DELETE FROM quota WHERE day < ?`, Day(now.Add(-48*time.Hour))); err != nil {
		return 0, fmt.Errorf("prune cache: %w", err)
	}
	n, _ := res.RowsAffected()
	s.checkpoint(ctx)
	return n, nil
}

// Clear implements Cache.
func (s *SQLite) Clear(ctx context.Context) error {
	s.mu.Lock()
	s.counters = map[[2]string][2]int64{}
	s.mu.Unlock()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM entries; DELETE FROM counters;`); err != nil {
		return fmt.Errorf("clear cache: %w", err)
	}
	s.checkpoint(ctx)
	_, _ = s.db.ExecContext(ctx, `VACUUM`)
	return nil
}

// checkpoint folds the WAL back into the main file so size figures are true.
func (s *SQLite) checkpoint(ctx context.Context) {
	_, _ = s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
}

// Stats implements Cache.
func (s *SQLite) Stats(ctx context.Context) (Stats, error) {
	if err := s.Flush(ctx); err != nil {
		return Stats{}, err
	}
	now := s.now().Unix()
	st := Stats{Path: s.path}
	groups := map[[2]string]*GroupStats{}
	get := func(p, t string) *GroupStats {
		g := groups[[2]string{p, t}]
		if g == nil {
			g = &GroupStats{Provider: p, Type: t}
			groups[[2]string{p, t}] = g
		}
		return g
	}
	rows, err := s.db.QueryContext(ctx,
		`SELECT provider, ioc_type, COUNT(*),
		        SUM(CASE WHEN status = 'not_found' THEN 1 ELSE 0 END),
		        SUM(CASE WHEN expires_at <= ? THEN 1 ELSE 0 END),
		        SUM(LENGTH(data) + LENGTH(value) + LENGTH(params) + 32)
		 FROM entries GROUP BY provider, ioc_type`, now)
	if err != nil {
		return Stats{}, fmt.Errorf("cache stats: %w", err)
	}
	for rows.Next() {
		var p, t string
		var n, nf, exp, bytes int64
		if err := rows.Scan(&p, &t, &n, &nf, &exp, &bytes); err != nil {
			rows.Close()
			return Stats{}, err
		}
		g := get(p, t)
		g.Entries, g.NotFound, g.Expired, g.Bytes = n, nf, exp, bytes
		st.Entries += n
		st.Expired += exp
	}
	rows.Close()
	rows, err = s.db.QueryContext(ctx, `SELECT provider, ioc_type, hits, misses FROM counters`)
	if err != nil {
		return Stats{}, fmt.Errorf("cache stats: %w", err)
	}
	for rows.Next() {
		var p, t string
		var h, m int64
		if err := rows.Scan(&p, &t, &h, &m); err != nil {
			rows.Close()
			return Stats{}, err
		}
		g := get(p, t)
		g.Hits, g.Misses = h, m
	}
	rows.Close()
	rows, err = s.db.QueryContext(ctx, `SELECT provider, day, used FROM quota WHERE day = ? ORDER BY provider`, Day(s.now()))
	if err != nil {
		return Stats{}, fmt.Errorf("cache stats: %w", err)
	}
	for rows.Next() {
		var q QuotaStats
		if err := rows.Scan(&q.Provider, &q.Day, &q.Used); err != nil {
			rows.Close()
			return Stats{}, err
		}
		st.QuotaUsed = append(st.QuotaUsed, q)
	}
	rows.Close()
	for _, g := range groups {
		st.Groups = append(st.Groups, *g)
	}
	sort.Slice(st.Groups, func(i, j int) bool {
		if st.Groups[i].Provider != st.Groups[j].Provider {
			return st.Groups[i].Provider < st.Groups[j].Provider
		}
		return st.Groups[i].Type < st.Groups[j].Type
	})
	for _, f := range []string{s.path, s.path + "-wal", s.path + "-shm"} {
		if fi, err := os.Stat(f); err == nil {
			st.SizeBytes += fi.Size()
		}
	}
	return st, nil
}

// Close implements Cache.
func (s *SQLite) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ferr := s.Flush(ctx)
	return errors.Join(ferr, s.db.Close())
}
