package greynoise_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/greynoise"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

const key = "gn-test-key-never-print-me-0123456789abcdef"

func ip(v string) ioc.IOC { return ioc.IOC{Type: ioc.IPv4, Value: v} }

func TestLookup(t *testing.T) {
	t.Parallel()
	fake := inteltest.NewGreyNoise(t, key)
	// The documented answers (reference/apis.md 5.1).
	fake.Set("1.1.1.1", inteltest.GreyNoiseRecord{RIOT: true, Classification: "benign", Name: "Cloudflare Public DNS", LastSeen: "2023-02-18"})
	fake.Set("185.220.101.45", inteltest.GreyNoiseRecord{Noise: true, Classification: "malicious", Name: "unknown", LastSeen: "2026-12-02"})
	fake.Set("71.6.135.131", inteltest.GreyNoiseRecord{Noise: true, Classification: "benign", Name: "Shodan.io", LastSeen: "2026-12-02"})
	for v, f := range map[string]inteltest.Fault{
		"9.0.0.1": inteltest.Fault401, "9.0.0.2": inteltest.Fault429, "9.0.0.3": inteltest.Fault429NoRetryAfter, "9.0.0.4": inteltest.Fault429HTML,
		"9.0.0.5": inteltest.Fault500, "9.0.0.6": inteltest.FaultHTML502, "9.0.0.7": inteltest.FaultGarbage, "9.0.0.8": inteltest.FaultTruncated,
		"9.0.0.9": inteltest.FaultQuota, "9.0.0.10": inteltest.FaultNullData, "9.0.0.11": inteltest.FaultSlow,
	} {
		fake.Set(v, inteltest.GreyNoiseRecord{Classification: "malicious"})
		fake.SetFault(v, f)
	}
	fake.SlowDelay = 2 * time.Second
	now := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	keyed := greynoise.New(key, greynoise.WithBaseURL(fake.BaseURL()), greynoise.WithHTTPClient(&http.Client{Timeout: 500 * time.Millisecond}))
	keyless := greynoise.New("", greynoise.WithBaseURL(fake.BaseURL()), greynoise.WithHTTPClient(&http.Client{Timeout: 500 * time.Millisecond}))
	greynoise.SetClock(keyed, func() time.Time { return now })

	tests := []struct {
		name   string
		client *greynoise.Client
		ip     string
		check  func(t *testing.T, r model.Result, err error)
	}{
		{name: "happy path: RIOT, benign, with its name", client: keyed, ip: "1.1.1.1", check: func(t *testing.T, r model.Result, err error) {
			require.NoError(t, err)
			assert.Equal(t, "benign", r.Classification)
			require.NotNil(t, r.RIOT)
			assert.True(t, *r.RIOT)
			assert.Equal(t, false, r.Attrs[greynoise.AttrNoise])
			assert.Equal(t, "Cloudflare Public DNS", r.Attrs[greynoise.AttrName])
			assert.Equal(t, "2023-02-18", r.Attrs[greynoise.AttrLastSeen])
			assert.Equal(t, "https://viz.greynoise.io/riot/1.1.1.1", r.Link)
		}},
		{name: "happy path: keyless works too", client: keyless, ip: "1.1.1.1", check: func(t *testing.T, r model.Result, err error) {
			require.NoError(t, err)
			assert.Equal(t, "benign", r.Classification)
		}},
		{name: "happy path: a malicious scanner; the name unknown is no name", client: keyed, ip: "185.220.101.45", check: func(t *testing.T, r model.Result, err error) {
			require.NoError(t, err)
			assert.Equal(t, "malicious", r.Classification)
			assert.Equal(t, true, r.Attrs[greynoise.AttrNoise])
			assert.NotContains(t, r.Attrs, greynoise.AttrName)
			assert.False(t, *r.RIOT)
		}},
		{name: "404 not observed is not found", client: keyed, ip: "203.0.113.77", check: func(t *testing.T, r model.Result, err error) {
			assert.ErrorIs(t, err, intel.ErrNotFound)
		}},
		{name: "sad path: 401", client: keyed, ip: "9.0.0.1", check: func(t *testing.T, r model.Result, err error) {
			assert.ErrorIs(t, err, intel.ErrUnauthorized)
		}},
		{name: "sad path: 429 with Retry-After", client: keyed, ip: "9.0.0.2", check: func(t *testing.T, r model.Result, err error) {
			var rl *intel.RateLimitError
			require.ErrorAs(t, err, &rl)
			assert.Equal(t, time.Second, rl.RetryAfter)
			assert.False(t, rl.Quota)
		}},
		{name: "sad path: 429 without Retry-After", client: keyed, ip: "9.0.0.3", check: func(t *testing.T, r model.Result, err error) {
			var rl *intel.RateLimitError
			require.ErrorAs(t, err, &rl)
			assert.Zero(t, rl.RetryAfter)
		}},
		{name: "sad path: HTML 429", client: keyed, ip: "9.0.0.4", check: func(t *testing.T, r model.Result, err error) {
			var rl *intel.RateLimitError
			require.ErrorAs(t, err, &rl)
		}},
		{name: "sad path: the daily allowance is spent until midnight UTC", client: keyed, ip: "9.0.0.9", check: func(t *testing.T, r model.Result, err error) {
			var rl *intel.RateLimitError
			require.ErrorAs(t, err, &rl)
			assert.True(t, rl.Quota)
			assert.Equal(t, 6*time.Hour, rl.RetryAfter, "no Retry-After: wait until the UTC day turns, so the engine stops for this run")
			assert.Contains(t, rl.Detail, "100-lookups/day")
		}},
		{name: "sad path: 500 is retryable", client: keyed, ip: "9.0.0.5", check: func(t *testing.T, r model.Result, err error) {
			requireRetryable(t, err, 500)
		}},
		{name: "sad path: HTML 502", client: keyed, ip: "9.0.0.6", check: func(t *testing.T, r model.Result, err error) {
			requireRetryable(t, err, 502)
			assert.Contains(t, err.Error(), "non-JSON")
		}},
		{name: "sad path: garbage", client: keyed, ip: "9.0.0.7", check: func(t *testing.T, r model.Result, err error) {
			assert.ErrorIs(t, err, intel.ErrBadResponse)
		}},
		{name: "sad path: truncated", client: keyed, ip: "9.0.0.8", check: func(t *testing.T, r model.Result, err error) {
			assert.ErrorIs(t, err, intel.ErrBadResponse)
		}},
		{name: "sad path: nulls everywhere say nothing", client: keyed, ip: "9.0.0.10", check: func(t *testing.T, r model.Result, err error) {
			assert.ErrorIs(t, err, intel.ErrBadResponse)
		}},
		{name: "sad path: slow answer times out", client: keyed, ip: "9.0.0.11", check: func(t *testing.T, r model.Result, err error) {
			var ne net.Error
			assert.True(t, errors.As(err, &ne) && ne.Timeout(), "%v", err)
		}},
	}
	t.Run("lookups", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				r, err := tt.client.Lookup(context.Background(), ip(tt.ip))
				tt.check(t, r, err)
				if err != nil {
					assert.NotContains(t, err.Error(), key)
				}
			})
		}
	})
	for _, q := range fake.Requests() {
		assert.Regexp(t, `^/v3/community/[0-9.]+$`, q.Path)
		assert.Empty(t, q.Query, "nothing in the query string")
		if vals, sent := q.Header["Key"]; sent {
			assert.Equal(t, []string{key}, vals)
		}
	}
	keylessSent := 0
	for _, q := range fake.Requests() {
		if _, sent := q.Header["Key"]; !sent {
			keylessSent++
		}
	}
	assert.Equal(t, 1, keylessSent, "the keyless client sends no key header at all, not an empty one")
}

