// Package ratelimit is verdict's one remote-call policy: every request to a
// threat-intel provider or to the model goes through a [Policy], so the
// lookup engine and the classifier honour the same rules (CONTRACT.md,
// Configuration):
//
//   - a [Rate] ("4/m") is at most N requests in any window of its length,
//     across the whole run, whatever the concurrency ([Limiter]);
//   - a 429 pauses the whole source, not only the request that got it, for
//     Retry-After (Gemini: RetryInfo.retryDelay) or, with neither, one
//     window of the rate, and at least a second; three 429s in a row despite
//     waiting mean the source is out of quota for the run;
//   - 5xx answers, timeouts and garbage are retried with capped, jittered
//     exponential backoff;
//   - a source that cannot be reached (DNS, connection refused, TLS) three
//     times in a row is unavailable for the run, and a request that never
//     reached the server costs neither a rate slot nor a unit of the daily
//     quota;
//   - the daily quota is taken before a request is sent, and given back when
//     it never was.
//
// The package also parses the rate strings of the configuration.
package ratelimit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is "at most N requests in any window of length Per". The zero Rate
// means no limit.
type Rate struct {
	N   int
	Per time.Duration
}

// ErrBadRate is returned by Parse for malformed rate strings.
var ErrBadRate = errors.New("invalid rate")

// Parse reads "N/s", "N/m", "N/h", "N/d", or "0" for no limit.
func Parse(s string) (Rate, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "0" || s == "" || s == "unlimited" {
		return Rate{}, nil
	}
	num, unit, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("%w %q: want N/s, N/m, N/h, N/d or 0", ErrBadRate, s)
	}
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n < 0 {
		return Rate{}, fmt.Errorf("%w %q: %q is not a whole number", ErrBadRate, s, num)
	}
	var per time.Duration
	switch strings.TrimSpace(unit) {
	case "s", "sec", "second":
		per = time.Second
	case "m", "min", "minute":
		per = time.Minute
	case "h", "hour":
		per = time.Hour
	case "d", "day":
		per = 24 * time.Hour
	default:
		return Rate{}, fmt.Errorf("%w %q: unit must be s, m, h or d", ErrBadRate, s)
	}
	if n == 0 {
		return Rate{}, nil
	}
	return Rate{N: n, Per: per}, nil
}

// Unlimited reports whether r imposes no limit.
func (r Rate) Unlimited() bool { return r.N <= 0 || r.Per <= 0 }

// Interval is the even spacing between requests (15s for 4/m); 0 if unlimited.
func (r Rate) Interval() time.Duration {
	if r.Unlimited() {
		return 0
	}
	return r.Per / time.Duration(r.N)
}

// Window is the time a 429 without Retry-After waits: one window of the
// configured rate, at least one second (CONTRACT.md).
func (r Rate) Window() time.Duration {
	if r.Unlimited() || r.Per < time.Second {
		return time.Second
	}
	return r.Per
}

// String renders the rate in the form Parse reads.
func (r Rate) String() string {
	if r.Unlimited() {
		return "0"
	}
	u := "s"
	switch r.Per {
	case time.Minute:
		u = "m"
	case time.Hour:
		u = "h"
	case 24 * time.Hour:
		u = "d"
	}
	return fmt.Sprintf("%d/%s", r.N, u)
}

// Duration estimates how long n requests take at r (the first goes at once),
// at the Limiter's even pace.
func (r Rate) Duration(n int) time.Duration {
	if r.Unlimited() || n <= 1 {
		return 0
	}
	return time.Duration(n-1) * NewLimiter(r).Interval()
}
