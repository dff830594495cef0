package root

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/intel"
)

// Issue 12 item 4 on one host: processes sharing one SQLite cache, on
// overlapping inputs, never ask about the same indicator twice.
func TestProcessesSharingACacheAskOnce(t *testing.T) {
	var _ intel.Claims = (*cache.SQLite)(nil)
	_, out := sandbox(t)
	vt, _ := fakes(t)
	t.Setenv("ABUSEIPDB_API_KEY", "")
	t.Setenv("VERDICT_VIRUSTOTAL_CONCURRENCY", "4")
	vt.Latency = 50 * time.Millisecond
	// Three processes over the same 60 alerts, in the same order: without
	// claims they would ask about the same indicators at the same moment.
	file := alertsFile(t, 60, 40)
	cacheDir := filepath.Join(os.Getenv("XDG_CACHE_HOME"), "verdict")
	var wg sync.WaitGroup
	outs := make([]string, 3)
	for i := range outs {
		wg.Go(func() {
			outs[i] = child(t, []string{"enrich", "--cache-dir", cacheDir, "-o", out, "--output-name", fmt.Sprintf("c%d", i), "-f", "json", file})
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for _, r := range vt.Requests() {
		seen[r.Path]++
	}
	unique := 60 + 3 + 5 // addresses, domains, hashes (alertsFile)
	assert.Len(t, seen, unique)
	for path, n := range seen {
		assert.Equal(t, 1, n, "%s asked %d times:\n%s", path, n, strings.Join(outs, "\n"))
	}
	for i := range outs {
		rep := readReport(t, filepath.Join(out, fmt.Sprintf("c%d.json", i)))
		require.Equal(t, 60, rep.Summary.Alerts)
	}
}
