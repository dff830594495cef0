package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache/pgtest"
)

// The conformance suite: every test here runs over every store (memory,
// SQLite, PostgreSQL), so the rest of the program cannot tell them apart.

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)} }

// fixture is one store under test.
type fixture struct {
	clk *clock
	s   Store
	// kind and loc name the shared database for other handles and child
	// processes ("sqlite" and a directory, "postgres" and a URL); kind is
	// "memory" for the in-process store, which has neither.
	kind, loc string
}

// persistent reports whether the store outlives its handle.
func (f *fixture) persistent() bool { return f.kind != "memory" }

// open returns another handle on the same data with the same clock: a
// second process, as far as claims and quota can tell.
func (f *fixture) open(t *testing.T) Store {
	t.Helper()
	return openKind(t, f.kind, f.loc, WithClock(f.clk.now))
}

func openKind(t *testing.T, kind, loc string, opts ...Option) Store {
	t.Helper()
	var s Store
	var err error
	switch kind {
	case "sqlite":
		s, err = Open(loc, opts...)
	case "postgres":
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s, err = OpenPostgres(ctx, loc, opts...)
	default:
		t.Fatalf("no store kind %q", kind)
	}
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	return s
}

var storeKinds = []string{"memory", "sqlite", "postgres"}

// stores runs fn once per store kind, each on a fresh, empty store.
func stores(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			f := &fixture{clk: newClock(), kind: kind}
			switch kind {
			case "memory":
				f.s = NewMemory(f.clk.now)
			case "sqlite":
				f.loc = t.TempDir()
				f.s = f.open(t)
			case "postgres":
				f.loc = pgtest.NewDatabase(t)
				f.s = f.open(t)
			}
			fn(t, f)
		})
	}
}

var ctx = context.Background()

func TestStoreGetPutTTL(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, f *fixture) {
		c := f.s
		k := Key{Provider: "virustotal", Type: "ipv4", Value: "1.2.3.4"}
		_, ok, err := c.Get(ctx, k)
		require.NoError(t, err)
		assert.False(t, ok, "empty cache misses")

		require.NoError(t, c.Put(ctx, k, Entry{Status: "found", Data: []byte(`{"status":"found"}`)}, time.Hour))
		e, ok, err := c.Get(ctx, k)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, "found", e.Status)
		assert.JSONEq(t, `{"status":"found"}`, string(e.Data))
		assert.Equal(t, f.clk.now(), e.FetchedAt.Truncate(time.Second), "FetchedAt defaults to now")
		assert.Equal(t, f.clk.now().Add(time.Hour), e.ExpiresAt.Truncate(time.Second))
		assert.Equal(t, time.UTC, e.FetchedAt.Location())

		for name, other := range map[string]Key{
			"params":   {Provider: "virustotal", Params: "maxAgeInDays=30", Type: "ipv4", Value: "1.2.3.4"},
			"type":     {Provider: "virustotal", Type: "domain", Value: "1.2.3.4"},
			"provider": {Provider: "abuseipdb", Type: "ipv4", Value: "1.2.3.4"},
			"value":    {Provider: "virustotal", Type: "ipv4", Value: "1.2.3.5"},
		} {
			_, ok, _ = c.Get(ctx, other)
			assert.False(t, ok, "a different %s is a different answer", name)
		}

		f.clk.add(59 * time.Minute)
		_, ok, _ = c.Get(ctx, k)
		assert.True(t, ok, "still fresh before the TTL")
		f.clk.add(time.Minute)
		_, ok, _ = c.Get(ctx, k)
		assert.False(t, ok, "expired at the TTL")

		require.NoError(t, c.Put(ctx, k, Entry{Status: "found", Data: []byte(`{"v":2}`), FetchedAt: f.clk.now().Add(-time.Minute)}, time.Minute))
		e, ok, _ = c.Get(ctx, k)
		require.True(t, ok, "a Put replaces an expired entry")
		assert.JSONEq(t, `{"v":2}`, string(e.Data))
		assert.Equal(t, f.clk.now().Add(-time.Minute), e.FetchedAt.Truncate(time.Second), "an explicit FetchedAt is kept")

		// Attacker-written values are data, never syntax.
		odd := Key{Provider: "virustotal", Type: "url", Value: "http://x/'; DROP TABLE entries; --\x00\u202e"}
		require.NoError(t, c.Put(ctx, odd, Entry{Status: "found", Data: []byte{0, 1, 2, 255}}, time.Hour))
		e, ok, err = c.Get(ctx, odd)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, []byte{0, 1, 2, 255}, e.Data, "binary data round-trips")
	})
}

