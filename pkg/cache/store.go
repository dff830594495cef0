package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// StoreOptions selects and configures a Store.
type StoreOptions struct {
	// URL is cache.url (VERDICT_CACHE_URL, --cache-url): a postgres:// or
	// postgresql:// URL or a libpq keyword/value string selects PostgreSQL.
	// Empty selects SQLite.
	URL string
	// Dir is cache.dir: the SQLite database is Dir/FileName.
	Dir string
	// File, when set, is the SQLite database file itself (instead of Dir).
	File string
	// Logger gets one-line warnings: a corrupt file moved aside, a
	// read-only cache. nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock (tests); nil means time.Now, or for PostgreSQL the
	// server's clock.
	Now func() time.Time
	// QuickCheckLimit overrides DefaultQuickCheckLimit (SQLite) when
	// non-zero; negative never checks on open.
	QuickCheckLimit int64
}

// ErrBadURL is returned for a cache.url that names no PostgreSQL database.
var ErrBadURL = errors.New("cache.url must be a postgres:// or postgresql:// URL, or a libpq connection string such as \"host=db dbname=verdict\"")

// OpenStore opens the store that o selects: PostgreSQL when o.URL is set,
// else SQLite in o.File or o.Dir. The caller closes it. A SQLite file that
// is corrupt is replaced, and one that cannot be written is read only; both
// are reported to o.Logger and are not errors.
func OpenStore(ctx context.Context, o StoreOptions) (Store, error) {
	var opts []Option
	if o.Logger != nil {
		opts = append(opts, WithLogger(o.Logger))
	}
	if o.Now != nil {
		opts = append(opts, WithClock(o.Now))
	}
	if o.QuickCheckLimit != 0 {
		opts = append(opts, WithQuickCheckLimit(o.QuickCheckLimit))
	}
	if u := strings.TrimSpace(o.URL); u != "" {
		if !IsPostgresURL(u) {
			return nil, ErrBadURL
		}
		return OpenPostgres(ctx, u, opts...)
	}
	switch {
	case o.File != "":
		return OpenFile(o.File, opts...)
	case o.Dir != "":
		return Open(o.Dir, opts...)
	}
	return nil, fmt.Errorf("open cache: %w", errors.New("neither cache.url nor cache.dir is set"))
}
