package cache

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// FileName is the database file inside cache.dir.
const FileName = "verdict-cache.db"

// sqliteMigrations are applied in order; the file's meta.schema_version is
// how many have been. Version 1 is the schema verdict first shipped, so
// existing caches upgrade in place.
var sqliteMigrations = []string{
	1: `
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
) WITHOUT ROWID;`,
	2: `
CREATE TABLE IF NOT EXISTS claims (
	provider   TEXT    NOT NULL,
	params     TEXT    NOT NULL,
	ioc_type   TEXT    NOT NULL,
	value      TEXT    NOT NULL,
	holder     TEXT    NOT NULL,
	expires_at INTEGER NOT NULL, -- unix milliseconds
	PRIMARY KEY (provider, params, ioc_type, value)
) WITHOUT ROWID;`,
	3: `
CREATE TABLE IF NOT EXISTS rate_slots (
	provider   TEXT    NOT NULL PRIMARY KEY,
	state      BLOB    NOT NULL, -- pkg/ratelimit's window: its schedule, pause and recent requests
	updated_at INTEGER NOT NULL  -- unix milliseconds
) WITHOUT ROWID;`,
}

// DefaultQuickCheckLimit is the largest file that Open checks with PRAGMA
// quick_check, which reads every page. Measured (BenchmarkQuickCheck, warm
// page cache, a shared 2-core VM): 100k answers are a 45 MiB file checked
// in 0.15-0.49 s, 1M answers a 449 MiB file in 3.4 s, 3-11 ms per MiB. At
// 64 MiB (about 140k answers) the check costs at most ~0.3-0.7 s per run.
// Larger files are checked when SQLite first reports SQLITE_CORRUPT or
// SQLITE_NOTADB, or when the header says the file is shorter than it
// should be, and healed then.
const DefaultQuickCheckLimit = 64 << 20

// SQLite is the on-disk Store for the processes of one host.
//
// A corrupt file (not a SQLite database, a truncated one, or one failing
// PRAGMA quick_check on open or SQLITE_CORRUPT later) is moved aside as
// FILE.corrupt-TIMESTAMP with its -wal and -shm, a fresh one takes its
// place, and the logger says so. A file or directory this process cannot
// write is read and not written: answers, quota and claims of this run then
// live in memory, on top of what the file holds, with one warning.
type SQLite struct {
	path   string
	opts   options
	holder string

	dbMu      sync.RWMutex
	db        *sql.DB     // nil when the file cannot be used at all
	ident     os.FileInfo // the file db was opened on: heal moves only that one
	readOnly  bool
	mem       *Memory           // read-only: this run's answers, quota and claims
	fileQuota map[[2]string]int // read-only: the file's quota counts, read once per provider and day

	mu       sync.Mutex
	counters map[[2]string][2]int64 // (provider, type) -> hits, misses not yet flushed
	closed   bool
}

var _ Store = (*SQLite)(nil)

type options struct {
	now           func() time.Time
	log           *slog.Logger
	quickCheckMax int64
}

// Option configures Open, OpenFile and OpenPostgres.
type Option func(*options)

// WithClock injects the time source (tests).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithLogger sets where one-line warnings go (a healed corrupt file, a
// read-only cache). nil means slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithQuickCheckLimit runs PRAGMA quick_check on open when the file is at
// most n bytes; n < 0 never does (default DefaultQuickCheckLimit).
func WithQuickCheckLimit(n int64) Option { return func(o *options) { o.quickCheckMax = n } }

func newOptions(opts []Option) options {
	o := options{quickCheckMax: DefaultQuickCheckLimit}
	for _, f := range opts {
		f(&o)
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	return o
}

// Open opens (creating if needed) the cache database FileName in dir.
func Open(dir string, opts ...Option) (*SQLite, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create cache dir: %w", err)
	}
	return OpenFile(filepath.Join(dir, FileName), opts...)
}

// OpenFile opens (creating if needed) the cache database at path. The path
// is a file path, never a URI: '?', '#' and '%' are part of the name.
func OpenFile(path string, opts ...Option) (*SQLite, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open cache %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("create cache dir: %w", err)
	}
	s := &SQLite{path: abs, opts: newOptions(opts), holder: newHolder(), counters: map[[2]string][2]int64{}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.open(ctx); err != nil {
		return nil, fmt.Errorf("open cache %s: %w", abs, err)
	}
	return s, nil
}

