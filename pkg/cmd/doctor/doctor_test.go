package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/viper"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/cache/pgtest"
	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/config"
	_ "github.com/verdict-dev/verdict/pkg/intel/all" // the providers doctor checks
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/internal/testutil"
	"github.com/verdict-dev/verdict/pkg/iostreams"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const (
	vtKey     = "vt-doctor-key-0123456789abcdef-secret"
	abuseKey  = "abuseipdb-doctor-key-0123456789abcdef-secret"
	geminiKey = "AIza-doctor-gemini-key-0123456789abcdef"
)

// clearEnv hides every variable the configuration reads, so a test sees
// only its own (the CI machine's keys never leak in).
func clearEnv(t *testing.T) {
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
}

// vtFake answers VirusTotal's quota summary as mode says: ok, 401, 429 or
// down (the server is closed).
type vtFake struct {
	*httptest.Server
	mode atomic.Value
	hits atomic.Int32
}

func newVTFake(t *testing.T) *vtFake {
	v := &vtFake{}
	v.mode.Store("ok")
	v.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("x-apikey") != vtKey || r.URL.Path != "/api/v3/users/"+vtKey+"/overall_quotas" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"code":"WrongCredentialsError","message":"Wrong API key"}}`)
			return
		}
		switch v.mode.Load() {
		case "429":
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"code":"QuotaExceededError","message":"Quota exceeded"}}`)
		default:
			io.WriteString(w, `{"data":{"api_requests_daily":{"user":{"used":12,"allowed":500}}}}`)
		}
	}))
	t.Cleanup(v.Close)
	return v
}

// fixture is a whole setup: fakes for every service, a feeds directory, a
// cache directory and a config file.
type fixture struct {
	dir    string
	vt     *vtFake
	abuse  *inteltest.AbuseIPDB
	gemini *inteltest.Gemini
	keys   map[string]any // config keys (dotted) written to the file
	env    []string       // the environment doctor sees
	now    time.Time
}

func newFixture(t *testing.T) *fixture {
	clearEnv(t)
	f := &fixture{dir: t.TempDir(), vt: newVTFake(t), abuse: inteltest.NewAbuseIPDB(t, abuseKey), gemini: inteltest.NewGemini(t, geminiKey),
		now: time.Now().UTC().Truncate(time.Second)}
	feeds := filepath.Join(f.dir, "feeds")
	require.NoError(t, os.MkdirAll(feeds, 0o755))
	f.writeFeed(t, "abusech-feodo-ipblocklist.csv", f.now.Add(-time.Hour))
	f.keys = map[string]any{
		"virustotal.api_key": vtKey, "virustotal.base_url": f.vt.URL + "/api/v3",
		"abuseipdb.api_key": abuseKey, "abuseipdb.base_url": f.abuse.BaseURL(),
		"gemini.api_key": geminiKey, "gemini.base_url": f.gemini.URL + "/",
		"feeds.dirs": []string{feeds}, "cache.dir": filepath.Join(f.dir, "cache"),
	}
	return f
}

func (f *fixture) writeFeed(t *testing.T, name string, updated time.Time) {
	t.Helper()
	body := "# abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV)\n# Last updated: " + updated.UTC().Format("2006-01-02 15:04:05") + " UTC\n#\n" +
		`"first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"` + "\n" +
		`"2026-11-23 17:51:44","192.9.135.73","1194","online","2026-12-01","Pikabot"` + "\n# END 1 entries"
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, "feeds", name), []byte(body), 0o644))
}

// configFile writes f.keys as YAML and returns its path.
func (f *fixture) configFile(t *testing.T, extra string) string {
	t.Helper()
	doc := map[string]any{}
	for k, v := range f.keys {
		sec, key, _ := strings.Cut(k, ".")
		m, _ := doc[sec].(map[string]any)
		if m == nil {
			m = map[string]any{}
			doc[sec] = m
		}
		m[key] = v
	}
	b, err := yaml.Marshal(doc)
	require.NoError(t, err)
	p := filepath.Join(f.dir, "verdict.yaml")
	require.NoError(t, os.WriteFile(p, append(b, extra...), 0o600))
	return p
}

