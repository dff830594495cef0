// Package ratelimit parses verdict's rate strings ("4/m") and turns them into
// golang.org/x/time/rate limiters that never allow a burst above the window.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
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

// Limiter returns a limiter that paces requests evenly at r with a burst of
// one, so that no window of length Per ever sees more than N requests
// (a burst of N followed by more inside the window is not allowed).
func (r Rate) Limiter() *rate.Limiter {
	if r.Unlimited() {
		return rate.NewLimiter(rate.Inf, 1)
	}
	return rate.NewLimiter(rate.Every(r.paced()), 1)
}

// paced is the interval the limiter actually uses: the even spacing plus 1%
// (at least 1ms). Requests leave on schedule but reach the server with a
// little jitter; the margin keeps any server-side window within the limit.
func (r Rate) paced() time.Duration {
	iv := r.Interval()
	m := iv / 100
	if m < time.Millisecond {
		m = time.Millisecond
	}
	return iv + m
}

// Duration estimates how long n requests take at r (the first goes at once).
func (r Rate) Duration(n int) time.Duration {
	if r.Unlimited() || n <= 1 {
		return 0
	}
	return time.Duration(n-1) * r.paced()
}

// Sleep waits d, or until ctx is done (then it returns ctx's error).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Backoff is the wait before retry n (from 1): exponential from base, with
// as much random jitter on top, so that retries of many workers spread out.
func Backoff(base time.Duration, n int) time.Duration {
	d := base << (n - 1)
	return d + rand.N(d+1)
}
