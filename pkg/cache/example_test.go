package cache_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/verdict-dev/verdict/pkg/cache"
)

// errNotSent stands for a request that never reached the server (a refused
// connection, a run cancelled before sending).
var errNotSent = errors.New("dial tcp: connection refused")

// lookup is what the intel engine does for one indicator with a Store: the
// cache is read again just before the request, a claim keeps other
// processes from asking at the same time, the quota is taken only for a
// request that will be sent, and every path that does not Put releases the
// claim.
func lookup(ctx context.Context, s cache.Store, k cache.Key, limit int, send func() ([]byte, error)) (string, error) {
	e, hit, claimed, err := cache.AwaitOrClaim(ctx, s, k, cache.DefaultLease, cache.DefaultPoll)
	switch {
	case err != nil && ctx.Err() != nil:
		return "", err // cancelled while waiting for another process
	case err != nil:
		claimed = false // the store failed: ask anyway, as without a shared cache
	case hit:
		s.Count(k.Provider, k.Type, true)
		return "cached: " + string(e.Data), nil
	}
	release := func() {
		if claimed {
			_ = s.Release(context.WithoutCancel(ctx), k)
		}
	}
	ok, err := s.Take(ctx, k.Provider, limit)
	if err == nil && !ok {
		release()
		return "skipped: quota_exhausted", nil
	}
	data, err := send()
	if errors.Is(err, errNotSent) {
		_ = s.Refund(context.WithoutCancel(ctx), k.Provider) // it cost nothing
		release()
		return "", err
	}
	if err != nil { // an error or a 429: never cached
		release()
		return "", err
	}
	s.Count(k.Provider, k.Type, false)
	// Put stores the answer and releases the claim in one transaction.
	if err := s.Put(context.WithoutCancel(ctx), k, cache.Entry{Status: "found", Data: data}, 24*time.Hour); err != nil {
		release()
	}
	return "asked: " + string(data), nil
}

func Example_engine() {
	ctx := context.Background()
	s := cache.NewMemory(nil) // or cache.OpenStore(ctx, cache.StoreOptions{URL: cfg.Cache.URL, Dir: cfg.Cache.Dir, Logger: log})
	defer s.Close()
	k := cache.Key{Provider: "abuseipdb", Params: "maxAgeInDays=90", Type: "ipv4", Value: "203.0.113.7"}

	fmt.Println(lookup(ctx, s, k, 1000, func() ([]byte, error) { return nil, errNotSent }))
	used, _ := s.Used(ctx, "abuseipdb")
	fmt.Println("quota used after a request that never left:", used)
	fmt.Println(lookup(ctx, s, k, 1000, func() ([]byte, error) { return []byte(`{"score":87}`), nil }))
	fmt.Println(lookup(ctx, s, k, 1000, func() ([]byte, error) { panic("never asked twice") }))
	// Output:
	//  dial tcp: connection refused
	// quota used after a request that never left: 0
	// asked: {"score":87} <nil>
	// cached: {"score":87} <nil>
}
