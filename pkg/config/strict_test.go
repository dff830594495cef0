package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUnknownKeysInTheFile(t *testing.T) {
	tests := []struct {
		name     string
		ext      string
		body     string
		wantKeys []string // each unknown key, with its suggestion after "=>"
	}{
		{name: "sad path: feeds.dir for feeds.dirs", body: "feeds:\n  dir: /srv/feeds\n", wantKeys: []string{`"feeds.dir" => feeds.dirs`}},
		{name: "sad path: a typo in a provider key", body: "virustotal:\n  raet: 4/m\n", wantKeys: []string{`"virustotal.raet" => virustotal.rate`}},
		{name: "sad path: a misspelt section names its leaves", body: "virustotl:\n  rate: 4/m\n  daily_quota: 5\n",
			wantKeys: []string{`"virustotl.daily_quota" => virustotal.daily_quota`, `"virustotl.rate" => virustotal.rate`}},
		{name: "sad path: a provider's own key on the wrong provider", body: "virustotal:\n  max_age_days: 30\n", wantKeys: []string{`"virustotal.max_age_days" => abuseipdb.max_age_days`}},
		{name: "sad path: top-level typo", body: "allowlst: [8.8.8.8]\n", wantKeys: []string{`"allowlst" => allowlist`}},
		{name: "sad path: gemini key", body: "gemini:\n  thinking_levle: high\n", wantKeys: []string{`"gemini.thinking_levle" => gemini.thinking_level`}},
		{name: "sad path: nothing close", body: "zzzzzzzzzz: 1\n", wantKeys: []string{`"zzzzzzzzzz" => `}},
		{name: "sad path: JSON file", ext: ".json", body: `{"cache": {"ttl_notfound": "1h"}}`, wantKeys: []string{`"cache.ttl_notfound" => cache.ttl_not_found`}},
		{name: "happy path: every known key, case-insensitive", body: "Feeds:\n  Dirs: []\nVIRUSTOTAL:\n  Rate: 4/m\n"},
		{name: "happy path: free-form maps are their parsers' business", body: "feeds:\n  categories:\n    \"feodo.csv\": c2\ncache:\n  ttl_by:\n    virustotal:\n      sha256: 720h\nscoring:\n  cap: 90\n"},
		{name: "happy path: an empty section", body: "report:\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			ext := tt.ext
			if ext == "" {
				ext = ".yaml"
			}
			p := filepath.Join(t.TempDir(), "verdict"+ext)
			require.NoError(t, os.WriteFile(p, []byte(tt.body), 0o600))
			_, err := load(t, p, nil)
			if len(tt.wantKeys) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrUnknownKey)
			var got []string
			for _, e := range unjoin(err) {
				var uk *UnknownKeyError
				require.ErrorAs(t, e, &uk, "%v", e)
				assert.Equal(t, p, uk.File)
				assert.Contains(t, e.Error(), p, "the message names the file")
				got = append(got, `"`+uk.Name+`" => `+uk.Suggestion)
				if uk.Suggestion != "" {
					assert.Contains(t, e.Error(), "did you mean "+uk.Suggestion+"?")
				}
			}
			assert.Equal(t, tt.wantKeys, got)
		})
	}
}

func TestSectionGivenAScalar(t *testing.T) {
	clearEnv(t)
	p := writeFile(t, "cache: /tmp/x\n")
	_, err := load(t, p, nil)
	require.ErrorIs(t, err, ErrUnknownKey)
	assert.Contains(t, err.Error(), "cache in "+p+" is a section: give its keys (cache.dir, cache.url")
}