// run runs doctor as root would: a viper with the defaults, the file read.
func (f *fixture) run(t *testing.T, extraYAML string, mod func(*Options)) (*Result, error, string) {
	t.Helper()
	v := viper.New()
	config.Defaults(v)
	_, err := config.ReadFile(v, f.configFile(t, extraYAML))
	require.NoError(t, err)
	ios, _, out, _ := iostreams.Test()
	o := &Options{IO: ios, Viper: v, JSON: true, Now: func() time.Time { return f.now }, Environ: func() []string { return f.env }}
	if mod != nil {
		mod(o)
	}
	runErr := Run(context.Background(), o)
	var res Result
	require.NoError(t, json.Unmarshal(out.Bytes(), &res), out.String())
	return &res, runErr, out.String()
}

func byID(res *Result) map[string]Check {
	out := map[string]Check{}
	for _, c := range res.Checks {
		out[c.ID] = c
	}
	return out
}

const feedID = "feed.abusech-feodo-ipblocklist.csv"

func TestRun(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T, f *fixture)
		yaml     string // appended to the config file
		opts     func(o *Options)
		want     map[string]Status
		wantMsg  map[string]string // substrings of Message, Details or Fix
		wantFail bool
		after    func(t *testing.T, f *fixture, res *Result)
	}{
		{
			name: "happy path: every check passes",
			want: map[string]Status{
				"config.file": StatusOK, "config.settings": StatusOK, "config.unknown": StatusOK, "config.values": StatusOK,
				"provider.virustotal": StatusOK, "provider.abuseipdb": StatusOK,
				"gemini.key": StatusOK, "gemini.model": StatusOK, "cache.database": StatusOK,
				feedID: StatusOK, "attack.matrix": StatusOK,
			},
			wantMsg: map[string]string{
				"provider.virustotal": "key accepted; VirusTotal counts 12 of 500 requests today",
				"provider.abuseipdb":  "API reachable; key not checked",
				"gemini.model":        "exists (models.get; no tokens billed)",
				feedID:                "c2, 1 entries (csv)",
				"config.settings":     "virustotal.api_key",
			},
			after: func(t *testing.T, f *fixture, res *Result) {
				c := byID(res)
				assert.NotNil(t, c["provider.virustotal"].LatencyMS)
				assert.NotNil(t, c["gemini.model"].LatencyMS)
				assert.Equal(t, &KeyFacts{Present: true, Accepted: ptr(true)}, c["provider.virustotal"].Key)
				assert.Equal(t, &KeyFacts{Present: true}, c["provider.abuseipdb"].Key, "accepted: unknown")
				assert.Equal(t, &QuotaFacts{UsedToday: 0, DailyQuota: 500}, c["provider.virustotal"].Quota)
				assert.Equal(t, []string{"gemini-3.5-flash-lite"}, f.gemini.ModelGets())
				assert.Empty(t, f.gemini.Requests(), "models.get only: no generateContent")
				for _, r := range f.abuse.Requests() {
					assert.Empty(t, r.Header.Get("Key"), "the AbuseIPDB key is never sent")
				}
				m := c["gemini.model"].Model
				require.NotNil(t, m)
				assert.Equal(t, "level low", m.Thinking)
				assert.InDelta(t, 0.30, *m.PriceInput, 1e-9)
				assert.InDelta(t, 2.50, *m.PriceOutput, 1e-9)
				assert.Equal(t, true, *m.Exists)
				assert.Equal(t, StatusOK, res.Status)
				assert.False(t, c[feedID].Feed.Stale)
				assert.Equal(t, int64(3600), c[feedID].Feed.AgeSeconds)
			},
		},
		{
			name:     "sad path: VirusTotal rejects the key",
			setup:    func(t *testing.T, f *fixture) { f.keys["virustotal.api_key"] = "vt-wrong-key-0123456789abcdef-xx" },
			want:     map[string]Status{"provider.virustotal": StatusFail, "provider.abuseipdb": StatusOK},
			wantMsg:  map[string]string{"provider.virustotal": "API key rejected: WrongCredentialsError"},
			wantFail: true,
		},
		{
			name:     "sad path: VirusTotal cannot be reached",
			setup:    func(t *testing.T, f *fixture) { f.vt.Close() },
			want:     map[string]Status{"provider.virustotal": StatusFail},
			wantMsg:  map[string]string{"provider.virustotal": "check failed"},
			wantFail: true,
		},
		{
			name:    "warn: VirusTotal says its quota is spent",
			setup:   func(t *testing.T, f *fixture) { f.vt.mode.Store("429") },
			want:    map[string]Status{"provider.virustotal": StatusWarn},
			wantMsg: map[string]string{"provider.virustotal": "its quota is spent at the provider"},
		},
		{
			name: "warn: verdict's own count of today's quota is spent",
			setup: func(t *testing.T, f *fixture) {
				s, err := cache.Open(filepath.Join(f.dir, "cache", "verdict"))
				require.NoError(t, err)
				for range 3 {
					_, err := s.Take(context.Background(), "virustotal", 10)
					require.NoError(t, err)
				}
				require.NoError(t, s.Close())
				f.keys["cache.dir"] = filepath.Join(f.dir, "cache", "verdict")
				f.keys["virustotal.daily_quota"] = 3
			},
			want:    map[string]Status{"provider.virustotal": StatusWarn, "cache.database": StatusOK},
			wantMsg: map[string]string{"provider.virustotal": "today's quota is spent"},
			after: func(t *testing.T, f *fixture, res *Result) {
				assert.Equal(t, &QuotaFacts{UsedToday: 3, DailyQuota: 3}, byID(res)["provider.virustotal"].Quota)
			},
		},
		{
			name: "sad path: a retired model that Google no longer knows",
			setup: func(t *testing.T, f *fixture) {
				f.keys["gemini.model"] = "gemini-2.5-flash"
				f.gemini.ModelStatus = func(string) int { return http.StatusNotFound }
			},
			want:     map[string]Status{"gemini.model": StatusFail, "gemini.key": StatusOK},
			wantMsg:  map[string]string{"gemini.model": `gemini model "gemini-2.5-flash" does not exist (it was shut down on 2026-12-01)`},
			wantFail: true,
			after: func(t *testing.T, f *fixture, res *Result) {
				c := byID(res)["gemini.model"]
				assert.Contains(t, c.Fix, "gemini-3.5-flash-lite")
				assert.Equal(t, false, *c.Model.Exists)
				assert.Empty(t, f.gemini.Requests(), "nothing generated")
			},
		},
		{
			name:    "warn: a retired model Google re-routes",
			setup:   func(t *testing.T, f *fixture) { f.keys["gemini.model"] = "gemini-2.5-flash" },
			want:    map[string]Status{"gemini.model": StatusWarn},
			wantMsg: map[string]string{"gemini.model": "shut down on 2026-12-01: Google answers its requests with gemini-3.5-flash-lite"},
			after: func(t *testing.T, f *fixture, res *Result) {
				m := byID(res)["gemini.model"].Model
				assert.Equal(t, "gemini-3.5-flash-lite", m.Serving)
				assert.Equal(t, "level low", m.Thinking, "the re-routed model's rules")
			},
		},
		{
			name:     "sad path: Gemini rejects the key",
			setup:    func(t *testing.T, f *fixture) { f.keys["gemini.api_key"] = "AIza-wrong-gemini-key-0123456789abcd" },
			want:     map[string]Status{"gemini.key": StatusFail, "gemini.model": StatusSkip},
			wantMsg:  map[string]string{"gemini.key": "rejected"},
			wantFail: true,
		},
		{
			name: "sad path: a thinking level the model refuses",
			setup: func(t *testing.T, f *fixture) {
				f.keys["gemini.model"] = "gemini-3.8-flash"
				f.keys["gemini.thinking_level"] = "minimal"
			},
			want:     map[string]Status{"gemini.model": StatusFail},
			wantMsg:  map[string]string{"gemini.model": "gemini.thinking_level: gemini-3.8-flash does not take \"minimal\""},
			wantFail: true,
			after: func(t *testing.T, f *fixture, res *Result) {
				assert.Empty(t, f.gemini.ModelGets(), "refused before asking")
				assert.Contains(t, byID(res)["gemini.model"].Fix, "VERDICT_GEMINI_THINKING_LEVEL")
			},
		},
		{
			name: "warn: a stale feed (an abuse.ch feed two years old)",
			setup: func(t *testing.T, f *fixture) {
				f.writeFeed(t, "abusech-feodo-ipblocklist.csv", time.Date(2024, 4, 4, 7, 3, 3, 0, time.UTC))
			},
			want:    map[string]Status{feedID: StatusWarn},
			wantMsg: map[string]string{feedID: "older than feeds.max_age (7d)"},
			after: func(t *testing.T, f *fixture, res *Result) {
				c := byID(res)[feedID]
				assert.True(t, c.Feed.Stale)
				assert.Equal(t, "header", c.Feed.UpdatedFrom)
				assert.Equal(t, "2024-04-04T07:03:03Z", c.Feed.Updated)
				assert.Contains(t, c.Fix, "verdict feeds update")
				assert.Equal(t, StatusWarn, res.Status, "warnings do not fail")
			},
		},
		{
			name: "sad path: a corrupt cache is reported, not healed",
			setup: func(t *testing.T, f *fixture) {
				dir := filepath.Join(f.dir, "cache")
				require.NoError(t, os.MkdirAll(dir, 0o700))
				require.NoError(t, os.WriteFile(filepath.Join(dir, cache.FileName), bytes.Repeat([]byte("not a database "), 100), 0o600))
			},
			want:     map[string]Status{"cache.database": StatusFail, "provider.virustotal": StatusOK},
			wantMsg:  map[string]string{"cache.database": "cache database is corrupt"},
			wantFail: true,
			after: func(t *testing.T, f *fixture, res *Result) {
				b, err := os.ReadFile(filepath.Join(f.dir, "cache", cache.FileName))
				require.NoError(t, err)
				assert.True(t, bytes.HasPrefix(b, []byte("not a database")), "left as it was")
				aside, _ := filepath.Glob(filepath.Join(f.dir, "cache", "*.corrupt-*"))
				assert.Empty(t, aside)
				assert.Contains(t, byID(res)["cache.database"].Fix, "moves it aside")
			},
		},
		{
			name: "sad path: unknown keys are reported and everything else still checked",
			yaml: "report:\n  max_rowz: 5\n",
			setup: func(t *testing.T, f *fixture) {
				f.env = []string{"VERDICT_VIRUSTOTAL_RAET=4/m", "PATH=/bin"}
			},
			want:     map[string]Status{"config.unknown": StatusFail, "config.values": StatusOK, "provider.virustotal": StatusOK, feedID: StatusOK},
			wantMsg:  map[string]string{"config.unknown": "every other command refuses this configuration (exit 2)"},
			wantFail: true,
			after: func(t *testing.T, f *fixture, res *Result) {
				c := byID(res)["config.unknown"]
				assert.Equal(t, []string{"report.max_rowz", "VERDICT_VIRUSTOTAL_RAET"}, byID(res)["config.file"].Config.Unknown)
				joined := strings.Join(c.Details, "\n")
				assert.Contains(t, joined, "did you mean report.max_rows?")
				assert.Contains(t, joined, "did you mean VERDICT_VIRUSTOTAL_RATE?")
			},
		},
		{
			name:     "sad path: invalid values skip the checks that need them",
			yaml:     "http:\n  timeout: -5s\n",
			want:     map[string]Status{"config.values": StatusFail, "providers": StatusSkip, "cache": StatusSkip, "attack.matrix": StatusOK},
			wantMsg:  map[string]string{"config.values": "http.timeout"},
			wantFail: true,
		},
		{
			name: "sad path: an unreadable config file is reported",
			opts: func(o *Options) {
				o.FileErr = fmt.Errorf("%w /etc/verdict.yaml: yaml: line 3: mapping values are not allowed here", config.ErrConfigFile)
			},
			want:     map[string]Status{"config.file": StatusFail},
			wantMsg:  map[string]string{"config.file": "yaml: line 3"},
			wantFail: true,
		},
		{
			name:     "sad path: a feeds directory that does not exist",
			setup:    func(t *testing.T, f *fixture) { f.keys["feeds.dirs"] = []string{filepath.Join(f.dir, "nope")} },
			want:     map[string]Status{"feeds.dirs": StatusFail},
			wantMsg:  map[string]string{"feeds.dirs": "cannot be loaded"},
			wantFail: true,
		},
		{
			name: "warn: no keys, no feeds",
			setup: func(t *testing.T, f *fixture) {
				delete(f.keys, "virustotal.api_key")
				delete(f.keys, "abuseipdb.api_key")
				delete(f.keys, "gemini.api_key")
				delete(f.keys, "feeds.dirs")
			},
			want: map[string]Status{"provider.virustotal": StatusWarn, "provider.abuseipdb": StatusWarn, "gemini.key": StatusWarn,
				"gemini.model": StatusSkip, "feeds.dirs": StatusWarn},
			wantMsg: map[string]string{"provider.virustotal": "no API key", "feeds.dirs": "verdict feeds update --dir DIR"},
			after: func(t *testing.T, f *fixture, res *Result) {
				assert.Zero(t, f.vt.hits.Load())
				assert.Empty(t, f.abuse.Requests())
				assert.Empty(t, f.gemini.ModelGets())
				assert.Equal(t, "level low", byID(res)["gemini.model"].Model.Thinking, "settings checked without a key")
			},
		},
		{
			name: "offline: nothing is sent, and it says so",
			opts: func(o *Options) { o.Offline = true },
			want: map[string]Status{"provider.virustotal": StatusSkip, "provider.abuseipdb": StatusSkip, "gemini.model": StatusSkip,
				"cache.database": StatusOK, feedID: StatusOK},
			wantMsg: map[string]string{"provider.virustotal": "not contacted (--offline); API key present", "gemini.model": "not asked (--offline)"},
			after: func(t *testing.T, f *fixture, res *Result) {
				assert.True(t, res.Offline)
				assert.Zero(t, f.vt.hits.Load())
				assert.Empty(t, f.abuse.Requests())
				assert.Empty(t, f.gemini.ModelGets())
				assert.Nil(t, byID(res)["provider.virustotal"].LatencyMS)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.setup != nil {
				tt.setup(t, f)
			}
			res, err, raw := f.run(t, tt.yaml, tt.opts)
			got := byID(res)
			for id, want := range tt.want {
				c, ok := got[id]
				require.True(t, ok, "no check %s in %s", id, raw)
				assert.Equal(t, want, c.Status, "%s: %s %v", id, c.Message, c.Details)
			}
			for id, want := range tt.wantMsg {
				c := got[id]
				assert.Contains(t, c.Message+"\n"+strings.Join(c.Details, "\n")+"\n"+c.Fix, want, id)
			}
			if tt.wantFail {
				var ec *cmdutil.ExitCodeError
				require.True(t, errors.As(err, &ec), "%v", err)
				assert.Equal(t, 1, ec.Code)
				assert.ErrorIs(t, err, ErrChecksFailed)
				assert.Equal(t, StatusFail, res.Status)
			} else {
				require.NoError(t, err)
				assert.NotEqual(t, StatusFail, res.Status)
			}
			for _, secret := range []string{vtKey, abuseKey, geminiKey} {
				assert.NotContains(t, raw, secret, "a key never appears in doctor's output")
			}
			if tt.after != nil {
				tt.after(t, f, res)
			}
		})
	}
}