func requireRetryable(t *testing.T, err error, status int) {
	t.Helper()
	var he *intel.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, status, he.Status)
	assert.True(t, he.Retryable)
}

// Answers come from the network: what is not GreyNoise's documented shape
// is refused or cleaned, never passed on.
func TestHostileAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		check   func(t *testing.T, r model.Result)
		wantErr error
	}{
		{name: "an answer about another address", body: `{"ip":"8.8.8.8","riot":true,"classification":"benign"}`, wantErr: intel.ErrBadResponse},
		{name: "a link elsewhere is replaced by GreyNoise's own page", body: `{"ip":"1.2.3.4","noise":true,"classification":"malicious","link":"https://evil.example/phish"}`,
			check: func(t *testing.T, r model.Result) { assert.Equal(t, "https://viz.greynoise.io/ip/1.2.3.4", r.Link) }},
		{name: "an unknown label claims nothing", body: `{"ip":"1.2.3.4","noise":false,"classification":"trustworthy"}`,
			check: func(t *testing.T, r model.Result) { assert.Equal(t, "unknown", r.Classification) }},
		{name: "escapes and line breaks leave the name", body: `{"ip":"1.2.3.4","riot":true,"classification":"benign","name":"Good\u001b[2J\nService\u202e"}`,
			check: func(t *testing.T, r model.Result) { assert.Equal(t, "Good[2J Service", r.Attrs[greynoise.AttrName]) }},
		{name: "a date that is not one is dropped", body: `{"ip":"1.2.3.4","noise":true,"last_seen":"yesterday; rm -rf /"}`,
			check: func(t *testing.T, r model.Result) { assert.NotContains(t, r.Attrs, greynoise.AttrLastSeen) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newStatic(t, 200, tt.body)
			r, err := greynoise.New(key, greynoise.WithBaseURL(srv)).Lookup(context.Background(), ip("1.2.3.4"))
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, r)
		})
	}
}

