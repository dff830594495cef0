// Package intel defines the threat-intelligence provider interface, the
// normalised lookup result shared by every provider, and the errors providers
// return. The engine that fans lookups out to providers lives here too.
package intel

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

// Provider looks up one indicator at one threat-intelligence source.
//
// Lookup returns a Result with Status Found, or one of the errors below:
// ErrNotFound (a normal, cacheable "unknown to this source"), ErrUnauthorized,
// *RateLimitError, ErrUnsupported, or any other error for a failed lookup.
type Provider interface {
	// Name is the stable id used in config keys, cache keys, logs and reports.
	Name() string
	// Supports reports whether the provider takes indicators of type t.
	Supports(t ioc.Type) bool
	// Lookup asks the source about one normalised, global indicator.
	Lookup(ctx context.Context, i ioc.IOC) (model.Result, error)
}

// Local is implemented by providers that answer from local data (feeds).
// Their answers are neither cached, rate limited nor counted against a quota,
// and they keep working with --offline.
type Local interface {
	Local() bool
}

// CacheParams is implemented by providers whose answers depend on request
// parameters (AbuseIPDB's maxAgeInDays, say). The string becomes part of the
// cache key so a changed parameter never serves a stale answer.
type CacheParams interface {
	CacheParams() string
}

// CacheKeyer is implemented by providers that answer about something
// derived from the indicator rather than the indicator itself: RDAP answers
// about the registrable domain, so www.evil.top and mail.evil.top are one
// question. CacheKey is that something; the engine asks once per distinct
// key in a run and caches the answer under it, so later runs share it too.
type CacheKeyer interface {
	CacheKey(i ioc.IOC) string
}

// Ager is implemented by providers whose answers hold dates that mean
// something only against the run's clock (a domain's registration date).
// The engine calls Age on every found answer, fresh or cached, with the
// run's time, so the provider fills the fields that depend on it (days
// since registration). Cached answers keep the dates, never the ages: an
// answer cached a week ago is a week older today.
type Ager interface {
	Age(r *model.Result, now time.Time)
}

// QuotaOverride is implemented by providers whose daily allowance depends
// on how they were set up: GreyNoise without an API key answers a handful
// of lookups a day, whatever <name>.daily_quota says for a keyed account.
// The engine enforces DailyQuota(configured) instead of the configured quota.
type QuotaOverride interface {
	DailyQuota(configured int) int
}

// Health is what a provider's health check found (verdict doctor).
type Health struct {
	// KeyAccepted is true when an authenticated call succeeded, so the API
	// key is known to be good; false when the check could not tell (a
	// keyless provider, or no call that spends no quota).
	KeyAccepted bool
	// SpentQuota is true when the check itself counted against the daily
	// quota (doctor says so, and avoids it where it can).
	SpentQuota bool
	// Detail is one line for people: the account's plan, the quota left,
	// or why nothing could be checked.
	Detail string
}

// HealthChecker is implemented by providers that can check their setup
// (reachable, key accepted) with their cheapest call, preferably one that
// uses no quota. An ErrUnauthorized error means the key was rejected.
type HealthChecker interface {
	Check(ctx context.Context) (Health, error)
}

// Sentinel errors providers return; the engine maps them to report statuses.
var (
	// ErrNotFound means the source has no data on the indicator. It is a
	// normal result, cached with the shorter not-found TTL.
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized means the API key was missing, wrong or inactive.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrUnsupported means the provider does not take this indicator type.
	ErrUnsupported = errors.New("unsupported indicator type")
	// ErrQuotaExhausted means the provider's quota is spent for now.
	ErrQuotaExhausted = errors.New("quota exhausted")
	// ErrBadResponse means the provider answered with something that is not
	// its documented format (an HTML error page, garbage JSON).
	ErrBadResponse = errors.New("unexpected response")
)

// RateLimitError is a 429 (or equivalent) answer. RetryAfter is zero when the
// provider did not say how long to wait.
type RateLimitError struct {
	Provider   string
	RetryAfter time.Duration
	// Quota is true when the provider said a daily or monthly quota, rather
	// than a short-term rate, is exhausted.
	Quota  bool
	Detail string
}

func (e *RateLimitError) Error() string {
	msg := e.Provider + ": rate limited (429)"
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(", retry after %s", e.RetryAfter)
	}
	return msg
}

// HTTPError is a non-2xx answer that is neither a 404, 401/403 nor a 429.
// Retryable is true for 5xx answers and timeouts.
type HTTPError struct {
	Provider  string
	Status    int
	Code      string // the provider's machine-readable error code, if any
	Detail    string
	Retryable bool
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s: HTTP %d", e.Provider, e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}