// The JSON layout is a contract (schema_version 1): these names stay.
func TestJSONShape(t *testing.T) {
	f := newFixture(t)
	_, err, raw := f.run(t, "", func(o *Options) { o.Offline = true })
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(raw), &doc))
	for _, k := range []string{"schema_version", "tool", "generated_at", "offline", "status", "counts", "checks"} {
		assert.Contains(t, doc, k)
	}
	assert.EqualValues(t, 1, doc["schema_version"])
	assert.Len(t, doc["counts"], 4, "every status is counted, zero or not")
	checks := doc["checks"].([]any)
	require.NotEmpty(t, checks)
	for _, c := range checks {
		m := c.(map[string]any)
		for _, k := range []string{"id", "section", "name", "status", "message"} {
			assert.Contains(t, m, k, m["id"])
		}
		assert.Contains(t, []any{"ok", "warn", "fail", "skip"}, m["status"])
	}
	var feedCheck map[string]any
	for _, c := range checks {
		if m := c.(map[string]any); m["id"] == feedID {
			feedCheck = m
		}
	}
	require.NotNil(t, feedCheck)
	fc := feedCheck["feed"].(map[string]any)
	for _, k := range []string{"path", "format", "category", "entries", "updated", "updated_from", "age_seconds", "stale"} {
		assert.Contains(t, fc, k)
	}
}

