package config

import (
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/verdict-dev/verdict/pkg/intel"
	_ "github.com/verdict-dev/verdict/pkg/intel/all" // the built-in providers
	"github.com/verdict-dev/verdict/pkg/internal/testutil"
	"github.com/verdict-dev/verdict/pkg/ratelimit"
)

var update = flag.Bool("update", false, "rewrite samples/verdict.example.yaml")

func vt(c *Config) *Provider    { return c.Provider("virustotal") }
func abuse(c *Config) *Provider { return c.Provider("abuseipdb") }

// clearEnv hides every variable config reads, so tests see only what they set.
func clearEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "VERDICT_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	for _, k := range AllKeys() {
		t.Setenv(EnvName(k.Name), "")
		os.Unsetenv(EnvName(k.Name))
		for _, alias := range k.Env {
			t.Setenv(alias, "")
			os.Unsetenv(alias)
		}
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
}

func load(t *testing.T, file string, flags map[string]string) (*Config, error) {
	t.Helper()
	v := viper.New()
	Defaults(v)
	if file != "" {
		if _, err := ReadFile(v, file); err != nil {
			return nil, err
		}
	}
	if flags != nil {
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		for key, val := range flags {
			fs.String(key, "", "")
			require.NoError(t, fs.Set(key, val))
			require.NoError(t, v.BindPFlag(key, fs.Lookup(key)))
		}
	}
	return Load(v)
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "verdict.yaml")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func TestDefaults(t *testing.T) {
	clearEnv(t)
	c, err := load(t, "", nil)
	require.NoError(t, err)
	assert.Equal(t, "https://www.virustotal.com/api/v3", vt(c).BaseURL)
	assert.Equal(t, ratelimit.Rate{N: 4, Per: time.Minute}, vt(c).Rate)
	assert.Equal(t, 500, vt(c).DailyQuota)
	assert.Equal(t, "https://api.abuseipdb.com/api/v2", abuse(c).BaseURL)
	assert.Equal(t, ratelimit.Rate{N: 1, Per: time.Second}, abuse(c).Rate)
	assert.Equal(t, 1000, abuse(c).DailyQuota)
	assert.Equal(t, "90", abuse(c).Params["max_age_days"])
	assert.Equal(t, "false", abuse(c).Params["verbose"])
	assert.Equal(t, "gemini-3.5-flash-lite", c.Gemini.Model)
	assert.Equal(t, "low", c.Gemini.ThinkingLevel)
	assert.Equal(t, "standard", c.Gemini.ServiceTier)
	assert.Equal(t, DefaultIDFields, c.Input.IDFields)
	assert.Equal(t, ByteSize(4<<30), c.Input.MaxBytes)
	assert.Empty(t, c.IOC.InternalDomains)
	assert.Empty(t, c.Feeds.Categories)
	assert.Equal(t, 7*24*time.Hour, c.Feeds.MaxAge)
	assert.Empty(t, c.Cache.URL)
	assert.Zero(t, vt(c).TTL, "no provider TTL: cache.ttl applies")
	assert.Equal(t, ratelimit.Rate{N: 10, Per: time.Minute}, c.Gemini.Rate)
	assert.Nil(t, c.Gemini.PriceInput)
	assert.Zero(t, c.Gemini.MaxCostUSD)
	assert.Empty(t, c.Feeds.Dirs)
	assert.Equal(t, 24*time.Hour, c.Cache.TTL)
	assert.Equal(t, 6*time.Hour, c.Cache.TTLNotFound)
	assert.Equal(t, 30*time.Second, c.Cache.ClaimLease)
	assert.Equal(t, DefaultCacheDir(), c.Cache.Dir)
	assert.Len(t, c.Scoring.Rules, len(intel.DefaultScoring().Rules))
	assert.Equal(t, []string{"virustotal", "abuseipdb"}, []string{c.Providers[0].Name, c.Providers[1].Name}, "report order")
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, "virustotal:\n  rate: 2/m\n  daily_quota: 100\nabuseipdb:\n  rate: 5/s\ngemini:\n  model: from-file\n")
	tests := []struct {
		name      string
		env       map[string]string
		flags     map[string]string
		wantVT    string
		wantQuota int
		wantModel string
	}{
		{name: "happy path: file over defaults", wantVT: "2/m", wantQuota: 100, wantModel: "from-file"},
		{name: "env over file", env: map[string]string{"VERDICT_VIRUSTOTAL_RATE": "3/m", "VERDICT_GEMINI_MODEL": "from-env"}, wantVT: "3/m", wantQuota: 100, wantModel: "from-env"},
		{name: "flag over env", env: map[string]string{"VERDICT_VIRUSTOTAL_RATE": "3/m"}, flags: map[string]string{"virustotal.rate": "1/m"}, wantVT: "1/m", wantQuota: 100, wantModel: "from-file"},
		{name: "env for a key absent from the file", env: map[string]string{"VERDICT_VIRUSTOTAL_DAILY_QUOTA": "7"}, wantVT: "2/m", wantQuota: 7, wantModel: "from-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := load(t, file, tt.flags)
			require.NoError(t, err)
			assert.Equal(t, tt.wantVT, vt(c).Rate.String())
			assert.Equal(t, tt.wantQuota, vt(c).DailyQuota)
			assert.Equal(t, tt.wantModel, c.Gemini.Model)
			assert.Equal(t, "5/s", abuse(c).Rate.String())
		})
	}
}