// Not-found answers carry their own, shorter TTL (cache.ttl_not_found):
// they expire while found answers stored at the same time stay.
func TestStoreNotFoundTTL(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, f *fixture) {
		c := f.s
		found := Key{Provider: "virustotal", Type: "domain", Value: "evil.example"}
		missing := Key{Provider: "virustotal", Type: "domain", Value: "unknown.example"}
		require.NoError(t, c.Put(ctx, found, Entry{Status: "found", Data: []byte(`{}`)}, 24*time.Hour))
		require.NoError(t, c.Put(ctx, missing, Entry{Status: "not_found", Data: []byte(`{"status":"not_found"}`)}, 6*time.Hour))
		e, ok, err := c.Get(ctx, missing)
		require.NoError(t, err)
		require.True(t, ok, "a not-found answer is cached too")
		assert.Equal(t, "not_found", e.Status)
		st, err := c.Stats(ctx)
		require.NoError(t, err)
		require.Len(t, st.Groups, 1)
		assert.EqualValues(t, 1, st.Groups[0].NotFound)

		f.clk.add(6*time.Hour + time.Second)
		_, ok, _ = c.Get(ctx, missing)
		assert.False(t, ok, "the not-found answer expired after its TTL")
		_, ok, _ = c.Get(ctx, found)
		assert.True(t, ok, "the found answer is still fresh")
		got, err := c.GetMany(ctx, "virustotal", "", "domain", []string{"evil.example", "unknown.example"})
		require.NoError(t, err)
		assert.Len(t, got, 1)
		assert.Contains(t, got, "evil.example")
	})
}

func TestStoreGetMany(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, f *fixture) {
		c := f.s
		var values []string
		for i := 0; i < 1000; i++ { // more than one SQLite chunk
			v := fmt.Sprintf("10.0.%d.%d", i/256, i%256)
			values = append(values, v)
			if i%3 == 0 {
				require.NoError(t, c.Put(ctx, Key{Provider: "abuseipdb", Params: "p", Type: "ipv4", Value: v}, Entry{Status: "found", Data: []byte(v)}, time.Hour))
			}
		}
		require.NoError(t, c.Put(ctx, Key{Provider: "abuseipdb", Params: "p", Type: "ipv4", Value: "10.0.0.1"}, Entry{Status: "found", Data: []byte("old")}, time.Minute))
		f.clk.add(2 * time.Minute)
		got, err := c.GetMany(ctx, "abuseipdb", "p", "ipv4", values)
		require.NoError(t, err)
		assert.Len(t, got, 334, "fresh entries only")
		assert.Equal(t, "10.0.0.3", string(got["10.0.0.3"].Data))
		assert.NotContains(t, got, "10.0.0.1", "expired entries are misses")
		none, err := c.GetMany(ctx, "abuseipdb", "other", "ipv4", values)
		require.NoError(t, err)
		assert.Empty(t, none)
		empty, err := c.GetMany(ctx, "abuseipdb", "p", "ipv4", nil)
		require.NoError(t, err)
		assert.Empty(t, empty)
	})
}

