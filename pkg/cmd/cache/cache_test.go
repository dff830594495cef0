package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/cache/pgtest"
	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/config"
	"github.com/verdict-dev/verdict/pkg/iostreams"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var ctx = context.Background()

type testRun struct {
	o           *Options
	out, errOut *bytes.Buffer
	logs        *bytes.Buffer
}

// newRun builds Options for a cache in dir, or in url when set.
func newRun(dir, url string) *testRun {
	ios, _, out, errOut := iostreams.Test()
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	return &testRun{
		o: &Options{
			IO: ios,
			Config: func() (*config.Config, error) {
				return &config.Config{Cache: config.Cache{Dir: dir, URL: config.DSN(url)}}, nil
			},
			Logger: func() *slog.Logger { return log },
		},
		out: out, errOut: errOut, logs: logs,
	}
}

// seed stores two answers (one expired) and some quota in a store.
func seed(t *testing.T, opts cache.StoreOptions) {
	t.Helper()
	s, err := cache.OpenStore(ctx, opts)
	require.NoError(t, err)
	require.NoError(t, s.Put(ctx, cache.Key{Provider: "virustotal", Type: "ipv4", Value: "1.2.3.4"}, cache.Entry{Status: "found", Data: []byte(`{}`)}, time.Hour))
	require.NoError(t, s.Put(ctx, cache.Key{Provider: "abuseipdb", Type: "ipv4", Value: "1.2.3.4"}, cache.Entry{Status: "not_found", Data: []byte(`{}`), FetchedAt: time.Now().Add(-2 * time.Hour)}, -time.Hour))
	_, err = s.Take(ctx, "virustotal", 10)
	require.NoError(t, err)
	s.Count("virustotal", "ipv4", true)
	require.NoError(t, s.Close())
}

// The commands work the same on both stores.
func TestCommandsOnBothStores(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var url, password string
			if kind == "postgres" {
				url = pgtest.NewDatabase(t)
				password = pgtest.Shared(t).Password
			}
			seed(t, cache.StoreOptions{URL: url, Dir: dir})

			r := newRun(dir, url)
			require.NoError(t, statsRun(ctx, r.o))
			out := r.out.String()
			assert.Contains(t, out, "entries: 2 (1 expired)")
			assert.Contains(t, out, "virustotal  ipv4")
			assert.Contains(t, out, "quota today")
			if kind == "postgres" {
				assert.Contains(t, out, "in PostgreSQL")
				assert.Contains(t, out, "cache: postgresql://verdict@127.0.0.1:")
				assert.NotContains(t, out, password, "the password is never printed")
			} else {
				assert.Contains(t, out, "cache: "+filepath.Join(dir, cache.FileName))
				assert.Contains(t, out, "on disk")
			}

			r = newRun(dir, url)
			r.o.JSON = true
			require.NoError(t, statsRun(ctx, r.o))
			var st cache.Stats
			require.NoError(t, json.Unmarshal(r.out.Bytes(), &st))
			assert.EqualValues(t, 2, st.Entries)
			assert.Equal(t, kind, st.Backend)
			if password != "" {
				assert.NotContains(t, r.out.String(), password)
			}

			r = newRun(dir, url)
			require.NoError(t, pruneRun(ctx, r.o))
			assert.Contains(t, r.errOut.String(), "pruned 1 entries from ")

			r = newRun(dir, url)
			require.NoError(t, clearRun(ctx, r.o))
			assert.Contains(t, r.errOut.String(), "cleared 1 entries from ")
			if password != "" {
				assert.NotContains(t, r.errOut.String(), password)
			}

			r = newRun(dir, url)
			r.o.JSON = true
			require.NoError(t, statsRun(ctx, r.o))
			require.NoError(t, json.Unmarshal(r.out.Bytes(), &st))
			assert.Zero(t, st.Entries)
			require.Len(t, st.QuotaUsed, 1, "clear keeps the quota")
		})
	}
}