func (s *SQLite) open(ctx context.Context) error {
	acc, err := probeAccess(s.path)
	if err != nil {
		return err
	}
	if !acc.writable {
		if !acc.exists {
			return fmt.Errorf("cannot create the database: %s", acc.why)
		}
		return s.openReadOnly(ctx, acc.why)
	}
	check := false
	var ident os.FileInfo // the file this open looked at, the only one it may move aside
	if acc.exists {
		sn := sniff(s.path)
		ident = sn.ident
		switch {
		case sn.bad != "":
			if err := s.moveAside(sn.ident, sn.bad); err != nil {
				return err
			}
			ident = nil
		case sn.short:
			check = true // the header promises more pages than the file has
		case s.opts.quickCheckMax >= 0 && sn.size <= s.opts.quickCheckMax:
			check = sn.size > 0
		}
	}
	err = s.openRW(ctx)
	if err == nil && check {
		err = s.quickCheck(ctx)
	}
	if err != nil && isCorrupt(err) {
		if s.db != nil {
			ident = s.ident
		}
		quota := s.salvageAndClose(ctx)
		if ident == nil {
			// The file was created after sniffing (by this open or by
			// another process) and is already corrupt: very unlikely, and
			// not ours to move.
			return err
		}
		if merr := s.moveAside(ident, err.Error()); merr != nil {
			return errors.Join(err, merr)
		}
		if err = s.openRW(ctx); err == nil {
			err = s.restoreQuota(ctx, quota)
		}
	}
	return err
}

// openRW opens the pool on s.path and brings the schema up to date.
func (s *SQLite) openRW(ctx context.Context) error {
	db, err := sql.Open("sqlite", sqliteDSN(s.path, "rw"))
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(4)
	db.SetConnMaxIdleTime(time.Minute)
	// SQLite answers SQLITE_BUSY at once, without the busy timeout, in a
	// few places: switching a new file to WAL while another process does
	// the same, or reading the WAL index while another connection rebuilds
	// it. Ten cron jobs starting on one new cache hit them: wait a little
	// and try again, within ctx.
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		err = migrateSQLite(ctx, db)
		if err == nil || !isBusy(err) {
			break
		}
		t := time.NewTimer(wait/2 + rand.N(wait))
		select {
		case <-ctx.Done():
			t.Stop()
			_ = db.Close()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
	if err != nil {
		_ = db.Close()
		return err
	}
	s.db = db
	s.ident, _ = os.Stat(s.path)
	return nil
}

// openReadOnly opens a cache this process cannot write.
func (s *SQLite) openReadOnly(ctx context.Context, why string) error {
	s.readOnly = true
	s.mem = NewMemory(s.opts.now)
	s.fileQuota = map[[2]string]int{}
	if sn := sniff(s.path); sn.bad != "" {
		s.opts.log.Warn("cache file is corrupt and read-only: running without it (answers and quota are kept in memory for this run)", "path", s.path, "cause", sn.bad)
		return nil
	}
	// mode=ro needs the -shm (and -wal) to exist or to be creatable; a WAL
	// database in a read-only directory whose last writer closed cleanly has
	// neither, and then only immutable=1 opens it (safe, since there is no
	// WAL whose frames it would ignore).
	var errs []error
	for _, mode := range []string{"ro", "immutable"} {
		db, err := sql.Open("sqlite", sqliteDSN(s.path, mode))
		if err == nil {
			var v int
			err = db.QueryRowContext(ctx, `SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'schema_version'`).Scan(&v)
			if latest := len(sqliteMigrations) - 1; err == nil && v > latest {
				_ = db.Close()
				return fmt.Errorf("cache schema version %d is newer than this verdict supports (%d): upgrade verdict", v, latest)
			}
			if err == nil || errors.Is(err, sql.ErrNoRows) {
				s.db = db
				break
			}
			_ = db.Close()
		}
		if isCorrupt(err) {
			s.opts.log.Warn("cache file is corrupt and read-only: running without it (answers and quota are kept in memory for this run)", "path", s.path, "cause", err.Error())
			return nil
		}
		errs = append(errs, err)
	}
	if s.db == nil {
		return fmt.Errorf("open read-only cache: %w", errors.Join(errs...))
	}
	s.opts.log.Warn("cache is read-only: answers are read but not stored, and the daily quota is counted for this run only", "path", s.path, "reason", why)
	return nil
}

// sqliteDSN builds the driver's URI for path. modernc.org/sqlite hands a
// "file:" DSN to SQLite as a URI, which decodes %HH in the path: escaping
// '%', '?' and '#' keeps a directory named "a?b" or "50%" where it is.
func sqliteDSN(path, mode string) string {
	q := url.Values{}
	// The busy timeout makes a second process wait for the write lock
	// instead of failing.
	q.Add("_pragma", "busy_timeout(15000)")
	q.Add("_pragma", "foreign_keys(OFF)")
	switch mode {
	case "rw":
		// WAL lets readers and one writer work at once across processes;
		// synchronous=NORMAL in WAL mode survives a process kill (the
		// committed frames are in the WAL) at a fraction of FULL's cost.
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
	case "ro":
		q.Set("mode", "ro")
	case "immutable":
		q.Set("mode", "ro")
		q.Set("immutable", "1")
	case "salvage":
		q.Add("_pragma", "writable_schema(1)")
		q.Add("_pragma", "query_only(1)")
	}
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows volume: file:/C:/...
	}
	p = strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(p)
	return "file:" + p + "?" + q.Encode()
}

