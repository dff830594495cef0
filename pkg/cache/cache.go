// Package cache stores provider answers (and model classifications) so that
// no indicator is ever asked twice while its answer is fresh, keeps the daily
// quota counters that several verdict processes share, and holds the
// in-flight claims that stop two processes from asking about the same
// indicator at the same time.
//
// There are three stores behind one [Store] interface, and the rest of the
// program cannot tell them apart:
//
//   - [SQLite]: one database file (modernc.org/sqlite, pure Go) in WAL mode,
//     shared by the processes of one host. Every completed lookup is committed
//     before the run moves on, so a kill -9 loses at most the lookups in
//     flight. A corrupt file is moved aside and replaced; a read-only one is
//     read and not written.
//   - [Postgres]: a PostgreSQL database (pgx/v5 pgxpool) shared by several
//     hosts, so that a team's answers and its API keys' daily quotas are
//     shared too.
//   - [Memory]: one process, for tests and as the fallback when no database
//     can be used.
//
// [OpenStore] picks one from the configuration (cache.url, else cache.dir).
// Before each request the engine calls [AwaitOrClaim]: it returns a fresh
// answer, or a claim on the indicator, or waits while another process that
// holds the claim gets the answer.
package cache

import (
	"context"
	"errors"
	"time"
)

// Key identifies one cached answer. It never contains an API key.
type Key struct {
	Provider string // "virustotal", "abuseipdb", "gemini"
	Params   string // request parameters that change the answer ("maxAgeInDays=90")
	Type     string // IOC type, or "classification"
	Value    string // normalised indicator, or a fingerprint
}

// Entry is a cached answer.
type Entry struct {
	Status    string // "found" or "not_found" (never errors)
	Data      []byte // the provider's normalised result, JSON
	FetchedAt time.Time
	ExpiresAt time.Time
}

// Cache is the small interface the engine needs.
type Cache interface {
	// Get returns a fresh entry; expired entries are misses.
	Get(ctx context.Context, k Key) (Entry, bool, error)
	// GetMany returns the fresh entries among values that share provider,
	// params and type, keyed by value (one query per chunk, not per value).
	GetMany(ctx context.Context, provider, params, typ string, values []string) (map[string]Entry, error)
	// Put stores an answer for ttl, committing before it returns.
	Put(ctx context.Context, k Key, e Entry, ttl time.Duration) error
	// Count records cache hits and misses for `cache stats` (buffered).
	Count(provider, typ string, hit bool)
	// Prune drops expired entries, and with olderThan > 0 also entries
	// fetched longer ago than that. It returns how many were dropped.
	Prune(ctx context.Context, olderThan time.Duration) (int64, error)
	// Stats summarises the cache.
	Stats(ctx context.Context) (Stats, error)
	// Clear empties the cache (entries and counters; quota counters stay,
	// since the quota was spent whatever the cache holds).
	Clear(ctx context.Context) error
	// Close flushes counters and releases the store.
	Close() error
}

// Quota counts requests per provider and UTC day across processes.
type Quota interface {
	// Take reserves one request of provider's daily limit. It returns false,
	// reserving nothing, when the limit is reached. limit <= 0 means none.
	Take(ctx context.Context, provider string, limit int) (bool, error)
	// Used returns the requests counted today.
	Used(ctx context.Context, provider string) (int, error)
	// Refund gives back one unit taken today by a request that never reached
	// the server (the connection was refused, the context was cancelled
	// before sending): such a request cost nothing. It never goes below 0.
	Refund(ctx context.Context, provider string) error
}

// Claims are leases on keys whose lookups are in flight, so that processes
// sharing a store ask about one indicator once. A claim is held by one
// store handle (one process: each handle has a random holder id) and lapses
// at its expiry, so a crashed holder blocks a key for at most its lease.
type Claims interface {
	// Claim takes the lease on k for a lookup about to be sent. It returns
	// false while any live lease on k exists, this handle's own included, so
	// a key is in flight at most once. An expired lease is taken over
	// atomically.
	Claim(ctx context.Context, k Key, lease time.Duration) (bool, error)
	// Release drops this handle's lease on k without an answer (an error, a
	// 429, a cancelled run), so that another process may ask at once. Put
	// releases the lease too.
	Release(ctx context.Context, k Key) error
}

// ClaimingCache is a Cache with claims: what [AwaitOrClaim] needs.
type ClaimingCache interface {
	Cache
	Claims
}

// Store is everything a run needs from its cache: answers, quota and
// claims. [Memory], [SQLite] and [Postgres] implement it.
type Store interface {
	Cache
	Quota
	Claims
	// Describe names the store for people: the file path, or the
	// PostgreSQL URL without its password.
	Describe() string
}

// Stats is what `cache stats` prints.
type Stats struct {
	// Path is the database file, or the PostgreSQL URL without its
	// password (Describe).
	Path string `json:"path,omitempty"`
	// Backend is "sqlite", "postgres" or "memory".
	Backend string `json:"backend,omitempty"`
	// ReadOnly is set when the store is read and not written.
	ReadOnly  bool         `json:"read_only,omitempty"`
	Entries   int64        `json:"entries"`
	Expired   int64        `json:"expired"`
	SizeBytes int64        `json:"size_bytes"`
	Groups    []GroupStats `json:"groups"`
	QuotaUsed []QuotaStats `json:"quota_today,omitempty"`
}

// GroupStats is one provider and type.
type GroupStats struct {
	Provider string `json:"provider"`
	Type     string `json:"type"`
	Entries  int64  `json:"entries"`
	NotFound int64  `json:"not_found"`
	Expired  int64  `json:"expired"`
	Bytes    int64  `json:"bytes"`
	Hits     int64  `json:"hits"`
	Misses   int64  `json:"misses"`
}

// QuotaStats is one provider's requests today (UTC).
type QuotaStats struct {
	Provider string `json:"provider"`
	Day      string `json:"day"`
	Used     int64  `json:"used"`
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("cache closed")

// ErrReadOnly is returned by operations that must write (prune, clear) on a
// cache that can only be read.
var ErrReadOnly = errors.New("cache is read-only")

// Day is the UTC day a quota counts against.
func Day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// countHit adds one hit or one miss of (provider, type) to counts: the one
// tally every store keeps, under its own lock.
func countHit(counts map[[2]string][2]int64, provider, typ string, hit bool) {
	k := [2]string{provider, typ}
	c := counts[k]
	if hit {
		c[0]++
	} else {
		c[1]++
	}
	counts[k] = c
}
