package abuseipdb_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/abuseipdb"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

const key = "abuse-test-key-never-print-me-0123456789"

func ip(v string) ioc.IOC {
	i, err := ioc.Normalize(ioc.IOC{Type: ioc.IPv4, Value: v})
	if err != nil {
		panic(err)
	}
	return i
}

func TestLookup(t *testing.T) {
	t.Parallel()
	fake := inteltest.NewAbuseIPDB(t, key)
	fake.Set("118.25.6.39", inteltest.AbuseIPDBRecord{Score: 100, IsTor: true, UsageType: "Data Center/Web Hosting/Transit", TotalReports: 567, Country: "CN"})
	for v, f := range map[string]inteltest.Fault{
		"1.0.0.1": inteltest.Fault401, "1.0.0.2": inteltest.Fault422, "1.0.0.3": inteltest.Fault429, "1.0.0.4": inteltest.FaultHTML502,
		"1.0.0.5": inteltest.FaultGarbage, "1.0.0.6": inteltest.Fault503, "1.0.0.7": inteltest.Fault429HTML,
	} {
		fake.SetFault(v, f)
	}
	c := abuseipdb.New(key, abuseipdb.WithBaseURL(fake.BaseURL()), abuseipdb.WithMaxAgeDays(30), abuseipdb.WithHTTPClient(&http.Client{Timeout: 2 * time.Second}))
	assert.Equal(t, "maxAgeInDays=30", c.CacheParams())
	assert.True(t, c.Supports(ioc.IPv6))
	assert.False(t, c.Supports(ioc.Domain))

	tests := []struct {
		name  string
		ip    string
		check func(t *testing.T, r model.Result, err error)
	}{
		{name: "happy path: reported address", ip: "118.25.6.39", check: func(t *testing.T, r model.Result, err error) {
			require.NoError(t, err)
			assert.Equal(t, 100, *r.AbuseConfidenceScore)
			assert.True(t, *r.IsTor)
			assert.Nil(t, r.IsWhitelisted, "isWhitelisted may be null")
			assert.Equal(t, "Data Center/Web Hosting/Transit", r.UsageType)
			assert.Equal(t, 567, *r.TotalReports)
			assert.Equal(t, "CN", r.Country)
			assert.Equal(t, "https://www.abuseipdb.com/check/118.25.6.39", r.Link)
		}},
		{name: "happy path: nobody reported it is found with score 0", ip: "9.9.9.9", check: func(t *testing.T, r model.Result, err error) {
			require.NoError(t, err)
			assert.Equal(t, model.StatusFound, r.Status)
			assert.Equal(t, 0, *r.AbuseConfidenceScore)
			assert.Empty(t, r.Country, "countryCode null")
		}},
		{name: "sad path: 401", ip: "1.0.0.1", check: func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrUnauthorized) }},
		{name: "sad path: 422 is a refused parameter", ip: "1.0.0.2", check: func(t *testing.T, r model.Result, err error) {
			var he *intel.HTTPError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, 422, he.Status)
			assert.False(t, he.Retryable)
			assert.Contains(t, he.Detail, "valid IPv4 or IPv6")
		}},
		{name: "sad path: 429 daily limit", ip: "1.0.0.3", check: func(t *testing.T, r model.Result, err error) {
			var rl *intel.RateLimitError
			require.ErrorAs(t, err, &rl)
			assert.Equal(t, time.Second, rl.RetryAfter)
			assert.True(t, rl.Quota, "X-RateLimit-Remaining: 0")
		}},
		{name: "sad path: HTML 429", ip: "1.0.0.7", check: func(t *testing.T, r model.Result, err error) {
			var rl *intel.RateLimitError
			require.ErrorAs(t, err, &rl)
		}},
		{name: "sad path: HTML 502", ip: "1.0.0.4", check: func(t *testing.T, r model.Result, err error) {
			var he *intel.HTTPError
			require.ErrorAs(t, err, &he)
			assert.True(t, he.Retryable)
		}},
		{name: "sad path: 503", ip: "1.0.0.6", check: func(t *testing.T, r model.Result, err error) {
			var he *intel.HTTPError
			require.ErrorAs(t, err, &he)
			assert.True(t, he.Retryable)
		}},
		{name: "sad path: garbage", ip: "1.0.0.5", check: func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrBadResponse) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := c.Lookup(context.Background(), ip(tt.ip))
			tt.check(t, r, err)
			if err != nil {
				assert.NotContains(t, err.Error(), key)
			}
		})
	}
	for _, req := range fake.Requests() {
		assert.Equal(t, "/api/v2/check", req.Path)
		assert.Equal(t, key, req.Header.Get("Key"))
		assert.Equal(t, "application/json", req.Header.Get("Accept"))
		assert.Equal(t, "30", req.Query.Get("maxAgeInDays"))
		assert.Empty(t, req.Query.Get("key"), "the key goes in the header only")
	}
}

func TestIPv6AndVerbose(t *testing.T) {
	t.Parallel()
	fake := inteltest.NewAbuseIPDB(t, key)
	c := abuseipdb.New(key, abuseipdb.WithBaseURL(fake.BaseURL()), abuseipdb.WithVerbose(true))
	_, err := c.Lookup(context.Background(), ioc.IOC{Type: ioc.IPv6, Value: "2001:4860:4860::8888"})
	require.NoError(t, err)
	reqs := fake.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "2001:4860:4860::8888", reqs[0].Query.Get("ipAddress"))
	_, verbose := reqs[0].Query["verbose"]
	assert.True(t, verbose)
	assert.Equal(t, "maxAgeInDays=90&verbose", c.CacheParams())
}
