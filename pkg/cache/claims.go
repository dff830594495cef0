package cache

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"time"
)

// Defaults for AwaitOrClaim, for callers without a better figure.
const (
	// DefaultLease covers one request with its retries; a holder that
	// crashes blocks the key for at most this long.
	DefaultLease = 2 * time.Minute
	// DefaultPoll is how often a waiter re-reads the cache. Waiting costs
	// one indexed read per poll; the answer arrives at most one poll late.
	DefaultPoll = 50 * time.Millisecond
)

// AwaitOrClaim is what the engine calls just before every request. It
// re-reads the cache, and then:
//
//   - a fresh answer is there: it returns it (hit, not claimed);
//   - no live claim on k: it takes one and returns claimed; the caller
//     sends the request and then calls Put (which releases the claim) or,
//     with no answer to store, Release;
//   - another holder has k: it waits, re-reading the cache every poll
//     (jittered), until that holder's answer arrives (hit) or its lease ends
//     without one (a crash, an error, a 429) and the claim is taken here.
//
// A crashed holder's lease lapses on its own, so no key waits longer than
// one lease for each holder that fails it. The wait ends early with the
// context's error. Any other error comes from the store: the caller should
// then send the request as if there were no shared cache (never skip the
// indicator because of the cache).
//
// A lease should cover one request with its retries (the HTTP timeout times
// the attempts, plus backoff). Polling rather than LISTEN/NOTIFY keeps one
// code path for every store: a waiter costs one indexed read per poll, and
// only keys that another process is asking about right now are waited on.
func AwaitOrClaim(ctx context.Context, s ClaimingCache, k Key, lease, poll time.Duration) (e Entry, hit bool, claimed bool, err error) {
	if lease <= 0 {
		lease = DefaultLease
	}
	if poll <= 0 {
		poll = DefaultPoll
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if e, ok, err := s.Get(ctx, k); err != nil {
			return Entry{}, false, false, err
		} else if ok {
			return e, true, false, nil
		}
		ok, err := s.Claim(ctx, k, lease)
		if err != nil {
			return Entry{}, false, false, err
		}
		if ok {
			// The previous holder may have stored its answer and released
			// between our read and our claim: read once more so that the
			// indicator is not asked twice.
			if e, ok, err := s.Get(ctx, k); err == nil && ok {
				if err := s.Release(context.WithoutCancel(ctx), k); err != nil {
					return Entry{}, false, false, err
				}
				return e, true, false, nil
			} else if err != nil {
				_ = s.Release(context.WithoutCancel(ctx), k)
				return Entry{}, false, false, err
			}
			return Entry{}, false, true, nil
		}
		// ±25% jitter, so that the waiters of many processes do not poll in
		// step.
		d := poll*3/4 + rand.N(poll/2+1)
		if timer == nil {
			timer = time.NewTimer(d)
		} else {
			timer.Reset(d)
		}
		select {
		case <-ctx.Done():
			return Entry{}, false, false, fmt.Errorf("wait for %s lookup of %s: %w", k.Provider, k.Type, ctx.Err())
		case <-timer.C:
		}
	}
}

// newHolder returns a claim holder id: host and pid for whoever reads the
// claims table, plus random bytes so that two handles in one process, or a
// reused pid, never share one.
func newHolder() string {
	host, _ := os.Hostname()
	var b [8]byte
	_, _ = crand.Read(b[:]) // never fails on supported platforms (Go 1.24+)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