// Every key in Keys must be settable through its VERDICT_* variable.
func TestEveryKeyHasAnEnvironmentVariable(t *testing.T) {
	values := map[string]string{
		"virustotal.api_key": "k1", "virustotal.base_url": "http://vt.test/api/v3", "virustotal.rate": "9/h",
		"virustotal.daily_quota": "11", "virustotal.concurrency": "2",
		"abuseipdb.api_key": "k2", "abuseipdb.base_url": "http://ab.test/api/v2", "abuseipdb.rate": "8/d",
		"abuseipdb.daily_quota": "12", "abuseipdb.max_age_days": "30", "abuseipdb.verbose": "true", "abuseipdb.concurrency": "3",
		"gemini.api_key": "k3", "gemini.base_url": "http://gm.test/", "gemini.model": "gemini-2.5-flash-lite",
		"gemini.rate": "5/m", "gemini.price_input_per_mtok": "0.1", "gemini.price_output_per_mtok": "0.4",
		"gemini.max_cost_usd": "1.5", "gemini.thinking_budget": "512", "gemini.timeout": "45s", "gemini.redact": "true",
		"gemini.concurrency": "3", "gemini.max_output_tokens": "1024",
		"feeds.dirs": "/a,/b", "cache.dir": "/tmp/vcache", "cache.ttl": "48h", "cache.ttl_not_found": "1h", "cache.claim_lease": "45s",
		"cache.ttl_by": "virustotal.sha256=720h,abuseipdb=12h", "http.timeout": "5s", "http.max_retries": "1", "http.retry_backoff": "250ms",
		"report.max_details": "10", "report.max_rows": "20", "allowlist": "8.8.8.8,10.0.0.0/8",
		"scoring":        "{cap: 50}",
		"virustotal.ttl": "2d", "abuseipdb.ttl": "",
		"gemini.thinking_level": "high", "gemini.service_tier": "flex",
		"input.id_fields": "event_uid,_id", "input.max_bytes": "512MiB", "ioc.internal_domains": "Corp.Example.com,.lab.example.org",
		"feeds.categories": "feodo*.csv=c2,Tor-*.txt=anonymizer", "feeds.max_age": "36h",
		"cache.url":          "postgres://verdict:s3cret@db.internal:5432/verdict?sslmode=require",
		"virustotal.enabled": "false", "abuseipdb.enabled": "true",
		"rdap.enabled": "true", "rdap.api_key": "", "rdap.base_url": "http://rdap.test/iana", "rdap.rate": "5/s", "rdap.daily_quota": "100",
		"rdap.concurrency": "2", "rdap.ttl": "30d", "rdap.server_rate": "2/s",
		"greynoise.enabled": "true", "greynoise.api_key": "k4", "greynoise.base_url": "http://gn.test", "greynoise.rate": "2/s",
		"greynoise.daily_quota": "40", "greynoise.concurrency": "1", "greynoise.ttl": "", "greynoise.keyless_daily_quota": "5",
		"internetdb.enabled": "false", "internetdb.api_key": "", "internetdb.base_url": "http://idb.test", "internetdb.rate": "3/s",
		"internetdb.daily_quota": "0", "internetdb.concurrency": "1", "internetdb.ttl": "1d",
		"urlhaus.enabled": "true", "urlhaus.api_key": "k6", "urlhaus.base_url": "http://uh.test/v1", "urlhaus.rate": "3/s", "urlhaus.daily_quota": "13",
		"urlhaus.concurrency": "1", "urlhaus.ttl": "3h",
		"threatfox.enabled": "true", "threatfox.api_key": "k5", "threatfox.base_url": "http://tf.test/api/v1", "threatfox.rate": "4/s", "threatfox.daily_quota": "14",
		"threatfox.concurrency": "5", "threatfox.ttl": "90m",
	}
	for _, k := range AllKeys() {
		_, ok := values[k.Name]
		require.True(t, ok, "test has no value for key %s: add one", k.Name)
	}
	clearEnv(t)
	for k, v := range values {
		t.Setenv(EnvName(k), v)
	}
	c, err := load(t, "", nil)
	require.NoError(t, err)
	assert.Equal(t, "k1", vt(c).APIKey.Reveal())
	assert.True(t, vt(c).Disabled, "virustotal.enabled false")
	assert.False(t, abuse(c).Disabled)
	assert.True(t, c.Provider("internetdb").Disabled)
	assert.Equal(t, "2/s", c.Provider("rdap").Params["server_rate"])
	assert.Equal(t, 30*24*time.Hour, c.Provider("rdap").TTL)
	assert.Equal(t, "k4", c.Provider("greynoise").APIKey.Reveal())
	assert.Equal(t, "5", c.Provider("greynoise").Params["keyless_daily_quota"])
	assert.Equal(t, "http://vt.test/api/v3", vt(c).BaseURL)
	assert.Equal(t, "9/h", vt(c).Rate.String())
	assert.Equal(t, 11, vt(c).DailyQuota)
	assert.Equal(t, 2, vt(c).Concurrency)
	assert.Equal(t, "k2", abuse(c).APIKey.Reveal())
	assert.Equal(t, "8/d", abuse(c).Rate.String())
	assert.Equal(t, "30", abuse(c).Params["max_age_days"])
	assert.Equal(t, "true", abuse(c).Params["verbose"])
	assert.Equal(t, 3, abuse(c).Concurrency)
	assert.Equal(t, "k6", c.Provider("urlhaus").APIKey.Reveal())
	assert.Equal(t, "3/s", c.Provider("urlhaus").Rate.String())
	assert.Equal(t, 13, c.Provider("urlhaus").DailyQuota)
	assert.Equal(t, 3*time.Hour, c.TTLFor("urlhaus", "url"))
	assert.Equal(t, "k5", c.Provider("threatfox").APIKey.Reveal())
	assert.Equal(t, "http://tf.test/api/v1", c.Provider("threatfox").BaseURL)
	assert.Equal(t, 5, c.Provider("threatfox").Concurrency)
	assert.Equal(t, 90*time.Minute, c.TTLFor("threatfox", "ipv4"))
	assert.Equal(t, "k3", c.Gemini.APIKey.Reveal())
	assert.Equal(t, "http://gm.test/", c.Gemini.BaseURL)
	assert.Equal(t, "gemini-2.5-flash-lite", c.Gemini.Model)
	require.NotNil(t, c.Gemini.PriceInput)
	assert.InDelta(t, 0.1, *c.Gemini.PriceInput, 1e-9)
	assert.InDelta(t, 0.4, *c.Gemini.PriceOutput, 1e-9)
	assert.InDelta(t, 1.5, c.Gemini.MaxCostUSD, 1e-9)
	assert.Equal(t, 512, c.Gemini.ThinkingBudget)
	assert.Equal(t, 45*time.Second, c.Gemini.Timeout)
	assert.True(t, c.Gemini.Redact)
	assert.Equal(t, 1024, c.Gemini.MaxOutputTokens)
	assert.Equal(t, []string{"/a", "/b"}, c.Feeds.Dirs)
	assert.Equal(t, "/tmp/vcache", c.Cache.Dir)
	assert.Equal(t, 48*time.Hour, c.Cache.TTL)
	assert.Equal(t, time.Hour, c.Cache.TTLNotFound)
	assert.Equal(t, 45*time.Second, c.Cache.ClaimLease)
	assert.Equal(t, 720*time.Hour, c.Cache.TTLFor("virustotal", "sha256"))
	assert.Equal(t, 48*time.Hour, c.Cache.TTLFor("virustotal", "ipv4"))
	assert.Equal(t, 12*time.Hour, c.Cache.TTLFor("abuseipdb", "ipv4"))
	assert.Equal(t, 5*time.Second, c.HTTP.Timeout)
	assert.Equal(t, 1, c.HTTP.MaxRetries)
	assert.Equal(t, 250*time.Millisecond, c.HTTP.RetryBackoff)
	assert.Equal(t, 10, c.Report.MaxDetails)
	assert.Equal(t, 20, c.Report.MaxRows)
	assert.Equal(t, []string{"8.8.8.8", "10.0.0.0/8"}, c.Allowlist)
	assert.Equal(t, 50, c.Scoring.Cap)
	assert.Len(t, c.Scoring.Rules, len(intel.DefaultScoring().Rules), "a partial scoring keeps the default rules")
	assert.Equal(t, 48*time.Hour, vt(c).TTL)
	assert.Equal(t, 720*time.Hour, c.TTLFor("virustotal", "sha256"), "cache.ttl_by wins over <provider>.ttl")
	assert.Equal(t, 48*time.Hour, c.TTLFor("virustotal", "ipv4"), "<provider>.ttl wins over cache.ttl")
	assert.Equal(t, 12*time.Hour, c.TTLFor("abuseipdb", "ipv6"))
	assert.Equal(t, "high", c.Gemini.ThinkingLevel)
	assert.Equal(t, "flex", c.Gemini.ServiceTier)
	assert.Equal(t, []string{"event_uid", "_id"}, c.Input.IDFields)
	assert.Equal(t, ByteSize(512<<20), c.Input.MaxBytes)
	assert.Equal(t, []string{"corp.example.com", "lab.example.org"}, c.IOC.InternalDomains)
	assert.Equal(t, map[string]string{"feodo*.csv": "c2", "tor-*.txt": "anonymizer"}, c.Feeds.Categories)
	assert.Equal(t, 36*time.Hour, c.Feeds.MaxAge)
	assert.Equal(t, "postgres://verdict:s3cret@db.internal:5432/verdict?sslmode=require", c.Cache.URL.Reveal())
	assert.NotContains(t, fmt.Sprint(c.Cache.URL), "s3cret", "the password never prints")
}