func TestStoreQuota(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, f *fixture) {
		c := f.s
		for i := 0; i < 3; i++ {
			ok, err := c.Take(ctx, "virustotal", 3)
			require.NoError(t, err)
			assert.True(t, ok)
		}
		ok, err := c.Take(ctx, "virustotal", 3)
		require.NoError(t, err)
		assert.False(t, ok, "the fourth request of a quota of 3 is refused")
		n, err := c.Used(ctx, "virustotal")
		require.NoError(t, err)
		assert.Equal(t, 3, n, "a refused Take reserves nothing")

		require.NoError(t, c.Refund(ctx, "virustotal"))
		n, _ = c.Used(ctx, "virustotal")
		assert.Equal(t, 2, n, "a refund gives one unit back")
		ok, _ = c.Take(ctx, "virustotal", 3)
		assert.True(t, ok, "and it can be taken again")

		ok, _ = c.Take(ctx, "abuseipdb", 3)
		assert.True(t, ok, "quotas are per provider")
		ok, _ = c.Take(ctx, "virustotal", 0)
		assert.True(t, ok, "0 means no quota")
		n, _ = c.Used(ctx, "virustotal")
		assert.Equal(t, 3, n, "an unlimited Take counts nothing")

		f.clk.add(12 * time.Hour) // 2026-11-24 00:00 UTC: a new day
		n, _ = c.Used(ctx, "virustotal")
		assert.Zero(t, n)
		require.NoError(t, c.Refund(ctx, "virustotal"))
		n, _ = c.Used(ctx, "virustotal")
		assert.Zero(t, n, "a refund never goes below zero")
		ok, _ = c.Take(ctx, "virustotal", 3)
		assert.True(t, ok, "the quota resets at 00:00 UTC")
	})
}

// A quota is counted across runs: a reopened store has today's count.
func TestStoreQuotaAcrossRuns(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, f *fixture) {
		if !f.persistent() {
			t.Skip("the in-memory store lives for one run")
		}
		for i := 0; i < 2; i++ {
			ok, err := f.s.Take(ctx, "virustotal", 3)
			require.NoError(t, err)
			require.True(t, ok)
		}
		require.NoError(t, f.s.Close())
		next := f.open(t)
		n, err := next.Used(ctx, "virustotal")
		require.NoError(t, err)
		assert.Equal(t, 2, n, "the second run sees the first run's requests")
		ok, _ := next.Take(ctx, "virustotal", 3)
		assert.True(t, ok)
		ok, _ = next.Take(ctx, "virustotal", 3)
		assert.False(t, ok, "together the runs never pass the limit")
		st, err := next.Stats(ctx)
		require.NoError(t, err)
		require.Len(t, st.QuotaUsed, 1)
		assert.Equal(t, QuotaStats{Provider: "virustotal", Day: "2026-11-23", Used: 3}, st.QuotaUsed[0])
	})
}

// N goroutines on several handles (processes, as far as the database can
// tell) never take more than the limit, and take all of it.
func TestStoreQuotaConcurrent(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, f *fixture) {
		handles := []Store{f.s}
		if f.persistent() {
			handles = append(handles, f.open(t), f.open(t))
		}
		const limit = 40
		var mu sync.Mutex
		granted := 0
		var wg sync.WaitGroup
		for i := 0; i < 24; i++ {
			wg.Add(1)
			go func(c Store) {
				defer wg.Done()
				for {
					ok, err := c.Take(ctx, "virustotal", limit)
					if !assert.NoError(t, err) || !ok {
						return
					}
					mu.Lock()
					granted++
					mu.Unlock()
				}
			}(handles[i%len(handles)])
		}
		wg.Wait()
		assert.Equal(t, limit, granted)
		n, err := f.s.Used(ctx, "virustotal")
		require.NoError(t, err)
		assert.Equal(t, limit, n)
	})
}