func migrateSQLite(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: one process migrates at a time
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`); err != nil {
		return err
	}
	var v int
	err = tx.QueryRowContext(ctx, `SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'schema_version'`).Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	latest := len(sqliteMigrations) - 1
	if v > latest {
		return fmt.Errorf("cache schema version %d is newer than this verdict supports (%d): upgrade verdict, or run `verdict cache clear` after removing the file", v, latest)
	}
	if v == latest {
		return tx.Commit()
	}
	for i := v + 1; i <= latest; i++ {
		if _, err := tx.ExecContext(ctx, sqliteMigrations[i]); err != nil {
			return fmt.Errorf("migrate cache schema to version %d: %w", i, err)
		}
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
		fmt.Sprint(latest)); err != nil {
		return err
	}
	return tx.Commit()
}

// quickCheck runs PRAGMA quick_check: O(file size), but it finds corrupt
// pages before a run depends on them.
func (s *SQLite) quickCheck(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `PRAGMA quick_check(5)`)
	if err != nil {
		return err
	}
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			_ = rows.Close()
			return err
		}
		msgs = append(msgs, m)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	if len(msgs) == 1 && msgs[0] == "ok" {
		return nil
	}
	return &corruptError{msg: "quick_check: " + strings.Join(msgs, "; ")}
}

// corruptError is an integrity check failure found by verdict itself.
type corruptError struct{ msg string }

func (e *corruptError) Error() string { return "database disk image is malformed: " + e.msg }

// isBusy reports SQLITE_BUSY (and its extended codes): another connection
// holds a lock this one could not wait for.
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == 5
}

// isCorrupt reports SQLITE_CORRUPT and SQLITE_NOTADB (and their extended
// codes), the errors that a fresh file cures.
func isCorrupt(err error) bool {
	if err == nil {
		return false
	}
	var ce *corruptError
	if errors.As(err, &ce) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case 11, 26: // SQLITE_CORRUPT, SQLITE_NOTADB
			return true
		}
	}
	return false
}

// errUnusable is returned by do when there is no database to use (a
// corrupt file that could not be replaced): read-only mode then serves from
// memory.
var errUnusable = errors.New("cache database unusable")

// do runs fn on the pool. On the first sign of corruption it moves the file
// aside, opens a fresh one and runs fn once more.
func (s *SQLite) do(ctx context.Context, fn func(db *sql.DB) error) error {
	s.dbMu.RLock()
	db := s.db
	var err error
	if db == nil {
		err = errUnusable
	} else {
		err = fn(db)
	}
	s.dbMu.RUnlock()
	if !isCorrupt(err) {
		return err
	}
	if herr := s.heal(ctx, db, err); herr != nil {
		return errors.Join(err, herr)
	}
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	if s.db == nil {
		return errUnusable
	}
	return fn(s.db)
}

// heal replaces the corrupt database that old was opened on.
func (s *SQLite) heal(ctx context.Context, old *sql.DB, cause error) error {
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	if s.db != old {
		return nil // another goroutine healed it already
	}
	ctx = context.WithoutCancel(ctx)
	if s.readOnly {
		_ = s.db.Close()
		s.db = nil
		s.opts.log.Warn("cache file is corrupt and read-only: running without it (answers and quota are kept in memory for this run)", "path", s.path, "cause", cause.Error())
		return nil
	}
	quota := s.salvageAndClose(ctx)
	if err := s.moveAside(s.ident, cause.Error()); err != nil {
		return err
	}
	if err := s.openRW(ctx); err != nil {
		return err
	}
	return s.restoreQuota(ctx, quota)
}

// restoreQuota writes the counts salvaged from a corrupt file into the
// fresh one: those requests were spent.
func (s *SQLite) restoreQuota(ctx context.Context, quota []QuotaStats) error {
	for _, q := range quota {
		if _, err := s.db.ExecContext(ctx,
			`INSERT INTO quota (provider, day, used) VALUES (?, ?, ?)
			 ON CONFLICT (provider, day) DO UPDATE SET used = MAX(used, excluded.used)`, q.Provider, q.Day, q.Used); err != nil {
			return fmt.Errorf("restore quota counts: %w", err)
		}
	}
	return nil
}

// salvageAndClose reads what it can of the recent quota counts (the
// requests were spent whatever became of the answers) and closes the pool.
func (s *SQLite) salvageAndClose(ctx context.Context) []QuotaStats {
	q := s.salvageQuota(ctx)
	if s.db != nil {
		_ = s.db.Close()
		s.db = nil
	}
	return q
}

// salvageQuota reads today's and yesterday's quota rows from the corrupt
// file through a connection of its own: with writable_schema on, SQLite
// reads a file shorter than its header says instead of refusing it (as
// the sqlite3 shell's .recover does). Best effort: nothing on failure.
func (s *SQLite) salvageQuota(ctx context.Context) []QuotaStats {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	db, err := sql.Open("sqlite", sqliteDSN(s.path, "salvage"))
	if err != nil {
		return nil
	}
	defer db.Close()
	var out []QuotaStats
	rows, err := db.QueryContext(ctx, `SELECT provider, day, used FROM quota WHERE day >= ?`, Day(s.opts.now().Add(-24*time.Hour)))
	if err != nil {
		return nil
	}
	defer rows.Close()
	for rows.Next() {
		var q QuotaStats
		if rows.Scan(&q.Provider, &q.Day, &q.Used) != nil {
			break
		}
		out = append(out, q)
	}
	return out
}

// moveAside renames the corrupt file (and its -wal and -shm) out of the way,
// unless another process has already replaced it (ident is the file that
// was found corrupt; nil means whatever is there).
func (s *SQLite) moveAside(ident os.FileInfo, cause string) error {
	cur, err := os.Stat(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // someone else moved it
	}
	if err != nil {
		return fmt.Errorf("move corrupt cache aside: %w", err)
	}
	if ident != nil && !os.SameFile(cur, ident) {
		return nil // already replaced by another process
	}
	stamp := time.Now().UTC().Format("20060102T150405Z")
	aside := s.path + ".corrupt-" + stamp
	for n := 2; ; n++ {
		if _, err := os.Lstat(aside); errors.Is(err, os.ErrNotExist) {
			break
		}
		aside = fmt.Sprintf("%s.corrupt-%s-%d", s.path, stamp, n)
	}
	if err := os.Rename(s.path, aside); err != nil {
		return fmt.Errorf("move corrupt cache aside: %w", err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Rename(s.path+suffix, aside+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			// A stale -wal would be replayed into the fresh file: remove it.
			_ = os.Remove(s.path + suffix)
		}
	}
	s.opts.log.Warn("cache file was corrupt: moved it aside and started an empty cache", "path", s.path, "moved_to", aside, "cause", cause)
	return nil
}

// Path is the database file.
func (s *SQLite) Path() string { return s.path }

// Describe implements Store.
func (s *SQLite) Describe() string { return s.path }

// ReadOnly reports whether the cache is read and not written.
func (s *SQLite) ReadOnly() bool { return s.readOnly }

func scanEntry(fetched, expires int64, e *Entry) {
	e.FetchedAt, e.ExpiresAt = time.Unix(fetched, 0).UTC(), time.Unix(expires, 0).UTC()
}

// Get implements Cache.
func (s *SQLite) Get(ctx context.Context, k Key) (Entry, bool, error) {
	if s.readOnly {
		if e, ok, _ := s.mem.Get(ctx, k); ok {
			return e, true, nil
		}
	}
	var e Entry
	var found bool
	err := s.do(ctx, func(db *sql.DB) error {
		var fetched, expires int64
		err := db.QueryRowContext(ctx,
			`SELECT status, data, fetched_at, expires_at FROM entries
			 WHERE provider = ? AND params = ? AND ioc_type = ? AND value = ? AND expires_at > ?`,
			k.Provider, k.Params, k.Type, k.Value, s.opts.now().Unix()).Scan(&e.Status, &e.Data, &fetched, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			found = false
			return nil
		}
		if err != nil {
			return err
		}
		scanEntry(fetched, expires, &e)
		found = true
		return nil
	})
	if errors.Is(err, errUnusable) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("read cache: %w", err)
	}
	if !found {
		return Entry{}, false, nil
	}
	return e, true, nil
}

// GetMany implements Cache.
func (s *SQLite) GetMany(ctx context.Context, provider, params, typ string, values []string) (map[string]Entry, error) {
	out := make(map[string]Entry)
	if s.readOnly {
		mine, _ := s.mem.GetMany(ctx, provider, params, typ, values)
		for v, e := range mine {
			out[v] = e
		}
	}
	const chunk = 400 // well under SQLite's default limit of bound parameters
	now := s.opts.now().Unix()
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
		got := map[string]Entry{}
		err := s.do(ctx, func(db *sql.DB) error {
			clear(got) // a retry after healing starts over
			rows, err := db.QueryContext(ctx, q.String(), args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var v string
				var e Entry
				var fetched, expires int64
				if err := rows.Scan(&v, &e.Status, &e.Data, &fetched, &expires); err != nil {
					_ = rows.Close()
					return err
				}
				scanEntry(fetched, expires, &e)
				got[v] = e
			}
			return errors.Join(rows.Err(), rows.Close())
		})
		if errors.Is(err, errUnusable) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read cache: %w", err)
		}
		for v, e := range got {
			if _, ok := out[v]; !ok {
				out[v] = e
			}
		}
	}
	return out, nil
}

// Put implements Cache. Each Put is its own short transaction, so a crash
// keeps every answer stored before it; it also drops this handle's claim.
func (s *SQLite) Put(ctx context.Context, k Key, e Entry, ttl time.Duration) error {
	if s.readOnly {
		return s.mem.Put(ctx, k, e, ttl)
	}
	now := s.opts.now()
	if e.FetchedAt.IsZero() {
		e.FetchedAt = now
	}
	if e.Data == nil {
		e.Data = []byte{} // the column is NOT NULL; nil and empty are the same answer
	}
	err := s.do(ctx, func(db *sql.DB) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO entries (provider, params, ioc_type, value, status, data, fetched_at, expires_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			 ON CONFLICT (provider, params, ioc_type, value) DO UPDATE SET
			   status = excluded.status, data = excluded.data,
			   fetched_at = excluded.fetched_at, expires_at = excluded.expires_at`,
			k.Provider, k.Params, k.Type, k.Value, e.Status, e.Data, e.FetchedAt.Unix(), now.Add(ttl).Unix()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`DELETE FROM claims WHERE provider = ? AND params = ? AND ioc_type = ? AND value = ? AND holder = ?`,
			k.Provider, k.Params, k.Type, k.Value, s.holder); err != nil {
			return err
		}
		return tx.Commit()
	})
	if err != nil {
		return fmt.Errorf("write cache: %w", err)
	}
	return nil
}