// The table for people: sections, statuses, details and fixes, and
// nothing a file said can move the cursor.
func TestWriteTable(t *testing.T) {
	t.Parallel()
	res := &Result{Status: StatusOK, Counts: map[Status]int{}, Offline: true}
	for _, c := range []Check{
		{ID: "config.file", Section: SectionConfig, Name: "config file", Status: StatusOK, Message: "/etc/verdict/config.yaml"},
		{ID: "provider.virustotal", Section: SectionProviders, Name: "VirusTotal", Status: StatusSkip, Message: "not contacted (--offline); API key present",
			Details: []string{"verdict counted 37 of 500 requests today (UTC)"}},
		{ID: "provider.abuseipdb", Section: SectionProviders, Name: "AbuseIPDB", Status: StatusWarn, Message: "no API key",
			Fix: "set abuseipdb.api_key (VERDICT_ABUSEIPDB_API_KEY, ABUSEIPDB_API_KEY)"},
		{ID: "gemini.model", Section: SectionGemini, Name: "gemini-2.5-flash", Status: StatusFail, Message: "does not exist", LatencyMS: ptr(int64(212))},
		{ID: "feed.x", Section: SectionFeeds, Name: "evil\x1b]52;c;aGk=\x07.txt", Status: StatusOK, Message: "listed, 1 entries\x1b[2J"},
	} {
		res.add(c)
	}
	var b bytes.Buffer
	require.NoError(t, writeTable(&b, res))
	assert.NotContains(t, b.String(), "\x1b")
	assert.NotContains(t, b.String(), "\x07")
	testutil.Golden(t, *update, b.Bytes())
}