// `cache stats` and `cache clear` work on a corrupt file, with a warning.
func TestCommandsOnCorruptFile(t *testing.T) {
	t.Parallel()
	for _, run := range []struct {
		name string
		fn   func(context.Context, *Options) error
	}{{"stats", statsRun}, {"clear", clearRun}, {"prune", pruneRun}} {
		t.Run(run.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, cache.FileName), bytes.Repeat([]byte("garbage!"), 1000), 0o600))
			r := newRun(dir, "")
			require.NoError(t, run.fn(ctx, r.o))
			assert.Contains(t, r.logs.String(), "cache file was corrupt: moved it aside")
		})
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	url := pgtest.NewDatabase(t)
	password := pgtest.Shared(t).Password
	seed(t, cache.StoreOptions{Dir: dir})

	// SQLite into PostgreSQL.
	r := newRun(dir, "")
	r.o.To = url
	require.NoError(t, migrateRun(ctx, r.o))
	msg := r.errOut.String()
	assert.Contains(t, msg, "copied 1 entries (1 expired left behind), 1 counter rows and 1 quota days from "+filepath.Join(dir, cache.FileName)+" to postgresql://verdict@127.0.0.1:")
	assert.NotContains(t, msg, password)

	pg, err := cache.OpenStore(ctx, cache.StoreOptions{URL: url})
	require.NoError(t, err)
	_, ok, err := pg.Get(ctx, cache.Key{Provider: "virustotal", Type: "ipv4", Value: "1.2.3.4"})
	require.NoError(t, err)
	assert.True(t, ok)
	n, err := pg.Used(ctx, "virustotal")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	require.NoError(t, pg.Close())

	// PostgreSQL back into a new directory, and into a .db file.
	for _, to := range []string{filepath.Join(t.TempDir(), "new", "dir"), filepath.Join(t.TempDir(), "back.db")} {
		r = newRun(filepath.Join(t.TempDir(), "unused"), url)
		r.o.To = to
		require.NoError(t, migrateRun(ctx, r.o))
		assert.Contains(t, r.errOut.String(), "copied 1 entries (0 expired left behind)")
		want := to
		if filepath.Ext(to) != ".db" {
			want = filepath.Join(to, cache.FileName)
		}
		assert.FileExists(t, want)
		assert.Contains(t, r.errOut.String(), " to "+want)
	}
}

func TestMigrateErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := newRun(dir, "")
	r.o.To = dir
	err := migrateRun(ctx, r.o)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "same store")

	r = newRun(dir, "")
	r.o.To = "mysql://user:hunter2@db/verdict"
	err = migrateRun(ctx, r.o)
	require.Error(t, err)
	var fe *cmdutil.FlagError
	assert.ErrorAs(t, err, &fe, "a --to that is a URL but not PostgreSQL is a usage error")
	assert.NotContains(t, err.Error(), "hunter2")

	r = newRun(dir, "mysql://x")
	err = statsRun(ctx, r.o)
	var ee *cmdutil.ExitCodeError
	require.ErrorAs(t, err, &ee, "a bad cache.url is a usage error")
	assert.Equal(t, cmdutil.ExitUsage, ee.Code)
}

func TestTargetOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "existing")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	tests := []struct {
		to   string
		want cache.StoreOptions
	}{
		{"postgres://db/verdict", cache.StoreOptions{URL: "postgres://db/verdict"}},
		{"host=db dbname=verdict", cache.StoreOptions{URL: "host=db dbname=verdict"}},
		{dir, cache.StoreOptions{Dir: dir}},
		{file, cache.StoreOptions{File: file}},
		{filepath.Join(dir, "new.db"), cache.StoreOptions{File: filepath.Join(dir, "new.db")}},
		{filepath.Join(dir, "x.SQLite3"), cache.StoreOptions{File: filepath.Join(dir, "x.SQLite3")}},
		{filepath.Join(dir, "newdir"), cache.StoreOptions{Dir: filepath.Join(dir, "newdir")}},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.to, "/", "_"), func(t *testing.T) {
			assert.Equal(t, tt.want, targetOptions(tt.to))
		})
	}
}
