package doctor_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cmd/root"
	"github.com/verdict-dev/verdict/pkg/config"
	"github.com/verdict-dev/verdict/pkg/internal/testutil"
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

// sandbox gives the test its own config, cache and environment, and runs
// it from the repository root (samples/feeds).
func sandbox(t *testing.T) string {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "VERDICT_") && !strings.HasPrefix(name, "VERDICT_TEST_") && !strings.HasPrefix(name, "VERDICT_REQUIRE_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	for _, k := range config.AllKeys() {
		t.Setenv(config.EnvName(k.Name), "")
		os.Unsetenv(config.EnvName(k.Name))
		for _, a := range k.Env {
			t.Setenv(a, "")
			os.Unsetenv(a)
		}
	}
	tmp := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(tmp, "cache"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(tmp, "config"))
	t.Setenv("HOME", tmp)
	t.Chdir(testutil.RepoRoot(t))
	return tmp
}

// End to end through the root command: exit statuses and what a cron job
// sees. (Not parallel: the environment is the process's.)
func TestDoctorEndToEnd(t *testing.T) {
	tmp := sandbox(t)

	// The bundled samples: their abuse.ch, Spamhaus and FireHOL snapshots
	// are old, which warns and does not fail.
	res := run("doctor", "--offline", "--json", "--feeds", "samples/feeds")
	require.Equal(t, 0, res.code, res.errOut)
	var doc struct {
		Status string `json:"status"`
		Checks []struct {
			ID, Status, Message string
		} `json:"checks"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.out), &doc))
	assert.Equal(t, "warn", doc.Status)
	statuses := map[string]string{}
	for _, c := range doc.Checks {
		statuses[c.ID] = c.Status
	}
	assert.Equal(t, "warn", statuses["feed.abusech-feodo-ipblocklist.csv"], "the 2024 Feodo snapshot is a finding")
	assert.Equal(t, "warn", statuses["provider.virustotal"], "no key: a warning")

	// A config file that does not parse: every command stops with exit 2,
	// doctor reports it and exits 1.
	bad := filepath.Join(tmp, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("feeds:\n  dirs: [\n"), 0o600))
	res = run("--config", bad, "enrich", "--offline", "samples/alerts/suricata-eve.ndjson")
	assert.Equal(t, 2, res.code)
	res = run("--config", bad, "doctor", "--offline")
	assert.Equal(t, 1, res.code, res.errOut)
	assert.Regexp(t, `FAIL\s+config file\s+config file .*bad.yaml`, res.out)
	assert.Contains(t, res.out, "ATT&CK Enterprise", "the other checks ran")
	assert.Contains(t, res.errOut, "checks failed: ")

	// An unknown variable: exit 2 for a run, a failing check for doctor.
	t.Setenv("VERDICT_FEEDS_DIR", "samples/feeds")
	res = run("enrich", "--offline", "samples/alerts/suricata-eve.ndjson")
	assert.Equal(t, 2, res.code)
	res = run("doctor", "--offline")
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.out, "VERDICT_FEEDS_DIR; did you mean VERDICT_FEEDS_DIRS?")
	os.Unsetenv("VERDICT_FEEDS_DIR")
}

func TestFeedsUpdateEndToEnd(t *testing.T) {
	sandbox(t)
	res := run("feeds", "update", "--offline", "--dir", t.TempDir())
	assert.Equal(t, 2, res.code, "a usage error")
	assert.Contains(t, res.errOut, "never runs with --offline")
	res = run("feeds", "update")
	assert.Equal(t, 2, res.code)
	assert.Contains(t, res.errOut, "no feeds directory: give --dir DIR")
	res = run("feeds", "list")
	assert.Equal(t, 0, res.code)
	assert.Contains(t, res.out, "https://www.spamhaus.org/drop/drop_v4.json")
}