func TestStorePruneStatsClear(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, f *fixture) {
		c := f.s
		put := func(p, typ, v string, ttl time.Duration) {
			require.NoError(t, c.Put(ctx, Key{Provider: p, Type: typ, Value: v}, Entry{Status: "found", Data: []byte("{}")}, ttl))
		}
		put("virustotal", "ipv4", "1.1.1.1", time.Hour)
		put("virustotal", "sha256", "aa", 48*time.Hour)
		put("abuseipdb", "ipv4", "1.1.1.1", 10*time.Minute)
		c.Count("virustotal", "ipv4", true)
		c.Count("virustotal", "ipv4", false)
		c.Count("virustotal", "ipv4", true)
		_, _ = c.Take(ctx, "virustotal", 10)

		st, err := c.Stats(ctx)
		require.NoError(t, err)
		assert.EqualValues(t, 3, st.Entries)
		assert.Equal(t, f.kind, st.Backend)
		assert.Equal(t, c.Describe(), st.Path)
		require.Len(t, st.Groups, 3)
		assert.Equal(t, GroupStats{Provider: "abuseipdb", Type: "ipv4", Entries: 1, Bytes: st.Groups[0].Bytes}, st.Groups[0])
		assert.Positive(t, st.Groups[0].Bytes)
		assert.Equal(t, "virustotal", st.Groups[1].Provider)
		assert.Equal(t, "ipv4", st.Groups[1].Type)
		assert.EqualValues(t, 2, st.Groups[1].Hits)
		assert.EqualValues(t, 1, st.Groups[1].Misses)
		require.Len(t, st.QuotaUsed, 1)
		assert.EqualValues(t, 1, st.QuotaUsed[0].Used)
		if f.persistent() {
			assert.Positive(t, st.SizeBytes)
		}

		f.clk.add(30 * time.Minute)
		st, err = c.Stats(ctx)
		require.NoError(t, err)
		assert.EqualValues(t, 1, st.Expired, "stats count expired entries")
		n, err := c.Prune(ctx, 0)
		require.NoError(t, err)
		assert.EqualValues(t, 1, n, "only the expired abuseipdb entry goes")

		f.clk.add(2 * time.Hour)
		n, err = c.Prune(ctx, 150*time.Minute)
		require.NoError(t, err)
		assert.EqualValues(t, 1, n, "the expired ipv4 entry goes; the sha256 one, fetched 150 min ago, stays")
		n, err = c.Prune(ctx, 90*time.Minute)
		require.NoError(t, err)
		assert.EqualValues(t, 1, n, "--older-than drops fresh-but-old entries too")

		put("virustotal", "domain", "evil.com", time.Hour)
		require.NoError(t, c.Clear(ctx))
		st, err = c.Stats(ctx)
		require.NoError(t, err)
		assert.Zero(t, st.Entries)
		assert.Empty(t, st.Groups, "clear drops the hit counters too")
		n2, _ := c.Used(ctx, "virustotal")
		assert.Equal(t, 1, n2, "clear keeps today's quota count: the requests were spent")

		// Prune forgets quota days older than yesterday.
		f.clk.add(72 * time.Hour)
		_, err = c.Prune(ctx, 0)
		require.NoError(t, err)
		f.clk.add(-72 * time.Hour)
		n2, _ = c.Used(ctx, "virustotal")
		assert.Zero(t, n2)
	})
}

func TestStoreClaims(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, f *fixture) {
		a := f.s
		b := a // memory: claims are exclusive between goroutines of one process
		if f.persistent() {
			b = f.open(t)
		}
		k := Key{Provider: "virustotal", Type: "sha256", Value: "abc"}
		other := Key{Provider: "virustotal", Type: "sha256", Value: "def"}

		ok, err := a.Claim(ctx, k, time.Minute)
		require.NoError(t, err)
		assert.True(t, ok, "the first claim wins")
		ok, err = b.Claim(ctx, k, time.Minute)
		require.NoError(t, err)
		assert.False(t, ok, "a live lease is exclusive")
		ok, _ = a.Claim(ctx, k, time.Minute)
		assert.False(t, ok, "even for its own holder: a key is in flight once")
		ok, _ = b.Claim(ctx, other, time.Minute)
		assert.True(t, ok, "claims are per key")

		require.NoError(t, a.Release(ctx, k))
		ok, _ = b.Claim(ctx, k, time.Minute)
		assert.True(t, ok, "Release frees the key")

		if f.persistent() {
			require.NoError(t, a.Release(ctx, k))
			ok, _ = a.Claim(ctx, k, time.Minute)
			assert.False(t, ok, "Release drops only the caller's own lease")
		}

		require.NoError(t, b.Put(ctx, k, Entry{Status: "found", Data: []byte("{}")}, time.Hour))
		ok, _ = a.Claim(ctx, k, time.Minute)
		assert.True(t, ok, "Put releases the holder's lease")

		f.clk.add(59 * time.Second)
		ok, _ = b.Claim(ctx, k, time.Minute)
		assert.False(t, ok, "the lease is live until it expires")
		f.clk.add(time.Second)
		ok, _ = b.Claim(ctx, k, time.Minute)
		assert.True(t, ok, "an expired lease is taken over")
		ok, _ = a.Claim(ctx, k, time.Minute)
		assert.False(t, ok, "and the new lease is exclusive again")

		// Prune drops expired leases.
		f.clk.add(2 * time.Minute)
		_, err = a.Prune(ctx, 0)
		require.NoError(t, err)
		ok, _ = a.Claim(ctx, k, time.Minute)
		assert.True(t, ok)
	})
}

