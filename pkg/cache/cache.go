// Package cache stores provider answers (and model classifications) on disk
// so that no indicator is ever asked twice while its answer is fresh, and
// keeps the daily quota counters that several verdict processes share.
//
// The real store is one SQLite database (modernc.org/sqlite, pure Go) in WAL
// mode: a cron job and an analyst can use it at once, every completed lookup
// is committed before the run moves on, and a kill -9 loses at most the
// lookups in flight.
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
}

// Stats is what `cache stats` prints.
type Stats struct {
	Path      string       `json:"path,omitempty"`
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

// Day is the UTC day a quota counts against.
func Day(t time.Time) string { return t.UTC().Format("2006-01-02") }