func TestAPIKeyAliases(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want [3]string // vt, abuseipdb, gemini
	}{
		{name: "names users already have", env: map[string]string{"VIRUSTOTAL_API_KEY": "vt", "ABUSEIPDB_API_KEY": "ab", "GEMINI_API_KEY": "gm"}, want: [3]string{"vt", "ab", "gm"}},
		{name: "GOOGLE_API_KEY when GEMINI_API_KEY is absent", env: map[string]string{"GOOGLE_API_KEY": "google"}, want: [3]string{"", "", "google"}},
		{name: "GEMINI_API_KEY before GOOGLE_API_KEY", env: map[string]string{"GEMINI_API_KEY": "gemini", "GOOGLE_API_KEY": "google"}, want: [3]string{"", "", "gemini"}},
		{name: "VERDICT_ name wins over the alias", env: map[string]string{"VERDICT_VIRUSTOTAL_API_KEY": "ours", "VIRUSTOTAL_API_KEY": "theirs"}, want: [3]string{"ours", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := load(t, "", nil)
			require.NoError(t, err)
			assert.Equal(t, tt.want, [3]string{vt(c).APIKey.Reveal(), abuse(c).APIKey.Reveal(), c.Gemini.APIKey.Reveal()})
		})
	}
}

func TestSearchOrder(t *testing.T) {
	clearEnv(t)
	xdg := os.Getenv("XDG_CONFIG_HOME")
	require.NoError(t, os.MkdirAll(filepath.Join(xdg, "verdict"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(xdg, "verdict", "config.yaml"), []byte("gemini:\n  model: from-xdg\n"), 0o600))
	wd := t.TempDir()
	t.Chdir(wd)

	v := viper.New()
	Defaults(v)
	used, err := ReadFile(v, "")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(xdg, "verdict", "config.yaml"), used)
	c, err := Load(v)
	require.NoError(t, err)
	assert.Equal(t, "from-xdg", c.Gemini.Model)

	require.NoError(t, os.WriteFile(filepath.Join(wd, "verdict.yaml"), []byte("gemini:\n  model: from-cwd\n"), 0o600))
	v = viper.New()
	Defaults(v)
	used, err = ReadFile(v, "")
	require.NoError(t, err)
	assert.Equal(t, "verdict.yaml", used)
	c, err = Load(v)
	require.NoError(t, err)
	assert.Equal(t, "from-cwd", c.Gemini.Model)

	v = viper.New()
	_, err = ReadFile(v, filepath.Join(wd, "missing.yaml"))
	require.ErrorIs(t, err, ErrConfigFile, "an explicit --config that does not exist is an error")
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string
	}{
		{name: "sad path: bad rate", yaml: "virustotal:\n  rate: 4/fortnight\n", wantErr: "unit must be s, m, h or d"},
		{name: "sad path: negative quota", yaml: "abuseipdb:\n  daily_quota: -1\n", wantErr: "abuseipdb.daily_quota (VERDICT_ABUSEIPDB_DAILY_QUOTA)"},
		{name: "sad path: max age out of range", yaml: "abuseipdb:\n  max_age_days: 400\n", wantErr: "must be 1-365"},
		{name: "sad path: base url without scheme", yaml: "virustotal:\n  base_url: vt.example\n", wantErr: "virustotal.base_url"},
		{name: "sad path: unknown scoring field", yaml: "scoring:\n  rules:\n    - {provider: virustotal, types: [ip], field: evil, points: 1}\n", wantErr: `unknown field "evil"`},
		{name: "sad path: unknown scoring key", yaml: "scoring:\n  rulez: []\n", wantErr: "rulez"},
		{name: "sad path: band verdict", yaml: "scoring:\n  bands:\n    - {min: 0, verdict: FINE}\n", wantErr: `unknown verdict "FINE"`},
		{name: "sad path: bad allowlist entry", yaml: "allowlist: [not an indicator]\n", wantErr: "allowlist"},
		{name: "sad path: bad ttl_by type", yaml: "cache:\n  ttl_by:\n    virustotal:\n      md6: 1h\n", wantErr: "unknown IOC type"},
		{name: "happy path: ttl_by map", yaml: "cache:\n  ttl_by:\n    virustotal:\n      sha256: 720h\n    abuseipdb: 2h\n"},
		{name: "happy path: rate zero is unlimited", yaml: "virustotal:\n  rate: 0\n"},
		{name: "sad path: claim lease too short", yaml: "cache:\n  claim_lease: 100ms\n", wantErr: "cache.claim_lease (VERDICT_CACHE_CLAIM_LEASE): must be at least 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			_, err := load(t, writeFile(t, tt.yaml), nil)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	s := Secret("sk-super-secret-123")
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "key", s)
	js, err := json.Marshal(struct{ K Secret }{s})
	require.NoError(t, err)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %s %#v %+v", s, s, s, s), logged.String(), string(js)} {
		assert.NotContains(t, out, "super-secret", out)
	}
	assert.Equal(t, "sk-super-secret-123", s.Reveal())
}

