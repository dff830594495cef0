package cache

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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

// implementations runs a test against every Cache that stores data.
func implementations(t *testing.T, fn func(t *testing.T, c interface {
	Cache
	Quota
}, clk *clock)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		s, err := Open(t.TempDir(), WithClock(clk.now))
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		fn(t, s, clk)
	})
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		fn(t, NewMemory(clk.now), clk)
	})
}

func TestGetPutExpiry(t *testing.T) {
	t.Parallel()
	implementations(t, func(t *testing.T, c interface {
		Cache
		Quota
	}, clk *clock) {
		ctx := context.Background()
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

		other := k
		other.Params = "maxAgeInDays=30"
		_, ok, _ = c.Get(ctx, other)
		assert.False(t, ok, "different request parameters are a different answer")

		clk.add(59 * time.Minute)
		_, ok, _ = c.Get(ctx, k)
		assert.True(t, ok, "still fresh before the TTL")
		clk.add(2 * time.Minute)
		_, ok, _ = c.Get(ctx, k)
		assert.False(t, ok, "expired after the TTL")

		require.NoError(t, c.Put(ctx, k, Entry{Status: "not_found", Data: []byte(`{}`)}, time.Minute))
		e, ok, _ = c.Get(ctx, k)
		require.True(t, ok, "a Put replaces an expired entry")
		assert.Equal(t, "not_found", e.Status)
	})
}

func TestGetMany(t *testing.T) {
	t.Parallel()
	implementations(t, func(t *testing.T, c interface {
		Cache
		Quota
	}, clk *clock) {
		ctx := context.Background()
		var values []string
		for i := 0; i < 1000; i++ { // more than one SQL chunk
			v := fmt.Sprintf("10.0.%d.%d", i/256, i%256)
			values = append(values, v)
			if i%3 == 0 {
				require.NoError(t, c.Put(ctx, Key{Provider: "abuseipdb", Params: "p", Type: "ipv4", Value: v}, Entry{Status: "found", Data: []byte(v)}, time.Hour))
			}
		}
		got, err := c.GetMany(ctx, "abuseipdb", "p", "ipv4", values)
		require.NoError(t, err)
		assert.Len(t, got, 334)
		assert.Equal(t, "10.0.0.3", string(got["10.0.0.3"].Data))
		none, err := c.GetMany(ctx, "abuseipdb", "other", "ipv4", values)
		require.NoError(t, err)
		assert.Empty(t, none)
	})
}

func TestQuota(t *testing.T) {
	t.Parallel()
	implementations(t, func(t *testing.T, c interface {
		Cache
		Quota
	}, clk *clock) {
		ctx := context.Background()
		for i := 0; i < 3; i++ {
			ok, err := c.Take(ctx, "virustotal", 3)
			require.NoError(t, err)
			assert.True(t, ok)
		}
		ok, err := c.Take(ctx, "virustotal", 3)
		require.NoError(t, err)
		assert.False(t, ok, "the fourth request of a quota of 3 is refused")
		n, _ := c.Used(ctx, "virustotal")
		assert.Equal(t, 3, n, "a refused Take reserves nothing")
		ok, _ = c.Take(ctx, "abuseipdb", 3)
		assert.True(t, ok, "quotas are per provider")
		ok, _ = c.Take(ctx, "virustotal", 0)
		assert.True(t, ok, "0 means no quota")
		clk.add(12 * time.Hour) // 2026-11-24 00:00 UTC: a new day
		ok, _ = c.Take(ctx, "virustotal", 3)
		assert.True(t, ok, "the quota resets at 00:00 UTC")
	})
}

// Two handles on one database stand in for two processes: together they
// never take more than the limit.
func TestQuotaSharedBetweenHandles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, err := Open(dir)
	require.NoError(t, err)
	defer a.Close()
	b, err := Open(dir)
	require.NoError(t, err)
	defer b.Close()
	var mu sync.Mutex
	granted := 0
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(c *SQLite) {
			defer wg.Done()
			ok, err := c.Take(context.Background(), "virustotal", 25)
			assert.NoError(t, err)
			if ok {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		}([]*SQLite{a, b}[i%2])
	}
	wg.Wait()
	assert.Equal(t, 25, granted)
}

