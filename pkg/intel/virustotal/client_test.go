package virustotal_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/intel/virustotal"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

const key = "vt-test-key-0123456789abcdef-never-print-me"

func TestURLID(t *testing.T) {
	t.Parallel()
	// The example from the VirusTotal docs ("URLs" page).
	assert.Equal(t, "aHR0cDovL3d3dy5zb21lZG9tYWluLmNvbS90aGlzL2lzL215L3VybA", virustotal.URLID("http://www.somedomain.com/this/is/my/url"))
	assert.Equal(t, "aHR0cDovL21hbGljaW91cy5leGFtcGxlLm5ldC9wYXlsb2FkLmV4ZQ", virustotal.URLID("http://malicious.example.net/payload.exe"))
	assert.NotContains(t, virustotal.URLID("http://x.com/?a=>>>???"), "=")
}

func TestLookup(t *testing.T) {
	t.Parallel()
	fake := inteltest.NewVirusTotal(t, key)
	fake.Set("185.220.101.45", inteltest.VTObject{Malicious: 15, Suspicious: 4, Reputation: -30, Country: "DE", ASOwner: "Tor exit host", Tags: []string{"tor"}})
	fake.Set("evil.com", inteltest.VTObject{Malicious: 3})
	fake.Set("44d88612fea8a8f36de82e1278abb02f", inteltest.VTObject{Malicious: 62, SHA256: "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"})
	fake.Set("http://malicious.example.net/payload.exe", inteltest.VTObject{Malicious: 9})
	fake.Set("2001:4860::8888", inteltest.VTObject{Malicious: 0})
	for _, v := range []string{"1.1.1.1", "garbage.com", "trunc.com", "null.com", "flaky.com", "e401.com", "e429.com", "e429n.com", "e429h.com", "e500.com", "e503.com", "e502.com", "slow.com"} {
		fake.Set(v, inteltest.VTObject{Malicious: 1})
	}
	fake.SetFault("garbage.com", inteltest.FaultGarbage)
	fake.SetFault("trunc.com", inteltest.FaultTruncated)
	fake.SetFault("null.com", inteltest.FaultNullData)
	fake.SetFault("e401.com", inteltest.Fault401)
	fake.SetFault("e429.com", inteltest.Fault429)
	fake.SetFault("e429n.com", inteltest.Fault429NoRetryAfter)
	fake.SetFault("e429h.com", inteltest.Fault429HTML)
	fake.SetFault("e500.com", inteltest.Fault500)
	fake.SetFault("e503.com", inteltest.Fault503)
	fake.SetFault("e502.com", inteltest.FaultHTML502)
	fake.SetFault("slow.com", inteltest.FaultSlow)
	fake.SlowDelay = 2 * time.Second
	c := virustotal.New(key, virustotal.WithBaseURL(fake.BaseURL()), virustotal.WithHTTPClient(&http.Client{Timeout: 300 * time.Millisecond}))

	tests := []struct {
		name     string
		ioc      ioc.IOC
		wantPath string
		check    func(t *testing.T, r model.Result, err error)
	}{
		{name: "happy path: IP", ioc: ioc.IOC{Type: ioc.IPv4, Value: "185.220.101.45"}, wantPath: "/api/v3/ip_addresses/185.220.101.45",
			check: func(t *testing.T, r model.Result, err error) {
				require.NoError(t, err)
				assert.Equal(t, 15, *r.Malicious)
				assert.Equal(t, 4, *r.Suspicious)
				assert.Equal(t, -30, *r.Reputation)
				assert.Equal(t, "DE", r.Country)
				assert.Equal(t, "Tor exit host", r.ASOwner)
				assert.Equal(t, []string{"tor"}, r.Tags)
				assert.Equal(t, "https://www.virustotal.com/gui/ip-address/185.220.101.45", r.Link)
			}},
		{name: "happy path: IPv6", ioc: ioc.IOC{Type: ioc.IPv6, Value: "2001:4860::8888"}, wantPath: "/api/v3/ip_addresses/2001:4860::8888",
			check: func(t *testing.T, r model.Result, err error) {
				require.NoError(t, err)
				assert.Equal(t, 0, *r.Malicious)
			}},
		{name: "happy path: domain", ioc: ioc.IOC{Type: ioc.Domain, Value: "evil.com"}, wantPath: "/api/v3/domains/evil.com",
			check: func(t *testing.T, r model.Result, err error) {
				require.NoError(t, err)
				assert.Equal(t, []string{"malicious web sites", "malware"}, r.Categories)
			}},
		{name: "happy path: md5 answered with the sha256", ioc: ioc.IOC{Type: ioc.MD5, Value: "44d88612fea8a8f36de82e1278abb02f"}, wantPath: "/api/v3/files/44d88612fea8a8f36de82e1278abb02f",
			check: func(t *testing.T, r model.Result, err error) {
				require.NoError(t, err)
				assert.Equal(t, "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", r.SHA256)
				assert.Equal(t, "trojan.evil/test", r.ThreatLabel)
				assert.Contains(t, r.Link, "/gui/file/275a021b")
			}},
		{name: "happy path: URL by unpadded base64url id", ioc: ioc.IOC{Type: ioc.URL, Value: "http://malicious.example.net/payload.exe"},
			wantPath: "/api/v3/urls/aHR0cDovL21hbGljaW91cy5leGFtcGxlLm5ldC9wYXlsb2FkLmV4ZQ",
			check: func(t *testing.T, r model.Result, err error) {
				require.NoError(t, err)
				assert.Equal(t, 9, *r.Malicious)
			}},
		{name: "sad path: 404 NotFoundError is not_found", ioc: ioc.IOC{Type: ioc.Domain, Value: "unknown.org"},
			check: func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrNotFound) }},
		{name: "sad path: 401 WrongCredentialsError", ioc: ioc.IOC{Type: ioc.Domain, Value: "e401.com"},
			check: func(t *testing.T, r model.Result, err error) {
				assert.ErrorIs(t, err, intel.ErrUnauthorized)
				assert.Contains(t, err.Error(), "WrongCredentialsError")
			}},
		{name: "sad path: 429 with Retry-After", ioc: ioc.IOC{Type: ioc.Domain, Value: "e429.com"},
			check: func(t *testing.T, r model.Result, err error) {
				var rl *intel.RateLimitError
				require.ErrorAs(t, err, &rl)
				assert.Equal(t, time.Second, rl.RetryAfter)
				assert.True(t, rl.Quota, "QuotaExceededError")
			}},
		{name: "sad path: 429 without Retry-After", ioc: ioc.IOC{Type: ioc.Domain, Value: "e429n.com"},
			check: func(t *testing.T, r model.Result, err error) {
				var rl *intel.RateLimitError
				require.ErrorAs(t, err, &rl)
				assert.Zero(t, rl.RetryAfter)
			}},
		{name: "sad path: HTML 429 from the edge", ioc: ioc.IOC{Type: ioc.Domain, Value: "e429h.com"},
			check: func(t *testing.T, r model.Result, err error) {
				var rl *intel.RateLimitError
				require.ErrorAs(t, err, &rl, "not 'gzip: invalid header', not a decode error")
			}},
		{name: "sad path: 500 is retryable", ioc: ioc.IOC{Type: ioc.Domain, Value: "e500.com"},
			check: func(t *testing.T, r model.Result, err error) { requireRetryable(t, err, 500) }},
		{name: "sad path: 503 TransientError is retryable", ioc: ioc.IOC{Type: ioc.Domain, Value: "e503.com"},
			check: func(t *testing.T, r model.Result, err error) { requireRetryable(t, err, 503) }},
		{name: "sad path: HTML 502 page", ioc: ioc.IOC{Type: ioc.Domain, Value: "e502.com"},
			check: func(t *testing.T, r model.Result, err error) {
				requireRetryable(t, err, 502)
				assert.Contains(t, err.Error(), "non-JSON")
			}},
		{name: "sad path: garbage body", ioc: ioc.IOC{Type: ioc.Domain, Value: "garbage.com"},
			check: func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrBadResponse) }},
		{name: "sad path: truncated JSON", ioc: ioc.IOC{Type: ioc.Domain, Value: "trunc.com"},
			check: func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrBadResponse) }},
		{name: "nulls everywhere decode", ioc: ioc.IOC{Type: ioc.Domain, Value: "null.com"},
			check: func(t *testing.T, r model.Result, err error) {
				require.NoError(t, err)
				assert.Equal(t, 0, *r.Malicious)
				assert.Nil(t, r.Reputation)
			}},
		{name: "sad path: slow answer times out", ioc: ioc.IOC{Type: ioc.Domain, Value: "slow.com"},
			check: func(t *testing.T, r model.Result, err error) {
				require.Error(t, err)
				var ne net.Error
				assert.True(t, errors.As(err, &ne) && ne.Timeout(), "a timeout the engine retries: %v", err)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := c.Lookup(context.Background(), tt.ioc)
			tt.check(t, r, err)
			if err != nil {
				assert.NotContains(t, err.Error(), key, "the API key must never appear in an error")
			}
			if tt.wantPath != "" {
				var seen bool
				for _, req := range fake.Requests() {
					if req.Path == tt.wantPath {
						seen = true
						assert.Equal(t, key, req.Header.Get("x-apikey"))
						assert.Empty(t, req.Query, "nothing in the query string")
						assert.Contains(t, req.Header.Get("Accept"), "application/json")
					}
				}
				assert.True(t, seen, "no request to %s", tt.wantPath)
			}
		})
	}
}

func requireRetryable(t *testing.T, err error, status int) {
	t.Helper()
	var he *intel.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, status, he.Status)
	assert.True(t, he.Retryable)
}

func TestMissingKeyIsUnauthorized(t *testing.T) {
	t.Parallel()
	fake := inteltest.NewVirusTotal(t, key)
	_, err := virustotal.New("", virustotal.WithBaseURL(fake.BaseURL())).Lookup(context.Background(), ioc.IOC{Type: ioc.Domain, Value: "evil.com"})
	require.ErrorIs(t, err, intel.ErrUnauthorized)
	assert.Contains(t, err.Error(), "AuthenticationRequiredError")
}