// Claim implements Claims with one upsert: a new row, or an expired lease
// taken over, changes one row; a live lease changes none.
func (s *SQLite) Claim(ctx context.Context, k Key, lease time.Duration) (bool, error) {
	if s.readOnly {
		return s.mem.Claim(ctx, k, lease)
	}
	now := s.opts.now()
	var n int64
	err := s.do(ctx, func(db *sql.DB) error {
		res, err := db.ExecContext(ctx,
			`INSERT INTO claims (provider, params, ioc_type, value, holder, expires_at) VALUES (?, ?, ?, ?, ?, ?)
			 ON CONFLICT (provider, params, ioc_type, value) DO UPDATE SET
			   holder = excluded.holder, expires_at = excluded.expires_at
			 WHERE claims.expires_at <= ?`,
			k.Provider, k.Params, k.Type, k.Value, s.holder, now.Add(lease).UnixMilli(), now.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claim cache key: %w", err)
	}
	return n == 1, nil
}

// Release implements Claims.
func (s *SQLite) Release(ctx context.Context, k Key) error {
	if s.readOnly {
		return s.mem.Release(ctx, k)
	}
	err := s.do(ctx, func(db *sql.DB) error {
		_, err := db.ExecContext(ctx,
			`DELETE FROM claims WHERE provider = ? AND params = ? AND ioc_type = ? AND value = ? AND holder = ?`,
			k.Provider, k.Params, k.Type, k.Value, s.holder)
		return err
	})
	if err != nil {
		return fmt.Errorf("release cache claim: %w", err)
	}
	return nil
}

// Count implements Cache; counters are flushed in one transaction on Close.
func (s *SQLite) Count(provider, typ string, hit bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	countHit(s.counters, provider, typ, hit)
}

// Flush writes buffered hit/miss counters (a read-only cache drops them).
func (s *SQLite) Flush(ctx context.Context) error {
	s.mu.Lock()
	pending := s.counters
	s.counters = map[[2]string][2]int64{}
	s.mu.Unlock()
	if len(pending) == 0 || s.readOnly {
		return nil
	}
	err := s.do(ctx, func(db *sql.DB) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		for k, c := range pending {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO counters (provider, ioc_type, hits, misses) VALUES (?, ?, ?, ?)
				 ON CONFLICT (provider, ioc_type) DO UPDATE SET hits = hits + excluded.hits, misses = misses + excluded.misses`,
				k[0], k[1], c[0], c[1]); err != nil {
				return err
			}
		}
		return tx.Commit()
	})
	if err != nil {
		return fmt.Errorf("write cache counters: %w", err)
	}
	return nil
}

// Take implements Quota with one atomic upsert: the row only grows while it
// is under the limit, so two processes can never both take the last unit.
func (s *SQLite) Take(ctx context.Context, provider string, limit int) (bool, error) {
	if limit <= 0 {
		return true, nil
	}
	if s.readOnly {
		used, err := s.fileUsed(ctx, provider)
		if err != nil {
			return false, err
		}
		if used >= limit {
			return false, nil
		}
		return s.mem.Take(ctx, provider, limit-used)
	}
	var n int64
	err := s.do(ctx, func(db *sql.DB) error {
		res, err := db.ExecContext(ctx,
			`INSERT INTO quota (provider, day, used) VALUES (?, ?, 1)
			 ON CONFLICT (provider, day) DO UPDATE SET used = used + 1 WHERE used < ?`,
			provider, Day(s.opts.now()), limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("count quota: %w", err)
	}
	return n == 1, nil
}

// Refund implements Quota.
func (s *SQLite) Refund(ctx context.Context, provider string) error {
	if s.readOnly {
		return s.mem.Refund(ctx, provider)
	}
	err := s.do(ctx, func(db *sql.DB) error {
		_, err := db.ExecContext(ctx, `UPDATE quota SET used = used - 1 WHERE provider = ? AND day = ? AND used > 0`,
			provider, Day(s.opts.now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("refund quota: %w", err)
	}
	return nil
}

// Used implements Quota.
func (s *SQLite) Used(ctx context.Context, provider string) (int, error) {
	if s.readOnly {
		used, err := s.fileUsed(ctx, provider)
		if err != nil {
			return 0, err
		}
		mine, _ := s.mem.Used(ctx, provider)
		return used + mine, nil
	}
	n, err := s.dbUsed(ctx, provider)
	if err != nil {
		return 0, fmt.Errorf("read quota: %w", err)
	}
	return n, nil
}

func (s *SQLite) dbUsed(ctx context.Context, provider string) (int, error) {
	var n int
	err := s.do(ctx, func(db *sql.DB) error {
		err := db.QueryRowContext(ctx, `SELECT used FROM quota WHERE provider = ? AND day = ?`, provider, Day(s.opts.now())).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			n = 0
			return nil
		}
		return err
	})
	if errors.Is(err, errUnusable) {
		return 0, nil
	}
	return n, err
}

// fileUsed is a read-only cache's count for today as the file had it when
// first asked: other processes may still spend, but this one cannot record
// its own requests there, so it counts them on top in memory.
func (s *SQLite) fileUsed(ctx context.Context, provider string) (int, error) {
	k := [2]string{provider, Day(s.opts.now())}
	s.mu.Lock()
	n, ok := s.fileQuota[k]
	s.mu.Unlock()
	if ok {
		return n, nil
	}
	n, err := s.dbUsed(ctx, provider)
	if err != nil {
		return 0, fmt.Errorf("read quota: %w", err)
	}
	s.mu.Lock()
	s.fileQuota[k] = n
	s.mu.Unlock()
	return n, nil
}

// Prune implements Cache.
func (s *SQLite) Prune(ctx context.Context, olderThan time.Duration) (int64, error) {
	if s.readOnly {
		return 0, fmt.Errorf("prune cache %s: %w", s.path, ErrReadOnly)
	}
	now := s.opts.now()
	var n int64
	err := s.do(ctx, func(db *sql.DB) error {
		var res sql.Result
		var err error
		if olderThan > 0 {
			res, err = db.ExecContext(ctx, `DELETE FROM entries WHERE expires_at <= ? OR fetched_at < ?`, now.Unix(), now.Add(-olderThan).Unix())
		} else {
			res, err = db.ExecContext(ctx, `DELETE FROM entries WHERE expires_at <= ?`, now.Unix())
		}
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if _, err := db.ExecContext(ctx, `DELETE FROM claims WHERE expires_at <= ?`, now.UnixMilli()); err != nil {
			return err
		}
		// Old quota days are history nobody needs.
		if _, err := db.ExecContext(ctx, `DELETE FROM quota WHERE day < ?`, Day(now.Add(-48*time.Hour))); err != nil {
			return err
		}
		// So is a rate window nobody used for two days.
		_, err = db.ExecContext(ctx, `DELETE FROM rate_slots WHERE updated_at < ?`, now.Add(-48*time.Hour).UnixMilli())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune cache: %w", err)
	}
	s.checkpoint(ctx)
	return n, nil
}

// Clear implements Cache.
func (s *SQLite) Clear(ctx context.Context) error {
	if s.readOnly {
		return fmt.Errorf("clear cache %s: %w", s.path, ErrReadOnly)
	}
	s.mu.Lock()
	s.counters = map[[2]string][2]int64{}
	s.mu.Unlock()
	err := s.do(ctx, func(db *sql.DB) error {
		_, err := db.ExecContext(ctx, `DELETE FROM entries; DELETE FROM counters;`)
		return err
	})
	if err != nil {
		return fmt.Errorf("clear cache: %w", err)
	}
	s.checkpoint(ctx)
	// VACUUM gives the space back to the file system. It needs every other
	// process out of the file, so it is best effort: the entries are gone
	// either way.
	_ = s.do(ctx, func(db *sql.DB) error { _, err := db.ExecContext(ctx, `VACUUM`); return err })
	return nil
}

// checkpoint folds the WAL back into the main file so size figures are
// true. Best effort: a reader in another process can hold it back, and the
// WAL is folded in later anyway.
func (s *SQLite) checkpoint(ctx context.Context) {
	_ = s.do(ctx, func(db *sql.DB) error { _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); return err })
}

// Stats implements Cache.
func (s *SQLite) Stats(ctx context.Context) (Stats, error) {
	if err := s.Flush(ctx); err != nil {
		return Stats{}, err
	}
	var st Stats
	err := s.do(ctx, func(db *sql.DB) error {
		var err error
		st, err = s.stats(ctx, db)
		return err
	})
	if errors.Is(err, errUnusable) {
		st, err = s.mem.Stats(ctx)
	}
	if err != nil {
		return Stats{}, fmt.Errorf("cache stats: %w", err)
	}
	st.Path, st.Backend, st.ReadOnly = s.path, "sqlite", s.readOnly
	for _, f := range []string{s.path, s.path + "-wal", s.path + "-shm"} {
		if fi, err := os.Stat(f); err == nil {
			st.SizeBytes += fi.Size()
		}
	}
	return st, nil
}

func (s *SQLite) stats(ctx context.Context, db *sql.DB) (Stats, error) {
	now := s.opts.now()
	var st Stats
	groups := map[[2]string]*GroupStats{}
	get := func(p, t string) *GroupStats {
		g := groups[[2]string{p, t}]
		if g == nil {
			g = &GroupStats{Provider: p, Type: t}
			groups[[2]string{p, t}] = g
		}
		return g
	}
	query := func(q string, scan func(*sql.Rows) error, args ...any) error {
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				_ = rows.Close()
				return err
			}
		}
		return errors.Join(rows.Err(), rows.Close())
	}
	err := query(`SELECT provider, ioc_type, COUNT(*),
		        SUM(CASE WHEN status = 'not_found' THEN 1 ELSE 0 END),
		        SUM(CASE WHEN expires_at <= ? THEN 1 ELSE 0 END),
		        SUM(LENGTH(data) + LENGTH(value) + LENGTH(params) + 32)
		 FROM entries GROUP BY provider, ioc_type`, func(rows *sql.Rows) error {
		var p, t string
		var n, nf, exp, bytes int64
		if err := rows.Scan(&p, &t, &n, &nf, &exp, &bytes); err != nil {
			return err
		}
		g := get(p, t)
		g.Entries, g.NotFound, g.Expired, g.Bytes = n, nf, exp, bytes
		st.Entries += n
		st.Expired += exp
		return nil
	}, now.Unix())
	if err != nil {
		return Stats{}, err
	}
	err = query(`SELECT provider, ioc_type, hits, misses FROM counters`, func(rows *sql.Rows) error {
		var p, t string
		var h, m int64
		if err := rows.Scan(&p, &t, &h, &m); err != nil {
			return err
		}
		g := get(p, t)
		g.Hits, g.Misses = h, m
		return nil
	})
	if err != nil {
		return Stats{}, err
	}
	err = query(`SELECT provider, day, used FROM quota WHERE day = ? ORDER BY provider`, func(rows *sql.Rows) error {
		var q QuotaStats
		if err := rows.Scan(&q.Provider, &q.Day, &q.Used); err != nil {
			return err
		}
		st.QuotaUsed = append(st.QuotaUsed, q)
		return nil
	}, Day(now))
	if err != nil {
		return Stats{}, err
	}
	if s.readOnly {
		s.addMemoryQuota(ctx, &st)
	}
	st.Groups = sortedGroups(groups)
	return st, nil
}

// addMemoryQuota adds a read-only cache's in-memory quota to the file's.
func (s *SQLite) addMemoryQuota(ctx context.Context, st *Stats) {
	mine, _ := s.mem.Stats(ctx)
	for _, q := range mine.QuotaUsed {
		found := false
		for i := range st.QuotaUsed {
			if st.QuotaUsed[i].Provider == q.Provider {
				st.QuotaUsed[i].Used += q.Used
				found = true
			}
		}
		if !found {
			st.QuotaUsed = append(st.QuotaUsed, q)
		}
	}
}

func sortedGroups(groups map[[2]string]*GroupStats) []GroupStats {
	out := make([]GroupStats, 0, len(groups))
	for _, g := range groups {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Provider != out[j].Provider {
			return out[i].Provider < out[j].Provider
		}
		return out[i].Type < out[j].Type
	})
	if len(out) == 0 {
		return nil
	}
	return out
}

// Close implements Cache: it flushes the counters and closes the pool, and
// returns what either reported.
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
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	var cerr error
	if s.db != nil {
		cerr = s.db.Close()
		s.db = nil
	}
	if errors.Is(ferr, errUnusable) {
		ferr = nil
	}
	if cerr != nil {
		cerr = fmt.Errorf("close cache: %w", cerr)
	}
	return errors.Join(ferr, cerr)
}