// samples/verdict.example.yaml is generated from the key table and the
// registrations: it must be exactly what Example renders (-update rewrites
// it), document every key, and load cleanly.
func TestExampleConfig(t *testing.T) {
	clearEnv(t)
	path := filepath.Join(testutil.RepoRoot(t), "samples", "verdict.example.yaml")
	got := Example()
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(raw), got, "samples/verdict.example.yaml is stale: run go test ./pkg/config -run TestExampleConfig -update")
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	for _, k := range AllKeys() {
		parts := strings.Split(k.Name, ".")
		var cur any = doc
		for _, p := range parts {
			m, ok := cur.(map[string]any)
			require.True(t, ok, "key %s: %v is not a map", k.Name, cur)
			cur, ok = m[p]
			require.True(t, ok, "samples/verdict.example.yaml does not document %s", k.Name)
		}
	}
	_, err = load(t, path, nil)
	require.NoError(t, err)
	for _, want := range []string{"VIRUSTOTAL_API_KEY", "max_age_days: 90", "virustotal-ip", "thinking_level: low", "abuse_confidence_score"} {
		assert.Contains(t, got, want)
	}
}

// One abuse.ch Auth-Key serves URLhaus and ThreatFox: ABUSECH_API_KEY sets
// both, a provider's own variable wins over it, VERDICT_* over both; the
// providers' own TTLs and limits are their defaults.
func TestAbuseChKeys(t *testing.T) {
	clearEnv(t)
	t.Setenv("ABUSECH_API_KEY", "shared")
	t.Setenv("THREATFOX_API_KEY", "tf-own")
	c, err := load(t, "", nil)
	require.NoError(t, err)
	assert.Equal(t, "shared", c.Provider("urlhaus").APIKey.Reveal())
	assert.Equal(t, "tf-own", c.Provider("threatfox").APIKey.Reveal())
	assert.Equal(t, 6*time.Hour, c.TTLFor("urlhaus", "url"))
	assert.Equal(t, 12*time.Hour, c.TTLFor("threatfox", "domain"))
	assert.Equal(t, "2/s", c.Provider("urlhaus").Rate.String())
	assert.Equal(t, 5000, c.Provider("threatfox").DailyQuota)

	t.Setenv("VERDICT_URLHAUS_API_KEY", "verdict-own")
	c, err = load(t, "", nil)
	require.NoError(t, err)
	assert.Equal(t, "verdict-own", c.Provider("urlhaus").APIKey.Reveal())
}

