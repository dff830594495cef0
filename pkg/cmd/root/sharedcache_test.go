package root

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A shared cache (cache.url) that cannot be reached stops a run that would
// send requests, naming the cache without its password: running alone
// would spend the team's quota and rate behind the other hosts' backs.
// --offline sends nothing and goes on with a warning, and so does a run
// without cache.url whose local cache cannot be opened.
func TestUnreachableSharedCache(t *testing.T) {
	_, out := sandbox(t)
	vt, _ := fakes(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	require.NoError(t, l.Close())
	t.Setenv("VERDICT_CACHE_URL", "postgres://verdict:hunter2-secret@"+closed+"/verdict?sslmode=disable&connect_timeout=2")
	alerts := alertsFile(t, 5, 60)

	res := run(t, "", "enrich", "-o", out, "--output-name", "online", "-f", "json", alerts)
	assert.Equal(t, 1, res.code, res.stderr)
	assert.Contains(t, res.stderr, "cannot use the shared cache")
	assert.Contains(t, res.stderr, "verdict@"+closed)
	assert.NotContains(t, res.stderr, "hunter2-secret")
	assert.Empty(t, vt.Requests(), "nothing was sent")
	assert.NoFileExists(t, filepath.Join(out, "online.json"))

	res = run(t, "", "enrich", "--offline", "-o", out, "--output-name", "offline", "-f", "json", alerts)
	assert.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "cache unavailable")
	assert.NotContains(t, res.stderr, "hunter2-secret")
	assert.FileExists(t, filepath.Join(out, "offline.json"))

	// A local cache that cannot be opened is a warning, online too.
	t.Setenv("VERDICT_CACHE_URL", "")
	blocked := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocked, nil, 0o600))
	res = run(t, "", "enrich", "--cache-dir", filepath.Join(blocked, "cache"), "-o", out, "--output-name", "local", "-f", "json", alerts)
	assert.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "cache unavailable")
	assert.NotEmpty(t, vt.Requests())
}
