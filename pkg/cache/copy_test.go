package cache

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache/pgtest"
)

// fill puts three fresh answers, one expired one, counters and two days of
// quota into s.
func fill(t *testing.T, s Store, clk *clock) {
	t.Helper()
	_, _ = s.Take(ctx, "virustotal", 100) // yesterday
	clk.add(24 * time.Hour)
	for i := 0; i < 4; i++ {
		_, _ = s.Take(ctx, "virustotal", 100)
	}
	put := func(v string, ttl time.Duration) {
		require.NoError(t, s.Put(ctx, Key{Provider: "virustotal", Params: "p=1", Type: "url", Value: v}, Entry{Status: "found", Data: []byte(`{"v":"` + v + `"}`)}, ttl))
	}
	put("http://a.example/", time.Hour)
	put("http://b.example/\x00\xff", time.Hour) // hostile bytes survive the trip
	put("http://stale.example/", time.Minute)
	require.NoError(t, s.Put(ctx, Key{Provider: "gemini", Type: "classification", Value: "fp"}, Entry{Status: "found", Data: []byte(`{}`)}, 30*24*time.Hour))
	s.Count("virustotal", "url", true)
	s.Count("virustotal", "url", false)
	clk.add(2 * time.Minute) // the stale one has expired
}

func TestCopyBetweenStores(t *testing.T) {
	t.Parallel()
	clk := newClock()
	dir := t.TempDir()
	sqlite := openKind(t, "sqlite", dir, WithClock(clk.now))
	pg := openKind(t, "postgres", pgtest.NewDatabase(t), WithClock(clk.now))
	fill(t, sqlite, clk)

	st, err := Copy(ctx, pg, sqlite)
	require.NoError(t, err)
	assert.Equal(t, CopyStats{Entries: 3, Expired: 1, Counters: 1, QuotaDays: 2}, st)

	e, ok, err := pg.Get(ctx, Key{Provider: "virustotal", Params: "p=1", Type: "url", Value: "http://b.example/\x00\xff"})
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "{\"v\":\"http://b.example/\x00\xff\"}", string(e.Data), "bytes, not text")
	orig, _, _ := sqlite.Get(ctx, Key{Provider: "virustotal", Params: "p=1", Type: "url", Value: "http://a.example/"})
	copied, _, _ := pg.Get(ctx, Key{Provider: "virustotal", Params: "p=1", Type: "url", Value: "http://a.example/"})
	assert.Equal(t, orig, copied, "times and data are kept")
	n, err := pg.Used(ctx, "virustotal")
	require.NoError(t, err)
	assert.Equal(t, 4, n, "today's quota count came along")
	pst, err := pg.Stats(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 3, pst.Entries)
	require.Len(t, pst.Groups, 2)
	assert.EqualValues(t, 1, pst.Groups[1].Hits)

	// Running it again changes nothing: counts are merged, not added.
	_, err = Copy(ctx, pg, sqlite)
	require.NoError(t, err)
	n, _ = pg.Used(ctx, "virustotal")
	assert.Equal(t, 4, n)
	pst2, err := pg.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, pst.Groups, pst2.Groups)

	// A newer answer and a higher quota count in the destination win.
	newer := Key{Provider: "virustotal", Params: "p=1", Type: "url", Value: "http://a.example/"}
	require.NoError(t, pg.Put(ctx, newer, Entry{Status: "found", Data: []byte(`"newer"`), FetchedAt: clk.now().Add(time.Minute)}, time.Hour))
	_, _ = pg.Take(ctx, "virustotal", 100)
	_, err = Copy(ctx, pg, sqlite)
	require.NoError(t, err)
	e, _, _ = pg.Get(ctx, newer)
	assert.Equal(t, `"newer"`, string(e.Data))
	n, _ = pg.Used(ctx, "virustotal")
	assert.Equal(t, 5, n, "a quota count never goes down")

	// And back into a new SQLite file.
	back := openKind(t, "sqlite", filepath.Join(t.TempDir(), "back"), WithClock(clk.now))
	st, err = Copy(ctx, back, pg)
	require.NoError(t, err)
	assert.Equal(t, int64(3), st.Entries)
	e, ok, _ = back.Get(ctx, newer)
	require.True(t, ok)
	assert.Equal(t, `"newer"`, string(e.Data))
	n, _ = back.Used(ctx, "virustotal")
	assert.Equal(t, 5, n)

	// Memory works both ways too.
	mem := NewMemory(clk.now)
	st, err = Copy(ctx, mem, back)
	require.NoError(t, err)
	assert.Equal(t, int64(3), st.Entries)
	n, _ = mem.Used(ctx, "virustotal")
	assert.Equal(t, 5, n)
}

func TestCopyRefusesSameStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := openKind(t, "sqlite", dir)
	b := openKind(t, "sqlite", dir)
	_, err := Copy(ctx, a, b)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "same store")
}