// The sources beyond VirusTotal and AbuseIPDB are opt-in: a keyless one
// is off until enabled, one that takes a key is on once the key is set, and
// enabled: true/false always wins.
func TestOptInProviders(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want map[string]bool // provider -> enabled
	}{
		{name: "defaults: only the built-in sources", want: map[string]bool{
			"virustotal": true, "abuseipdb": true, "rdap": false, "greynoise": false, "internetdb": false, "urlhaus": false, "threatfox": false}},
		{name: "a key switches an opt-in source on", env: map[string]string{"ABUSECH_API_KEY": "k-abusech-0123", "GREYNOISE_API_KEY": "k-gn-0123456"},
			want: map[string]bool{"urlhaus": true, "threatfox": true, "greynoise": true, "rdap": false}},
		{name: "enabled true switches a keyless source on", env: map[string]string{"VERDICT_RDAP_ENABLED": "true", "VERDICT_INTERNETDB_ENABLED": "on"},
			want: map[string]bool{"rdap": true, "internetdb": true}},
		{name: "enabled false wins over a key", env: map[string]string{"ABUSECH_API_KEY": "k-abusech-0123", "VERDICT_URLHAUS_ENABLED": "false", "VERDICT_VIRUSTOTAL_ENABLED": "false"},
			want: map[string]bool{"urlhaus": false, "threatfox": true, "virustotal": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			v := viper.New()
			Defaults(v)
			c, err := Load(v)
			require.NoError(t, err)
			for name, on := range tt.want {
				require.NotNil(t, c.Provider(name), name)
				assert.Equal(t, !on, c.Provider(name).Disabled, name)
			}
		})
	}
	clearEnv(t)
	t.Setenv("VERDICT_RDAP_ENABLED", "sometimes")
	v := viper.New()
	Defaults(v)
	_, err := Load(v)
	require.ErrorContains(t, err, "rdap.enabled")
	require.ErrorContains(t, err, "want true, false or auto")
}
