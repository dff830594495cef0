package newprovider_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cmd/root"
	"github.com/verdict-dev/verdict/pkg/config"
	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest/fakeintel" // the one line that adds the provider
	"github.com/verdict-dev/verdict/pkg/iostreams"
	"github.com/verdict-dev/verdict/pkg/report"
)

const key = "fake-e2e-key-0b1c2d3e4f"

func sandbox(t *testing.T) string {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "VERDICT_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	for _, k := range config.AllKeys() {
		for _, a := range k.Env {
			t.Setenv(a, "")
			os.Unsetenv(a)
		}
	}
	// The built-in keyless providers would reach the internet: off.
	for _, r := range intel.Registrations() {
		if !r.NeedsKey {
			t.Setenv(config.EnvName(r.Name+".enabled"), "false")
		}
	}
	tmp := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(tmp, "cache"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(tmp, "config"))
	t.Setenv("SOURCE_DATE_EPOCH", "1795305600")
	t.Chdir(tmp)
	return tmp
}

func run(args ...string) (int, string) {
	ios, _, _, errOut := iostreams.Test()
	code := root.Main(context.Background(), args, ios)
	return code, errOut.String()
}

func TestAThirdProviderNeedsOnePackageAndOneImport(t *testing.T) {
	tmp := sandbox(t)
	srv := fakeintel.NewServer(t, key)
	srv.Set("185.220.101.77", fakeintel.Answer{Score: 87, Label: "c2-panel"})
	srv.Set("quiet-shop.net", fakeintel.Answer{Score: 5, Label: "parked", Benign: true})
	t.Setenv("FAKEINTEL_API_KEY", key) // the variable its registration declares
	t.Setenv("VERDICT_FAKEINTEL_BASE_URL", srv.URL+"/v1")
	t.Setenv("VERDICT_FAKEINTEL_RATE", "0")
	alerts := filepath.Join(tmp, "alerts.ndjson")
	require.NoError(t, os.WriteFile(alerts, []byte(
		`{"id":"A-1","dest_ip":"185.220.101.77","msg":"beacon"}`+"\n"+
			`{"id":"A-2","query":"quiet-shop.net"}`+"\n"+
			`{"id":"A-3","dest_ip":"203.0.113.200"}`+"\n"), 0o644))
	out := filepath.Join(tmp, "out")

	code, stderr := run("enrich", "-o", out, "--output-name", "r", "-f", "json,txt,html,md", alerts)
	require.Equal(t, 0, code, stderr)
	assert.Len(t, srv.Requests(), 2, "only the IP and the domain it takes (203.0.113.0/24 is documentation space)")

	f, err := os.Open(filepath.Join(out, "r.json"))
	require.NoError(t, err)
	rep, err := report.ReadAll(f)
	f.Close()
	require.NoError(t, err)
	a1 := rep.Alerts[0]
	res := a1.Enrichment["185.220.101.77"][fakeintel.Name]
	require.NotNil(t, res, "its answers reach the report")
	assert.Equal(t, "found", string(res.Status))
	v, ok := res.Number("fake_score")
	assert.True(t, ok)
	assert.EqualValues(t, 87, v)
	assert.Equal(t, "c2-panel", res.Attrs["fake_label"])
	assert.Contains(t, a1.Risk.Factors, "IP 185.220.101.77: FakeIntel score 87 (+35)", "its default rule adds a risk factor")
	assert.Equal(t, 35, a1.Risk.Score)
	assert.Zero(t, rep.Alerts[1].Risk.Score, "score 5 is below the rule's minimum")
	assert.Equal(t, 2, rep.Summary.Providers[fakeintel.Name].Lookups)

	has := func(file, want string) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, file))
		require.NoError(t, err)
		assert.True(t, strings.Contains(string(b), want), "%s lacks %q", file, want)
		assert.False(t, strings.Contains(string(b), key), "%s holds the API key", file)
	}
	has("r.json", `"fakeintel":{"status":"found","fake_benign":false,"fake_label":"c2-panel","fake_score":87}`)
	has("r.txt", "fakeintel: found - fake benign false; fake label c2-panel; fake")
	has("r.txt", "FakeIntel score 87 (+35)")
	has("r.html", "<strong>fakeintel</strong>: <span>found</span> · fake benign false; fake label c2-panel; fake score 87")
	has("r.html", "FakeIntel score 87 (&#43;35)")
	has("r.md", "FakeIntel score 87 (+35)")

	// The report reads back and renders byte for byte, attrs included.
	again := filepath.Join(tmp, "again")
	code, stderr = run("report", filepath.Join(out, "r.json"), "-f", "json,txt,html", "-o", again)
	require.Equal(t, 0, code, stderr)
	for _, ext := range []string{"json", "txt", "html"} {
		want, _ := os.ReadFile(filepath.Join(out, "r."+ext))
		got, _ := os.ReadFile(filepath.Join(again, "r."+ext))
		assert.Equal(t, string(want), string(got), ext)
	}

	// The rerun answers from the cache.
	code, stderr = run("enrich", "-o", out, "--output-name", "r2", "-f", "json", alerts)
	require.Equal(t, 0, code, stderr)
	assert.Len(t, srv.Requests(), 2)
}

func TestAThirdProviderGetsTheGenericConfiguration(t *testing.T) {
	sandbox(t)
	ex := config.Example()
	for _, want := range []string{"fakeintel:", "FAKEINTEL_API_KEY", "min_label_score: 10", "ttl: 12h", "fakeintel-score", "fake_score"} {
		assert.Contains(t, ex, want)
	}

	t.Setenv("VERDICT_FAKEINTEL_RAET", "1/s")
	code, stderr := run("enrich", "--offline", "x.json")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "did you mean VERDICT_FAKEINTEL_RATE?")
	os.Unsetenv("VERDICT_FAKEINTEL_RAET")

	t.Setenv("VERDICT_FAKEINTEL_MIN_LABEL_SCORE", "900")
	code, stderr = run("enrich", "--offline", "x.json")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "fakeintel.min_label_score (VERDICT_FAKEINTEL_MIN_LABEL_SCORE): must be 0-100")
	os.Unsetenv("VERDICT_FAKEINTEL_MIN_LABEL_SCORE")

	// A user's scoring table may use its declared fields.
	cfg := filepath.Join(t.TempDir(), "verdict.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("scoring:\n  rules:\n    - {provider: fakeintel, types: [ip], field: fake_benign, min: 1, points: -10}\n"), 0o600))
	alerts := filepath.Join(t.TempDir(), "a.ndjson")
	require.NoError(t, os.WriteFile(alerts, []byte(`{"id":"x","ip":"185.220.101.1"}`+"\n"), 0o600))
	code, stderr = run("--config", cfg, "enrich", "--offline", "-f", "json", "-o", t.TempDir(), alerts)
	assert.Equal(t, 0, code, stderr)
}