func TestDailyQuotaWithoutKey(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 50, greynoise.New(key).DailyQuota(50), "with a key, daily_quota")
	assert.Equal(t, 0, greynoise.New(key).DailyQuota(0))
	assert.Equal(t, 3, greynoise.New("").DailyQuota(50), "without one, the keyless quota")
	assert.Equal(t, 3, greynoise.New("").DailyQuota(0), "a keyless run is never unlimited")
	assert.Equal(t, 2, greynoise.New("").DailyQuota(2), "a lower daily_quota still wins")
	assert.Equal(t, 10, greynoise.New("", greynoise.WithKeylessQuota(10)).DailyQuota(50))

	p, err := greynoise.Registration.New(intel.Settings{Params: map[string]string{"keyless_daily_quota": "7"}})
	require.NoError(t, err)
	assert.Equal(t, 7, p.(intel.QuotaOverride).DailyQuota(50))
}

func TestCheck(t *testing.T) {
	t.Parallel()
	fake := inteltest.NewGreyNoise(t, key)
	h, err := greynoise.New(key, greynoise.WithBaseURL(fake.BaseURL())).Check(context.Background())
	require.NoError(t, err)
	assert.True(t, h.KeyAccepted)
	assert.False(t, h.SpentQuota, "/ping spends no lookup")
	assert.Equal(t, "key accepted, plan community, expires 2027-12-31", h.Detail)

	_, err = greynoise.New("wrong-"+key, greynoise.WithBaseURL(fake.BaseURL())).Check(context.Background())
	assert.ErrorIs(t, err, intel.ErrUnauthorized)
	assert.NotContains(t, err.Error(), key)

	h, err = greynoise.New("", greynoise.WithBaseURL(fake.BaseURL())).Check(context.Background())
	require.NoError(t, err)
	assert.False(t, h.KeyAccepted)
	assert.Contains(t, h.Detail, "keyless")
	assert.Len(t, fake.Requests(), 2, "nothing to check without a key: no request")
}

func TestDocumentedExamples(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"community-1.1.1.1.json", "community-404.json", "community-429.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(t, err)
		status := map[string]int{"community-1.1.1.1.json": 200, "community-404.json": 404, "community-429.json": 429}[name]
		srv := newStatic(t, status, string(b))
		r, err := greynoise.New("", greynoise.WithBaseURL(srv)).Lookup(context.Background(), ip(map[string]string{
			"community-1.1.1.1.json": "1.1.1.1", "community-404.json": "1.2.3.4", "community-429.json": "1.2.3.4"}[name]))
		switch status {
		case 200:
			require.NoError(t, err)
			assert.Equal(t, "benign", r.Classification)
			assert.Equal(t, "Cloudflare Public DNS", r.Attrs[greynoise.AttrName])
		case 404:
			assert.ErrorIs(t, err, intel.ErrNotFound)
		case 429:
			var rl *intel.RateLimitError
			require.ErrorAs(t, err, &rl)
			assert.True(t, rl.Quota)
		}
	}
}
