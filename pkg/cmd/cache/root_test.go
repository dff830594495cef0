package cache_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache/pgtest"
	"github.com/verdict-dev/verdict/pkg/cmd/root"
	"github.com/verdict-dev/verdict/pkg/iostreams"
)

type result struct {
	code        int
	out, errOut string
}

func run(args ...string) result {
	ios, _, out, errOut := iostreams.Test()
	code := root.Main(context.Background(), args, ios)
	return result{code, out.String(), errOut.String()}
}

// End to end through the root command: --cache-url and VERDICT_CACHE_URL
// select PostgreSQL; migrate takes --to. (Not parallel: it sets the
// environment.)
func TestCacheURLEndToEnd(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(tmp, "cache"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(tmp, "config"))
	t.Setenv("HOME", tmp)
	t.Setenv("VERDICT_CACHE_URL", "")
	url := pgtest.NewDatabase(t)
	password := pgtest.Shared(t).Password
	dir := filepath.Join(tmp, "local")

	res := run("cache", "migrate", "--cache-dir", dir, "--to", url)
	require.Equal(t, 0, res.code, res.errOut)
	assert.Contains(t, res.errOut, "copied 0 entries")
	assert.NotContains(t, res.errOut, password)

	res = run("cache", "stats", "--cache-url", url)
	require.Equal(t, 0, res.code, res.errOut)
	assert.Contains(t, res.out, "in PostgreSQL")
	assert.NotContains(t, res.out+res.errOut, password)

	t.Setenv("VERDICT_CACHE_URL", url)
	res = run("cache", "stats", "--json")
	require.Equal(t, 0, res.code, res.errOut)
	var st map[string]any
	require.NoError(t, json.Unmarshal([]byte(res.out), &st))
	assert.Equal(t, "postgres", st["backend"])
	res = run("cache", "prune")
	require.Equal(t, 0, res.code, res.errOut)
	res = run("cache", "clear")
	require.Equal(t, 0, res.code, res.errOut)
	assert.NotContains(t, res.errOut, password)

	res = run("cache", "stats", "--cache-url", "mysql://db/x")
	assert.Equal(t, 2, res.code, "a cache.url that is not PostgreSQL is a usage error")
	res = run("cache", "migrate")
	assert.Equal(t, 2, res.code, "--to is required")
	assert.Contains(t, res.errOut, "--to is required")
}