// Claims race: of many goroutines on several handles claiming one key at
// once, exactly one wins.
func TestStoreClaimsRace(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, f *fixture) {
		handles := []Store{f.s}
		if f.persistent() {
			handles = append(handles, f.open(t), f.open(t))
		}
		for round := 0; round < 5; round++ {
			k := Key{Provider: "p", Type: "ipv4", Value: fmt.Sprint("10.0.0.", round)}
			var wins sync.Map
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := 0; i < 12; i++ {
				wg.Add(1)
				go func(i int, c Store) {
					defer wg.Done()
					<-start
					ok, err := c.Claim(ctx, k, time.Minute)
					assert.NoError(t, err)
					if ok {
						wins.Store(i, true)
					}
				}(i, handles[i%len(handles)])
			}
			close(start)
			wg.Wait()
			n := 0
			wins.Range(func(any, any) bool { n++; return true })
			assert.Equal(t, 1, n, "round %d", round)
		}
	})
}

func TestAwaitOrClaim(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, f *fixture) {
		a := f.s
		b := a
		if f.persistent() {
			b = f.open(t)
		}
		k := Key{Provider: "abuseipdb", Params: "maxAgeInDays=90", Type: "ipv4", Value: "203.0.113.9"}

		t.Run("claims a free key", func(t *testing.T) {
			_, hit, claimed, err := AwaitOrClaim(ctx, a, k, time.Minute, time.Millisecond)
			require.NoError(t, err)
			assert.False(t, hit)
			assert.True(t, claimed)
		})

		t.Run("waits for the holder's answer", func(t *testing.T) {
			type result struct {
				e            Entry
				hit, claimed bool
				err          error
			}
			done := make(chan result, 1)
			go func() {
				e, hit, claimed, err := AwaitOrClaim(ctx, b, k, time.Minute, 2*time.Millisecond)
				done <- result{e, hit, claimed, err}
			}()
			select {
			case r := <-done:
				t.Fatalf("returned while another holder had the key: %+v", r)
			case <-time.After(30 * time.Millisecond):
			}
			require.NoError(t, a.Put(ctx, k, Entry{Status: "found", Data: []byte(`{"by":"a"}`)}, time.Hour))
			select {
			case r := <-done:
				require.NoError(t, r.err)
				assert.True(t, r.hit, "the waiter gets the holder's answer")
				assert.False(t, r.claimed)
				assert.JSONEq(t, `{"by":"a"}`, string(r.e.Data))
			case <-time.After(10 * time.Second):
				t.Fatal("the waiter never saw the answer")
			}
		})

		t.Run("a fresh answer is a hit", func(t *testing.T) {
			e, hit, claimed, err := AwaitOrClaim(ctx, b, k, time.Minute, time.Millisecond)
			require.NoError(t, err)
			assert.True(t, hit)
			assert.False(t, claimed)
			assert.Equal(t, "found", e.Status)
		})

		k2 := k
		k2.Value = "203.0.113.10"
		t.Run("a crashed holder's lease expires", func(t *testing.T) {
			ok, err := a.Claim(ctx, k2, time.Minute) // a "crashes": it never answers or releases
			require.NoError(t, err)
			require.True(t, ok)
			done := make(chan bool, 1)
			go func() {
				_, hit, claimed, err := AwaitOrClaim(ctx, b, k2, time.Minute, 2*time.Millisecond)
				assert.NoError(t, err)
				assert.False(t, hit)
				done <- claimed
			}()
			select {
			case <-done:
				t.Fatal("took a live lease")
			case <-time.After(20 * time.Millisecond):
			}
			f.clk.add(time.Minute)
			select {
			case claimed := <-done:
				assert.True(t, claimed, "the waiter takes the key once the lease is over")
			case <-time.After(10 * time.Second):
				t.Fatal("the waiter never took the expired lease")
			}
		})

		t.Run("a released key is claimed by the waiter", func(t *testing.T) {
			k3 := k
			k3.Value = "203.0.113.11"
			ok, _ := a.Claim(ctx, k3, time.Minute)
			require.True(t, ok)
			done := make(chan bool, 1)
			go func() {
				_, _, claimed, err := AwaitOrClaim(ctx, b, k3, time.Minute, 2*time.Millisecond)
				assert.NoError(t, err)
				done <- claimed
			}()
			time.Sleep(10 * time.Millisecond)
			require.NoError(t, a.Release(ctx, k3)) // a got a 429 and gives up
			select {
			case claimed := <-done:
				assert.True(t, claimed)
			case <-time.After(10 * time.Second):
				t.Fatal("the waiter never took the released key")
			}
		})

		t.Run("the wait ends with the context", func(t *testing.T) {
			k4 := k
			k4.Value = "203.0.113.12"
			ok, _ := a.Claim(ctx, k4, time.Hour)
			require.True(t, ok)
			cctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
			defer cancel()
			_, hit, claimed, err := AwaitOrClaim(cctx, b, k4, time.Hour, 2*time.Millisecond)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.False(t, hit)
			assert.False(t, claimed)
		})
	})
}