func TestUnknownEnvironmentVariables(t *testing.T) {
	tests := []struct {
		name           string
		env            map[string]string
		wantVar        string
		wantSuggestion string
	}{
		{name: "sad path: transposed letters", env: map[string]string{"VERDICT_VIRUSTOTAL_RAET": "4/m"}, wantVar: "VERDICT_VIRUSTOTAL_RAET", wantSuggestion: "VERDICT_VIRUSTOTAL_RATE"},
		{name: "sad path: a missing letter", env: map[string]string{"VERDICT_FEEDS_DIR": "/srv"}, wantVar: "VERDICT_FEEDS_DIR", wantSuggestion: "VERDICT_FEEDS_DIRS"},
		{name: "sad path: wrong word", env: map[string]string{"VERDICT_ABUSEIPDB_MAX_AGE": "30"}, wantVar: "VERDICT_ABUSEIPDB_MAX_AGE", wantSuggestion: "VERDICT_ABUSEIPDB_MAX_AGE_DAYS"},
		{name: "sad path: gemini", env: map[string]string{"VERDICT_GEMINI_MODLE": "x"}, wantVar: "VERDICT_GEMINI_MODLE", wantSuggestion: "VERDICT_GEMINI_MODEL"},
		{name: "sad path: nothing close", env: map[string]string{"VERDICT_QQQQQQQQQQQQQQQQQQ": "1"}, wantVar: "VERDICT_QQQQQQQQQQQQQQQQQQ"},
		{name: "happy path: CI switches are not configuration", env: map[string]string{"VERDICT_REQUIRE_BROWSER": "1", "VERDICT_REQUIRE_POSTGRES": "1", "VERDICT_TEST_CHILD_ARGS": "[]"}},
		{name: "happy path: known variables and foreign ones", env: map[string]string{"VERDICT_VIRUSTOTAL_RATE": "2/m", "VERDICT_CACHE_URL": "", "VERDICTX": "1", "VIRUSTOTAL_RAET": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := load(t, "", nil)
			if tt.wantVar == "" {
				require.NoError(t, err)
				return
			}
			var uk *UnknownKeyError
			require.ErrorAs(t, err, &uk)
			assert.True(t, uk.Env)
			assert.Equal(t, tt.wantVar, uk.Name)
			assert.Equal(t, tt.wantSuggestion, uk.Suggestion)
			assert.Contains(t, err.Error(), "unknown environment variable "+tt.wantVar)
			if tt.wantSuggestion != "" {
				assert.Contains(t, err.Error(), "did you mean "+tt.wantSuggestion+"?")
			}
		})
	}
}

func TestFreeFormValuesAreValidatedByTheirParsers(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string
	}{
		{name: "sad path: unknown feed category, with a suggestion", yaml: "feeds:\n  categories:\n    feodo.csv: c3\n", wantErr: `unknown category "c3"`},
		{name: "sad path: bad glob", yaml: "feeds:\n  categories:\n    \"[x\": c2\n", wantErr: "not a valid glob"},
		{name: "sad path: ttl_by for an unknown provider", yaml: "cache:\n  ttl_by:\n    virustotl: 1h\n", wantErr: `unknown provider "virustotl" (did you mean virustotal?)`},
		{name: "sad path: scoring rule for an unknown provider", yaml: "scoring:\n  rules:\n    - {provider: abuseidpb, types: [ip], points: 5}\n", wantErr: `unknown provider "abuseidpb" (did you mean abuseipdb?)`},
		{name: "sad path: scoring key typo", yaml: "scoring:\n  capp: 5\n", wantErr: "capp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			_, err := load(t, writeFile(t, tt.yaml), nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestNearest(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"feeds.dir", "feeds.dirs"}, {"cache.tll", "cache.ttl"}, {"RAET", "RATE"}, {"xyzxyzxyz", ""},
	} {
		assert.Equal(t, tt.want, nearest(tt.in, []string{"feeds.dirs", "cache.ttl", "cache.dir", "RATE"}), tt.in)
	}
	assert.Equal(t, 1, editDistance("raet", "rate"))
	assert.Equal(t, 3, editDistance("kitten", "sitting"))
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	if errors.Is(err, ErrUnknownKey) || strings.Contains(err.Error(), "unknown") {
		return []error{err}
	}
	return nil
}