func TestPruneStatsClear(t *testing.T) {
	t.Parallel()
	implementations(t, func(t *testing.T, c interface {
		Cache
		Quota
	}, clk *clock) {
		ctx := context.Background()
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
		require.Len(t, st.Groups, 3)
		assert.Equal(t, GroupStats{Provider: "abuseipdb", Type: "ipv4", Entries: 1, Bytes: st.Groups[0].Bytes}, st.Groups[0])
		assert.EqualValues(t, 2, st.Groups[1].Hits)
		assert.EqualValues(t, 1, st.Groups[1].Misses)
		require.Len(t, st.QuotaUsed, 1)
		assert.EqualValues(t, 1, st.QuotaUsed[0].Used)

		clk.add(30 * time.Minute)
		n, err := c.Prune(ctx, 0)
		require.NoError(t, err)
		assert.EqualValues(t, 1, n, "only the expired abuseipdb entry goes")

		clk.add(2 * time.Hour)
		n, err = c.Prune(ctx, 90*time.Minute)
		require.NoError(t, err)
		assert.EqualValues(t, 2, n, "--older-than drops fresh-but-old entries too")

		put("virustotal", "domain", "evil.com", time.Hour)
		require.NoError(t, c.Clear(ctx))
		st, err = c.Stats(ctx)
		require.NoError(t, err)
		assert.Zero(t, st.Entries)
		n2, _ := c.Used(ctx, "virustotal")
		assert.Equal(t, 1, n2, "clear keeps today's quota count: the requests were spent")
	})
}

// TestCacheSurvivesKill9 starts a child process that writes entries as fast
// as it can, kills it with SIGKILL mid-stream, and checks that the database
// opens and holds every entry the child reported as committed.
func TestCacheSurvivesKill9(t *testing.T) {
	if os.Getenv("VERDICT_CACHE_CHILD") != "" {
		t.Skip("child")
	}
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCacheChildWriter$", "-test.v")
	cmd.Env = append(os.Environ(), "VERDICT_CACHE_CHILD="+dir)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(stdout)
	committed := 0
	for sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "committed "); ok {
			committed, _ = strconv.Atoi(n)
			if committed >= 200 {
				break
			}
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	require.GreaterOrEqual(t, committed, 200, "child never reached 200 commits")

	s, err := Open(dir)
	require.NoError(t, err, "the database must open after a kill -9")
	defer s.Close()
	for i := 0; i < committed; i++ {
		_, ok, err := s.Get(context.Background(), Key{Provider: "virustotal", Type: "ipv4", Value: fmt.Sprintf("198.51.%d.%d", i/256, i%256)})
		require.NoError(t, err)
		require.True(t, ok, "entry %d was committed before the kill but is missing", i)
	}
}

// TestCacheChildWriter is the child of TestCacheSurvivesKill9.
func TestCacheChildWriter(t *testing.T) {
	dir := os.Getenv("VERDICT_CACHE_CHILD")
	if dir == "" {
		t.Skip("only runs as the child of TestCacheSurvivesKill9")
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		k := Key{Provider: "virustotal", Type: "ipv4", Value: fmt.Sprintf("198.51.%d.%d", i/256, i%256)}
		if err := s.Put(context.Background(), k, Entry{Status: "found", Data: []byte(`{"status":"found"}`)}, time.Hour); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("committed %d\n", i+1)
	}
}

func TestNopNeverStores(t *testing.T) {
	t.Parallel()
	var c Cache = Nop{}
	ctx := context.Background()
	require.NoError(t, c.Put(ctx, Key{Provider: "p", Type: "ipv4", Value: "1.1.1.1"}, Entry{Status: "found"}, time.Hour))
	_, ok, err := c.Get(ctx, Key{Provider: "p", Type: "ipv4", Value: "1.1.1.1"})
	require.NoError(t, err)
	assert.False(t, ok)
}