// racyStore stores an answer from "another process" between AwaitOrClaim's
// read and its claim, which AwaitOrClaim must notice.
type racyStore struct {
	*Memory
	once sync.Once
}

func (r *racyStore) Claim(ctx context.Context, k Key, lease time.Duration) (bool, error) {
	r.once.Do(func() { _ = r.Memory.Put(ctx, k, Entry{Status: "found", Data: []byte(`"late"`)}, time.Hour) })
	return r.Memory.Claim(ctx, k, lease)
}

func TestAwaitOrClaimRereadsAfterClaim(t *testing.T) {
	t.Parallel()
	s := &racyStore{Memory: NewMemory(nil)}
	k := Key{Provider: "p", Type: "ipv4", Value: "1.1.1.1"}
	e, hit, claimed, err := AwaitOrClaim(ctx, s, k, time.Minute, time.Millisecond)
	require.NoError(t, err)
	assert.True(t, hit, "an answer stored just before the claim is used, not asked again")
	assert.False(t, claimed)
	assert.Equal(t, `"late"`, string(e.Data))
	ok, _ := s.Memory.Claim(ctx, k, time.Minute)
	assert.True(t, ok, "and the claim taken meanwhile is released")
}

type failingStore struct{ *Memory }

var errStoreDown = errors.New("store down")

func (failingStore) Claim(context.Context, Key, time.Duration) (bool, error) {
	return false, errStoreDown
}

func TestAwaitOrClaimStoreError(t *testing.T) {
	t.Parallel()
	_, hit, claimed, err := AwaitOrClaim(ctx, failingStore{NewMemory(nil)}, Key{Value: "x"}, time.Minute, time.Millisecond)
	assert.ErrorIs(t, err, errStoreDown)
	assert.False(t, hit)
	assert.False(t, claimed)
}

func TestNopNeverStores(t *testing.T) {
	t.Parallel()
	var c ClaimingCache = Nop{}
	require.NoError(t, c.Put(ctx, Key{Provider: "p", Type: "ipv4", Value: "1.1.1.1"}, Entry{Status: "found"}, time.Hour))
	_, ok, err := c.Get(ctx, Key{Provider: "p", Type: "ipv4", Value: "1.1.1.1"})
	require.NoError(t, err)
	assert.False(t, ok)
	_, hit, claimed, err := AwaitOrClaim(ctx, c, Key{Value: "1.1.1.1"}, time.Minute, time.Millisecond)
	require.NoError(t, err)
	assert.False(t, hit)
	assert.True(t, claimed, "--no-cache shares nothing, so every lookup is its own")
}
