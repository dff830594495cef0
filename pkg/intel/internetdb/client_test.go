package internetdb_test

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
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/intel/internetdb"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

func ip(v string) ioc.IOC { return ioc.IOC{Type: ioc.IPv4, Value: v} }

func TestLookup(t *testing.T) {
	t.Parallel()
	fake := inteltest.NewInternetDB(t)
	fake.Set("8.8.8.8", inteltest.InternetDBHost{Ports: []int{443, 53}, Hostnames: []string{"dns.google"}, CPEs: []string{"cpe:/a:isc:bind"}})
	fake.Set("45.9.148.7", inteltest.InternetDBHost{Ports: []int{22, 80, 80, 8080}, Tags: []string{"compromised", "self-signed"},
		Vulns: []string{"CVE-2021-44228", "cve-2023-4863", "not-a-cve", "CVE-2019-0708"}})
	for v, f := range map[string]inteltest.Fault{
		"9.0.0.1": inteltest.Fault401, "9.0.0.2": inteltest.Fault429, "9.0.0.3": inteltest.Fault429NoRetryAfter, "9.0.0.4": inteltest.Fault429HTML,
		"9.0.0.5": inteltest.Fault500, "9.0.0.6": inteltest.FaultHTML502, "9.0.0.7": inteltest.FaultGarbage, "9.0.0.8": inteltest.FaultTruncated,
		"9.0.0.9": inteltest.FaultNullData, "9.0.0.10": inteltest.FaultSlow,
	} {
		fake.Set(v, inteltest.InternetDBHost{Ports: []int{80}})
		fake.SetFault(v, f)
	}
	fake.SlowDelay = 2 * time.Second
	c := internetdb.New(internetdb.WithBaseURL(fake.BaseURL()), internetdb.WithHTTPClient(&http.Client{Timeout: 500 * time.Millisecond}))

	tests := []struct {
		name  string
		ip    string
		check func(t *testing.T, r model.Result, err error)
	}{
		{name: "happy path: the documented 8.8.8.8", ip: "8.8.8.8", check: func(t *testing.T, r model.Result, err error) {
			require.NoError(t, err)
			assert.Equal(t, []int{53, 443}, r.Attrs[internetdb.AttrPorts], "ascending")
			assert.Equal(t, []string{"dns.google"}, r.Hostnames)
			assert.Equal(t, []string{"cpe:/a:isc:bind"}, r.Attrs[internetdb.AttrCPEs])
			assert.NotContains(t, r.Attrs, internetdb.AttrVulns, "no vulns, no key")
			assert.Empty(t, r.Tags)
			assert.Equal(t, "https://internetdb.shodan.io/8.8.8.8", r.Link)
		}},
		{name: "happy path: tags and CVEs, duplicates and non-CVEs dropped", ip: "45.9.148.7", check: func(t *testing.T, r model.Result, err error) {
			require.NoError(t, err)
			assert.Equal(t, []int{22, 80, 8080}, r.Attrs[internetdb.AttrPorts])
			assert.Equal(t, []string{"compromised", "self-signed"}, r.Tags)
			assert.Equal(t, []string{"CVE-2019-0708", "CVE-2021-44228", "CVE-2023-4863"}, r.Attrs[internetdb.AttrVulns])
		}},
		{name: "404 No information available is not found", ip: "203.0.113.9", check: func(t *testing.T, r model.Result, err error) {
			assert.ErrorIs(t, err, intel.ErrNotFound)
		}},
		{name: "sad path: 401 is a refusal, not a key problem", ip: "9.0.0.1", check: func(t *testing.T, r model.Result, err error) {
			assert.NotErrorIs(t, err, intel.ErrUnauthorized)
			var he *intel.HTTPError
			require.ErrorAs(t, err, &he)
			assert.False(t, he.Retryable)
		}},
		{name: "sad path: 429 with Retry-After", ip: "9.0.0.2", check: func(t *testing.T, r model.Result, err error) {
			var rl *intel.RateLimitError
			require.ErrorAs(t, err, &rl)
			assert.Equal(t, time.Second, rl.RetryAfter)
		}},
		{name: "sad path: 429 without Retry-After", ip: "9.0.0.3", check: func(t *testing.T, r model.Result, err error) {
			var rl *intel.RateLimitError
			require.ErrorAs(t, err, &rl)
			assert.Zero(t, rl.RetryAfter)
		}},
		{name: "sad path: HTML 429", ip: "9.0.0.4", check: func(t *testing.T, r model.Result, err error) {
			var rl *intel.RateLimitError
			require.ErrorAs(t, err, &rl)
		}},
		{name: "sad path: 500 is retryable", ip: "9.0.0.5", check: func(t *testing.T, r model.Result, err error) { requireRetryable(t, err, 500) }},
		{name: "sad path: HTML 502", ip: "9.0.0.6", check: func(t *testing.T, r model.Result, err error) {
			requireRetryable(t, err, 502)
			assert.Contains(t, err.Error(), "non-JSON")
		}},
		{name: "sad path: garbage", ip: "9.0.0.7", check: func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrBadResponse) }},
		{name: "sad path: truncated", ip: "9.0.0.8", check: func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrBadResponse) }},
		{name: "nulls everywhere: found, nothing to show", ip: "9.0.0.9", check: func(t *testing.T, r model.Result, err error) {
			require.NoError(t, err)
			assert.Empty(t, r.Attrs)
		}},
		{name: "sad path: slow answer times out", ip: "9.0.0.10", check: func(t *testing.T, r model.Result, err error) {
			var ne net.Error
			assert.True(t, errors.As(err, &ne) && ne.Timeout(), "%v", err)
		}},
	}
	t.Run("lookups", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				r, err := c.Lookup(context.Background(), ip(tt.ip))
				tt.check(t, r, err)
			})
		}
	})
	for _, q := range fake.Requests() {
		assert.Regexp(t, `^/[0-9.]+$`, q.Path)
		assert.Empty(t, q.Query)
	}
}

