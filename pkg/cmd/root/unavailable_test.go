package root

import (
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/ratelimit"
)

// Issue 9's acceptance: a closed port as the VirusTotal base URL and 100
// IOCs: the run ends within 10 s with provider_unavailable, and the quota
// shows none used.
func TestClosedPortProviderUnavailable(t *testing.T) {
	_, out := sandbox(t)
	fakes(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	require.NoError(t, l.Close())
	t.Setenv("VERDICT_VIRUSTOTAL_BASE_URL", "http://"+closed+"/api/v3")
	t.Setenv("VERDICT_VIRUSTOTAL_RATE", "4/m") // the default: three slots would take 30 s
	t.Setenv("ABUSEIPDB_API_KEY", "")

	start := time.Now()
	res := run(t, "", "enrich", "-o", out, "--output-name", "u", "-f", "json", alertsFile(t, 100, 30))
	elapsed := time.Since(start)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Less(t, elapsed, 10*time.Second, res.stderr)

	rep := readReport(t, filepath.Join(out, "u.json"))
	n := 0
	for _, a := range rep.Alerts {
		for _, byProvider := range a.Enrichment {
			if r, ok := byProvider["virustotal"]; ok {
				n++
				assert.Equal(t, model.StatusSkipped, r.Status)
				assert.Equal(t, "provider_unavailable", r.Reason)
			}
		}
	}
	assert.GreaterOrEqual(t, n, 100)
	assert.Zero(t, rep.Summary.Providers["virustotal"].Requests, "nothing reached a server")
	assert.Contains(t, strings.Join(rep.Summary.Notes, "\n"), "virustotal: unavailable for this run")
	assert.Contains(t, res.stderr, "unavailable for this run")

	stats := run(t, "", "cache", "stats", "--json")
	require.Equal(t, 0, stats.code, stats.stderr)
	var s cache.Stats
	require.NoError(t, json.Unmarshal([]byte(stats.stdout), &s))
	used := int64(0)
	for _, q := range s.QuotaUsed {
		if q.Provider == "virustotal" {
			used = q.Used
		}
	}
	var _ ratelimit.Refunder = (*cache.SQLite)(nil) // the store gives refused units back
	assert.Zero(t, used, "refused requests cost no quota")
}
