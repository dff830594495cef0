package report

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBrowserHarnessCatchesProblems proves the browser checks can fail: a
// page that fetches, logs an error and is refused by its CSP must show up.
func TestBrowserHarnessCatchesProblems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.html")
	require.NoError(t, os.WriteFile(path, []byte(`<!DOCTYPE html><html><head>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'">
</head><body><img src="http://tracker.example.org/x.png"><script>window.__xss1=1</script></body></html>`), 0o644))
	p := openPage(t, path, true)
	p.mu.Lock()
	defer p.mu.Unlock()
	assert.Contains(t, p.requests, "http://tracker.example.org/x.png", "the fetch attempt is recorded")
	assert.NotEmpty(t, p.problems, "the CSP refusals are recorded")
}
