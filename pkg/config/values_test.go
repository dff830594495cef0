package config

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseByteSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    ByteSize
		wantErr bool
	}{
		{in: "4GiB", want: 4 << 30}, {in: "512MiB", want: 512 << 20}, {in: "512 mib", want: 512 << 20},
		{in: "10MB", want: 10_000_000}, {in: "1g", want: 1 << 30}, {in: "1048576", want: 1 << 20}, {in: "1.5KiB", want: 1536},
		{in: "", wantErr: true}, {in: "lots", wantErr: true}, {in: "5XB", wantErr: true}, {in: "-1", wantErr: true}, {in: "99999999TiB", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in)
		if tt.wantErr {
			assert.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	assert.Equal(t, "4GiB", ByteSize(4<<30).String())
	assert.Equal(t, "1000", ByteSize(1000).String())
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "168h": 168 * time.Hour, "1.5d": 36 * time.Hour, "90m": 90 * time.Minute, "": 0} {
		got, err := ParseDuration(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"7 days", "d", "x1h"} {
		_, err := ParseDuration(in)
		assert.Error(t, err, in)
	}
	assert.Equal(t, "7d", FormatDuration(7*24*time.Hour))
	assert.Equal(t, "36h", FormatDuration(36*time.Hour))
	assert.Equal(t, "1h30m", FormatDuration(90*time.Minute))
	assert.Equal(t, "500ms", FormatDuration(500*time.Millisecond))
}

func TestDSN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, wantShown, wantErr string
	}{
		{name: "happy path: URL with password", in: "postgres://verdict:s3cret@db:5432/verdict?sslmode=require", wantShown: "postgres://verdict:xxxxx@db:5432/verdict?sslmode=require"},
		{name: "happy path: postgresql scheme, password in the query", in: "postgresql://db/verdict?password=s3cret&sslmode=verify-full", wantShown: "postgresql://db/verdict?password=xxxxx&sslmode=verify-full"},
		{name: "happy path: keyword string", in: "host=db dbname=verdict password='s3 cret' sslmode=disable", wantShown: "host=db dbname=verdict password=xxxxx sslmode=disable"},
		{name: "happy path: unix socket host in the query", in: "postgres:///verdict?host=/var/run/postgresql", wantShown: "postgres:///verdict?host=/var/run/postgresql"},
		{name: "sad path: another scheme", in: "mysql://u:s3cret@db/x", wantErr: "postgres://"},
		{name: "sad path: not a keyword string", in: "just some words", wantErr: "keyword"},
		{name: "sad path: URL without a host", in: "postgres:///verdict", wantErr: "no host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := DSN(tt.in)
			err := d.Validate()
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NotContains(t, err.Error(), "s3cret", "errors never quote the value")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantShown, d.String())
			assert.NotContains(t, fmt.Sprintf("%v %s %#v", d, d, d), "s3cret")
			assert.Equal(t, tt.in, d.Reveal())
		})
	}
}

func TestFeedCategoryFor(t *testing.T) {
	t.Parallel()
	f := Feeds{Categories: map[string]string{"feodo.csv": "c2", "*.csv": "listed", "abusech-*.csv": "malware", "intel/*.txt": "phishing"}}
	for path, want := range map[string]string{
		"/srv/feeds/feodo.csv": "c2", "/srv/feeds/Feodo.CSV": "c2", "/srv/feeds/abusech-mb.csv": "malware",
		"/srv/feeds/other.csv": "listed", "/srv/intel/x.txt": "", "intel/x.txt": "phishing", "/srv/feeds/x.txt": "",
	} {
		got, ok := f.CategoryFor(path)
		assert.Equal(t, want, got, path)
		assert.Equal(t, want != "", ok, path)
	}
}

func TestNewKeysValidate(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string
	}{
		{name: "sad path: thinking level", yaml: "gemini:\n  thinking_level: extreme\n", wantErr: "gemini.thinking_level (VERDICT_GEMINI_THINKING_LEVEL): must be one of minimal, low, medium, high"},
		{name: "sad path: service tier", yaml: "gemini:\n  service_tier: priority\n", wantErr: "gemini.service_tier"},
		{name: "sad path: thinking budget", yaml: "gemini:\n  thinking_budget: -5\n", wantErr: "gemini.thinking_budget"},
		{name: "sad path: max bytes", yaml: "input:\n  max_bytes: lots\n", wantErr: "not a size"},
		{name: "sad path: max bytes zero", yaml: "input:\n  max_bytes: 0\n", wantErr: "input.max_bytes"},
		{name: "sad path: empty id field", yaml: "input:\n  id_fields: [id, \"\"]\n", wantErr: "input.id_fields"},
		{name: "sad path: internal domain with a scheme", yaml: "ioc:\n  internal_domains: [\"https://corp.example\"]\n", wantErr: "ioc.internal_domains"},
		{name: "sad path: feed max age", yaml: "feeds:\n  max_age: forever\n", wantErr: "not a duration"},
		{name: "sad path: cache url", yaml: "cache:\n  url: \"mysql://u:s3cret@h/db\"\n", wantErr: "cache.url (VERDICT_CACHE_URL)"},
		{name: "sad path: provider ttl", yaml: "virustotal:\n  ttl: soon\n", wantErr: "virustotal.ttl (VERDICT_VIRUSTOTAL_TTL)"},
		{name: "sad path: provider param type", yaml: "abuseipdb:\n  verbose: maybe\n", wantErr: "abuseipdb.verbose (VERDICT_ABUSEIPDB_VERBOSE)"},
		{name: "happy path: feed max age in hours", yaml: "feeds:\n  max_age: 168h\n"},
		{name: "happy path: internal domains and a unicode one", yaml: "ioc:\n  internal_domains: [corp.example.com, bücher.example]\n"},
		{name: "happy path: libpq keywords", yaml: "cache:\n  url: host=db dbname=verdict sslmode=require\n"},
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
			assert.NotContains(t, err.Error(), "s3cret")
		})
	}
}