func TestNewCmdDoctor(t *testing.T) {
	tests := []struct {
		name     string
		cli      string
		want     func(t *testing.T, o *Options)
		wantsErr string
	}{
		{name: "happy path: defaults", cli: "", want: func(t *testing.T, o *Options) {
			assert.False(t, o.Offline)
			assert.False(t, o.JSON)
			assert.Empty(t, o.FlagsSet)
		}},
		{name: "happy path: --offline --json and the flags that set keys", cli: "--offline --json --feeds /srv/feeds --cache-dir /var/cache/verdict", want: func(t *testing.T, o *Options) {
			assert.True(t, o.Offline)
			assert.True(t, o.JSON)
			assert.Equal(t, []string{"--feeds (feeds.dirs)", "--cache-dir (cache.dir)"}, o.FlagsSet)
			assert.Equal(t, []string{"/srv/feeds"}, o.Viper.GetStringSlice("feeds.dirs"))
		}},
		{name: "sad path: no arguments", cli: "now", wantsErr: `unknown command "now"`},
		{name: "sad path: unknown flag", cli: "--fix", wantsErr: "unknown flag: --fix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			var got *Options
			cmd := NewCmdDoctor(cmdutil.NewFactory(ios), func(_ context.Context, o *Options) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(tt.cli))
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			_, err := cmd.ExecuteC()
			if tt.wantsErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantsErr)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, got)
			tt.want(t, got)
		})
	}
}