func requireRetryable(t *testing.T, err error, status int) {
	t.Helper()
	var he *intel.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, status, he.Status)
	assert.True(t, he.Retryable)
}

func TestDocumentedExamples(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("testdata", "host-8.8.8.8.json"))
	require.NoError(t, err)
	r, err := internetdb.New(internetdb.WithBaseURL(newStatic(t, 200, string(b)))).Lookup(context.Background(), ip("8.8.8.8"))
	require.NoError(t, err)
	assert.Equal(t, []int{53, 443}, r.Attrs[internetdb.AttrPorts])

	b, err = os.ReadFile(filepath.Join("testdata", "host-404.json"))
	require.NoError(t, err)
	_, err = internetdb.New(internetdb.WithBaseURL(newStatic(t, 404, string(b)))).Lookup(context.Background(), ip("1.2.3.4"))
	assert.ErrorIs(t, err, intel.ErrNotFound)

	// An HTML 404 is a wrong base_url, not an unknown address.
	srv := newStatic(t, 404, "<html>not here</html>")
	_, err = internetdb.New(internetdb.WithBaseURL(srv)).Lookup(context.Background(), ip("1.2.3.4"))
	assert.NotErrorIs(t, err, intel.ErrNotFound)
}

func TestHostileAnswers(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"another address": `{"ip":"8.8.4.4","ports":[53]}`,
		"no address":      `{"ports":[53]}`,
		"not an object":   `[53, 443]`,
	} {
		_, err := internetdb.Parse([]byte(body), ip("8.8.8.8"))
		assert.ErrorIs(t, err, intel.ErrBadResponse, name)
	}
	r, err := internetdb.Parse([]byte(`{"ip":"8.8.8.8","ports":[0,-1,70000,"80",443],"hostnames":["a\u001b[0m\nb", 7],"tags":["cdn\u202e"]}`), ip("8.8.8.8"))
	require.NoError(t, err)
	assert.Equal(t, []int{443}, r.Attrs[internetdb.AttrPorts], "only real port numbers")
	assert.Equal(t, []string{"a[0m b"}, r.Hostnames)
	assert.Equal(t, []string{"cdn"}, r.Tags)
}

func TestCheck(t *testing.T) {
	t.Parallel()
	fake := inteltest.NewInternetDB(t)
	fake.Set("8.8.8.8", inteltest.InternetDBHost{Ports: []int{53, 443}})
	h, err := internetdb.New(internetdb.WithBaseURL(fake.BaseURL())).Check(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "reachable: 8.8.8.8 has 2 open ports", h.Detail)
	assert.False(t, h.KeyAccepted)
}