// With cache.url the cache is PostgreSQL: opened, counted, never printed
// with its password.
func TestRun_PostgresCache(t *testing.T) {
	f := newFixture(t)
	url := pgtest.NewDatabase(t)
	f.keys["cache.url"] = url
	res, err, raw := f.run(t, "", func(o *Options) { o.Offline = true })
	require.NoError(t, err)
	c := byID(res)["cache.database"]
	assert.Equal(t, StatusOK, c.Status, c.Message)
	assert.Equal(t, "postgres", c.Cache.Backend)
	assert.Contains(t, c.Message, "PostgreSQL")
	assert.Nil(t, c.Cache.FreeBytes, "free disk is the server's")
	_, hasDisk := byID(res)["cache.disk"]
	assert.False(t, hasDisk)
	assert.NotContains(t, raw, pgtest.Shared(t).Password)
	// The connection, as the server reports it.
	conn := c.Cache.Connection
	require.NotNil(t, conn, "connection facts")
	u, err := neturl.Parse(url)
	require.NoError(t, err)
	assert.Equal(t, strings.TrimPrefix(u.Path, "/"), conn.Database)
	assert.Equal(t, pgtest.User, conn.User)
	assert.Equal(t, "disable", conn.SSLMode)
	assert.False(t, conn.TLS)
	assert.True(t, conn.Local)
	assert.Regexp(t, `^\d+`, conn.ServerVersion)
	assert.Positive(t, conn.SchemaVersion)
	assert.Equal(t, conn.SchemaLatest, conn.SchemaVersion)
	assert.Contains(t, c.Details, "server PostgreSQL "+conn.ServerVersion+"; database "+conn.Database+", user verdict")
	assert.Contains(t, c.Details, "sslmode disable: not encrypted, on this machine")
	assert.Contains(t, c.Details, fmt.Sprintf("schema version %d (this verdict's: %d)", conn.SchemaVersion, conn.SchemaLatest))
	assert.NotContains(t, c.Cache.Location, ":"+pgtest.Shared(t).Password)

	// The text output shows the same lines, without the password.
	ios, _, out, _ := iostreams.Test()
	v := viper.New()
	config.Defaults(v)
	_, err = config.ReadFile(v, f.configFile(t, ""))
	require.NoError(t, err)
	v.Set("cache.url", url)
	require.NoError(t, Run(context.Background(), &Options{IO: ios, Viper: v, Offline: true, Now: func() time.Time { return f.now }, Environ: func() []string { return f.env }}))
	assert.Contains(t, out.String(), "server PostgreSQL "+conn.ServerVersion)
	assert.Contains(t, out.String(), "sslmode disable")
	assert.Contains(t, out.String(), "postgresql://verdict@127.0.0.1:")
	assert.NotContains(t, out.String(), pgtest.Shared(t).Password)

	f.keys["cache.url"] = "postgres://verdict:s3cret-pw-0123456789@127.0.0.1:1/verdict?sslmode=disable&connect_timeout=2"
	res, err, raw = f.run(t, "", func(o *Options) { o.Offline = true })
	require.Error(t, err)
	assert.Equal(t, StatusFail, byID(res)["cache.database"].Status)
	assert.NotContains(t, raw, "s3cret-pw-0123456789")
}

func TestCheckDisk(t *testing.T) {
	real := diskFree
	t.Cleanup(func() { diskFree = real })
	dir := t.TempDir()
	tests := []struct {
		name    string
		free    uint64
		err     error
		want    Status
		wantMsg string
	}{
		{name: "happy path: plenty", free: 50 << 30, want: StatusOK, wantMsg: "50.0 GiB free at " + dir},
		{name: "warn: under 1 GiB", free: 700 << 20, want: StatusWarn, wantMsg: "700.0 MiB free"},
		{name: "sad path: under 100 MiB", free: 20 << 20, want: StatusFail, wantMsg: "20.0 MiB free"},
		{name: "skip: the system cannot tell", err: errors.New("not supported"), want: StatusSkip, wantMsg: "cannot tell on this system"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked string
			diskFree = func(p string) (uint64, error) { asked = p; return tt.free, tt.err }
			facts := &CacheFacts{}
			// The cache directory does not exist yet: its nearest existing
			// parent is measured.
			c := (&runner{}).checkDisk(filepath.Join(dir, "not", "yet"), facts)
			assert.Equal(t, dir, asked)
			assert.Equal(t, tt.want, c.Status)
			assert.Contains(t, c.Message, tt.wantMsg)
			if tt.err == nil {
				assert.Equal(t, tt.free, *facts.FreeBytes)
			}
		})
	}
	// The real one answers here.
	free, err := real(dir)
	require.NoError(t, err)
	assert.Positive(t, free)
}

// What doctor makes of a PostgreSQL connection: an unencrypted one to
// another machine is a warning, with the fix.
func TestConnectionFacts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		in         cache.PostgresInfo
		want       Status
		wantDetail string
		wantFix    string
	}{
		{name: "verify-full to a server elsewhere", in: cache.PostgresInfo{SSLMode: "verify-full", TLS: true},
			want: StatusOK, wantDetail: "sslmode verify-full: encrypted (TLS)"},
		{name: "require: encrypted, certificate unchecked", in: cache.PostgresInfo{SSLMode: "require", TLS: true},
			want: StatusOK, wantDetail: "the server's certificate is not checked against its name: sslmode=verify-full does"},
		{name: "unset, and the server offers TLS", in: cache.PostgresInfo{TLS: true},
			want: StatusOK, wantDetail: "sslmode not set (prefer): encrypted (TLS)"},
		{name: "unencrypted on this machine", in: cache.PostgresInfo{SSLMode: "disable", Local: true},
			want: StatusOK, wantDetail: "sslmode disable: not encrypted, on this machine"},
		{name: "warn: unencrypted across the network", in: cache.PostgresInfo{SSLMode: "prefer"},
			want: StatusWarn, wantDetail: "sslmode prefer: not encrypted", wantFix: "sslmode=verify-full"},
		{name: "warn: unset and the server has no TLS", in: cache.PostgresInfo{},
			want: StatusWarn, wantDetail: "sslmode not set (prefer): not encrypted", wantFix: "VERDICT_CACHE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.ServerVersion, tt.in.Database, tt.in.User, tt.in.SchemaVersion, tt.in.LatestSchema = "17.2", "verdict", "soc", 2, 2
			c := Check{Status: StatusOK}
			facts := &CacheFacts{}
			connectionFacts(&c, facts, tt.in)
			assert.Equal(t, tt.want, c.Status)
			assert.Contains(t, c.Details, tt.wantDetail)
			assert.Contains(t, c.Details, "server PostgreSQL 17.2; database verdict, user soc")
			assert.Contains(t, c.Details, "schema version 2 (this verdict's: 2)")
			if tt.wantFix == "" {
				assert.Empty(t, c.Fix)
			} else {
				assert.Contains(t, c.Fix, tt.wantFix)
			}
			require.NotNil(t, facts.Connection)
			assert.Equal(t, tt.in.TLS, facts.Connection.TLS)
			assert.Equal(t, tt.in.SSLMode, facts.Connection.SSLMode)
		})
	}
}
