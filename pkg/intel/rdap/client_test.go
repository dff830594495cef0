package rdap_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/intel/rdap"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/ratelimit"
	"github.com/verdict-dev/verdict/pkg/safehttp"
)

func dom(v string) ioc.IOC { return ioc.IOC{Type: ioc.Domain, Value: v} }

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func TestRegistrable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "happy path: a registrable domain is itself", in: "evil.top", want: "evil.top"},
		{name: "subdomains ask about their registrable domain", in: "a.b.c.evil.top", want: "evil.top"},
		{name: "two-label public suffix", in: "login.example.co.uk", want: "example.co.uk"},
		{name: "a private suffix is a platform: its ICANN domain was registered", in: "user.github.io", want: "github.io"},
		{name: "a private suffix under a two-label ICANN one", in: "x.blogspot.co.uk", want: "blogspot.co.uk"},
		{name: "wildcard rule (*.ck)", in: "www.foo.ck", want: "www.foo.ck"},
		{name: "upper case and a trailing dot", in: "WWW.Evil.TOP.", want: "evil.top"},
		{name: "Unicode names ask in A-labels", in: "www.bücher-shop.de", want: "xn--bcher-shop-9db.de"},
		{name: "a top label the list does not know stands as the TLD", in: "mail.evil.zzzunknown", want: "evil.zzzunknown"},
		{name: "sad path: a public suffix is nobody's", in: "co.uk", wantErr: "public suffix"},
		{name: "sad path: a TLD", in: "com", wantErr: "public suffix"},
		{name: "sad path: empty", in: "", wantErr: "no registrable domain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := rdap.Registrable(tt.in)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, rdap.ErrNotRegistrable)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseBootstrap(t *testing.T) {
	t.Parallel()
	b, err := rdap.ParseBootstrap(readFile(t, "dns.json"))
	require.NoError(t, err)
	assert.Equal(t, "2026-11-30T19:00:01Z", b.Publication)
	tests := []struct {
		domain, wantBase, wantEntry string
	}{
		{"google.com", "https://rdap.verisign.com/com/v1/", "com"},
		{"evil.top", "https://rdap.zdnsgtld.com/top/", "top"},                     // https beats the http URL listed first
		{"example.co.uk", "https://rdap.example-second-level.uk/co.uk/", "co.uk"}, // the longest entry wins; a "/" is added
		{"example.org.uk", "https://rdap.nominet.uk/uk/", "uk"},
		{"xn--80ak6aa92e.xn--p1ai", "https://rdap.tcinet.ru/", "xn--p1ai"},
		{"example.org", "", ""},    // only an ftp URL and garbage: no usable service
		{"example.broken", "", ""}, // no URL list at all
		{"example.de", "", ""},     // not listed
	}
	for _, tt := range tests {
		base, entry, ok := b.Service(tt.domain)
		assert.Equal(t, tt.wantBase != "", ok, tt.domain)
		assert.Equal(t, tt.wantBase, base, tt.domain)
		assert.Equal(t, tt.wantEntry, entry, tt.domain)
	}
	for _, u := range []string{"https://rdap.verisign.com/other/path", "http://rdap.zdnsgtld.com/x", "https://rdap.zdnsgtld.com:443/"} {
		pu, _ := url.Parse(u)
		assert.True(t, b.Listed(pu), u)
	}
	for _, u := range []string{"https://evil.example/", "https://rdap.verisign.com:8443/", "http://rdap.verisign.com/", "ftp://rdap.publicinterestregistry.org/"} {
		pu, _ := url.Parse(u)
		assert.False(t, b.Listed(pu), "a redirect to %s must not be followed", u)
	}

	for name, body := range map[string]string{
		"not JSON":      "<html>",
		"wrong version": `{"version": "2.0", "services": [[["com"], ["https://x/"]]]}`,
		"no services":   `{"version": "1.0", "services": []}`,
		"wrong types":   `{"version": "1.0", "services": [[["com"], "https://x/"], [7, ["https://y/"]]]}`,
	} {
		_, err := rdap.ParseBootstrap([]byte(body))
		assert.Error(t, err, name)
	}
}

func TestParseDomain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string
		body    string
		want    map[string]any
		wantErr string
	}{
		{name: "happy path: the documented google.com answer", file: "domain-google.com.json", want: map[string]any{
			rdap.AttrRegistered: "1997-09-15T04:00:00Z", rdap.AttrExpires: "2028-09-14T04:00:00Z", rdap.AttrRegistrar: "MarkMonitor Inc.",
			rdap.AttrStatus: []string{"client delete prohibited", "client transfer prohibited", "client update prohibited"}}},
		{name: "no registration event: found, age unknown", file: "domain-no-registration.json", want: map[string]any{
			rdap.AttrStatus: []string{"active"}}},
		{name: "hostile answer: only what is well formed, one line, in UTC", file: "domain-hostile.json", want: map[string]any{
			rdap.AttrRegistered: "2026-11-29T02:12:00Z", rdap.AttrExpires: "2027-11-29T10:12:00Z", rdap.AttrRegistrar: "Evil Registrar Ltd",
			rdap.AttrStatus: []string{"client hold[31m", "serverhold"}}},
		{name: "the latest of two registrations (dropped and registered again)", body: `{"objectClassName":"domain","events":[
			{"eventAction":"registration","eventDate":"2009-01-01T00:00:00Z"},{"eventAction":"registration","eventDate":"2026-11-30T00:00:00Z"}]}`,
			want: map[string]any{rdap.AttrRegistered: "2026-11-30T00:00:00Z"}},
		{name: "dates without a zone are UTC", body: `{"events":[{"eventAction":"Registration","eventDate":"2026-11-30T12:00:00"}]}`,
			want: map[string]any{rdap.AttrRegistered: "2026-11-30T12:00:00Z"}},
		{name: "everything null", body: `{"objectClassName":"domain","events":null,"entities":null,"status":null}`, want: map[string]any{}},
		{name: "sad path: an entity, not a domain", body: `{"objectClassName":"entity","handle":"292"}`, wantErr: `"entity" object`},
		{name: "sad path: not an object", body: `["domain"]`, wantErr: "decode"},
		{name: "sad path: truncated", body: `{"objectClassName":"domain","events":[{"eventAc`, wantErr: "decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := []byte(tt.body)
			if tt.file != "" {
				body = readFile(t, tt.file)
			}
			r, err := rdap.ParseDomain(body)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, model.StatusFound, r.Status)
			assert.Equal(t, tt.want, r.Attrs)
		})
	}
}

func TestAgeDays(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		registered time.Time
		want       int
		wantOK     bool
	}{
		{name: "registered today", registered: now.Add(-time.Hour), want: 0, wantOK: true},
		{name: "yesterday 23:59 is one day, by the calendar", registered: time.Date(2026, 12, 2, 23, 59, 0, 0, time.UTC), want: 1, wantOK: true},
		{name: "four days", registered: time.Date(2026, 11, 29, 10, 12, 0, 0, time.UTC), want: 4, wantOK: true},
		{name: "a zone does not move the UTC date", registered: time.Date(2026, 11, 30, 1, 0, 0, 0, time.FixedZone("+08", 8*3600)), want: 4, wantOK: true},
		{name: "tomorrow (clock skew) reads as today", registered: now.Add(20 * time.Hour), want: 0, wantOK: true},
		{name: "sad path: far in the future has no age", registered: now.Add(72 * time.Hour), wantOK: false},
		{name: "decades", registered: time.Date(1997, 9, 15, 4, 0, 0, 0, time.UTC), want: 10671, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := rdap.AgeDays(tt.registered, now)
			assert.Equal(t, tt.wantOK, ok)
			if tt.wantOK {
				assert.Equal(t, tt.want, got)
			}
		})
	}

	c := rdap.New()
	r := model.Result{Status: model.StatusFound, Attrs: map[string]any{rdap.AttrRegistered: "2026-11-29T10:12:00Z", rdap.AttrAgeDays: 999}}
	c.Age(&r, now)
	assert.Equal(t, 4, r.Attrs[rdap.AttrAgeDays], "a stale age is replaced")
	r = model.Result{Status: model.StatusFound, Attrs: map[string]any{rdap.AttrAgeDays: 3}}
	c.Age(&r, now)
	assert.NotContains(t, r.Attrs, rdap.AttrAgeDays, "no registration date, no age")
	r = model.Result{Status: model.StatusFound, Attrs: map[string]any{rdap.AttrRegistered: "2027-01-01T00:00:00Z"}}
	c.Age(&r, now)
	assert.NotContains(t, r.Attrs, rdap.AttrAgeDays, "a registration in the future has no age")
}

// registry is a bootstrap fake listing one registry fake for .top, .com
// and .xyz.
func registry(t *testing.T) (*inteltest.RDAPBootstrap, *inteltest.RDAPServer) {
	t.Helper()
	boot := inteltest.NewRDAPBootstrap(t)
	reg := inteltest.NewRDAPServer(t)
	boot.Add(reg.BaseURL(), "top", "com", "xyz")
	return boot, reg
}

func TestLookup(t *testing.T) {
	t.Parallel()
	boot, reg := registry(t)
	reg.Set("evil.top", inteltest.RDAPDomain{Registered: time.Date(2026, 11, 29, 10, 12, 0, 0, time.UTC), Registrar: "NameSilo, LLC",
		Expires: time.Date(2027, 11, 29, 10, 12, 0, 0, time.UTC), Status: []string{"client transfer prohibited"}})
	reg.Set("quiet.top", inteltest.RDAPDomain{Registrar: "Quiet Registrar"})
	reg.Set("other.top", inteltest.RDAPDomain{Registered: time.Date(1997, 9, 15, 0, 0, 0, 0, time.UTC), LDHName: "GOOGLE.COM"})
	for d, f := range map[string]inteltest.Fault{
		"e401.top": inteltest.Fault401, "e429.top": inteltest.Fault429, "e429n.top": inteltest.Fault429NoRetryAfter,
		"e429h.top": inteltest.Fault429HTML, "e500.top": inteltest.Fault500, "e502.top": inteltest.FaultHTML502,
		"garbage.top": inteltest.FaultGarbage, "trunc.top": inteltest.FaultTruncated, "null.top": inteltest.FaultNullData,
		"slow.top": inteltest.FaultSlow,
	} {
		reg.Set(d, inteltest.RDAPDomain{Registered: time.Now()})
		reg.SetFault(d, f)
	}
	reg.SlowDelay = 2 * time.Second
	c := rdap.New(rdap.WithBaseURL(boot.BaseURL()), rdap.WithTimeout(500*time.Millisecond), rdap.WithServerRate(ratelimit.Rate{}))

	tests := []struct {
		name  string
		ioc   string
		asked string // the domain the registry must have been asked about
		check func(t *testing.T, r model.Result, err error)
	}{
		{name: "happy path: a subdomain asks about its registrable domain", ioc: "login.evil.top", asked: "evil.top",
			check: func(t *testing.T, r model.Result, err error) {
				require.NoError(t, err)
				assert.Equal(t, "2026-11-29T10:12:00Z", r.Attrs[rdap.AttrRegistered])
				assert.Equal(t, "NameSilo, LLC", r.Attrs[rdap.AttrRegistrar])
				assert.Equal(t, "2027-11-29T10:12:00Z", r.Attrs[rdap.AttrExpires])
				assert.Equal(t, "evil.top", r.Attrs[rdap.AttrDomain])
				assert.Equal(t, []string{"client transfer prohibited"}, r.Attrs[rdap.AttrStatus])
				assert.Equal(t, reg.BaseURL()+"domain/evil.top", r.Link)
			}},
		{name: "no registration event: found, age unknown", ioc: "quiet.top", asked: "quiet.top",
			check: func(t *testing.T, r model.Result, err error) {
				require.NoError(t, err)
				assert.Equal(t, model.StatusFound, r.Status)
				assert.NotContains(t, r.Attrs, rdap.AttrRegistered)
				assert.Equal(t, "Quiet Registrar", r.Attrs[rdap.AttrRegistrar])
			}},
		{name: "nulls everywhere decode", ioc: "null.top", asked: "null.top",
			check: func(t *testing.T, r model.Result, err error) {
				require.NoError(t, err)
				assert.Equal(t, map[string]any{rdap.AttrDomain: "null.top"}, r.Attrs)
			}},
		{name: "sad path: an answer about another domain is refused", ioc: "other.top", asked: "other.top",
			check: func(t *testing.T, r model.Result, err error) {
				assert.ErrorIs(t, err, intel.ErrBadResponse)
				assert.Contains(t, err.Error(), `about "GOOGLE.COM"`)
			}},
		{name: "sad path: 404 is not found", ioc: "unregistered.com", asked: "unregistered.com",
			check: func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrNotFound) }},
		{name: "sad path: a TLD without an RDAP service is not found, and asks nobody", ioc: "example-shop.de",
			check: func(t *testing.T, r model.Result, err error) {
				assert.ErrorIs(t, err, intel.ErrNotFound)
				assert.Contains(t, err.Error(), "no RDAP service for example-shop.de")
			}},
		{name: "sad path: 401 is the server refusing, never a key problem", ioc: "e401.top", asked: "e401.top",
			check: func(t *testing.T, r model.Result, err error) {
				assert.NotErrorIs(t, err, intel.ErrUnauthorized, "RDAP has no key to reject")
				var he *intel.HTTPError
				require.ErrorAs(t, err, &he)
				assert.Equal(t, 401, he.Status)
				assert.False(t, he.Retryable)
			}},
		{name: "sad path: 429 with Retry-After", ioc: "e429.top", asked: "e429.top",
			check: func(t *testing.T, r model.Result, err error) {
				var rl *intel.RateLimitError
				require.ErrorAs(t, err, &rl)
				assert.Equal(t, time.Second, rl.RetryAfter)
			}},
		{name: "sad path: 429 without Retry-After", ioc: "e429n.top", asked: "e429n.top",
			check: func(t *testing.T, r model.Result, err error) {
				var rl *intel.RateLimitError
				require.ErrorAs(t, err, &rl)
				assert.Zero(t, rl.RetryAfter)
			}},
		{name: "sad path: HTML 429", ioc: "e429h.top", asked: "e429h.top",
			check: func(t *testing.T, r model.Result, err error) {
				var rl *intel.RateLimitError
				require.ErrorAs(t, err, &rl)
			}},
		{name: "sad path: 500 is retryable", ioc: "e500.top", asked: "e500.top",
			check: func(t *testing.T, r model.Result, err error) { requireRetryable(t, err, 500) }},
		{name: "sad path: HTML 502 page", ioc: "e502.top", asked: "e502.top",
			check: func(t *testing.T, r model.Result, err error) {
				requireRetryable(t, err, 502)
				assert.Contains(t, err.Error(), "non-JSON")
			}},
		{name: "sad path: garbage body", ioc: "garbage.top", asked: "garbage.top",
			check: func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrBadResponse) }},
		{name: "sad path: truncated JSON", ioc: "trunc.top", asked: "trunc.top",
			check: func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrBadResponse) }},
		{name: "sad path: slow answer times out", ioc: "slow.top", asked: "slow.top",
			check: func(t *testing.T, r model.Result, err error) {
				var ne net.Error
				assert.True(t, errors.As(err, &ne) && ne.Timeout(), "a timeout the engine retries: %v", err)
			}},
		{name: "sad path: a public suffix is nobody's registration", ioc: "co.uk",
			check: func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrNotFound) }},
	}
	t.Run("lookups", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				r, err := c.Lookup(context.Background(), dom(tt.ioc))
				tt.check(t, r, err)
				asked := false
				for _, q := range reg.Requests() {
					if q.Path == "/rdap/domain/"+tt.asked {
						asked = true
						assert.Contains(t, q.Header.Get("Accept"), "application/rdap+json")
					}
				}
				assert.Equal(t, tt.asked != "", asked, "asked about %q", tt.asked)
			})
		}
	})
	assert.Len(t, boot.Requests(), 1, "the bootstrap is fetched once per client")
	for _, d := range reg.Domains() {
		assert.NotEqual(t, "login.evil.top", d, "subdomains are never sent")
	}
}

func requireRetryable(t *testing.T, err error, status int) {
	t.Helper()
	var he *intel.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, status, he.Status)
	assert.True(t, he.Retryable)
}

// RDAP servers send clients on to each other; verdict follows only to
// servers the bootstrap lists.
func TestRedirectsOnlyWithinTheBootstrap(t *testing.T) {
	t.Parallel()
	boot, reg := registry(t)
	other := inteltest.NewRDAPServer(t) // listed in the bootstrap, for .net
	boot.Add(other.BaseURL(), "net")
	stranger := inteltest.NewRDAPServer(t) // listed nowhere
	other.Set("moved.top", inteltest.RDAPDomain{Registered: time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)})
	stranger.Set("lured.top", inteltest.RDAPDomain{Registered: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)})
	reg.Redirect("moved.top", other.BaseURL())
	reg.Redirect("lured.top", stranger.BaseURL())
	c := rdap.New(rdap.WithBaseURL(boot.BaseURL()), rdap.WithTimeout(2*time.Second))

	r, err := c.Lookup(context.Background(), dom("moved.top"))
	require.NoError(t, err, "a redirect to a listed RDAP server is followed")
	assert.Equal(t, "2020-01-02T00:00:00Z", r.Attrs[rdap.AttrRegistered])
	assert.Equal(t, []string{"moved.top"}, other.Domains())

	_, err = c.Lookup(context.Background(), dom("lured.top"))
	require.Error(t, err)
	assert.ErrorIs(t, err, safehttp.ErrRedirectRefused)
	assert.Empty(t, stranger.Requests(), "the unlisted server is never contacted")
}

func TestBootstrapIsCachedForAWeek(t *testing.T) {
	t.Parallel()
	boot, reg := registry(t)
	reg.Set("evil.top", inteltest.RDAPDomain{Registered: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)})
	mem := cache.NewMemory(nil)
	for range 2 {
		// Two runs: two clients sharing the cache.
		c := rdap.New(rdap.WithBaseURL(boot.BaseURL()), rdap.WithCache(mem), rdap.WithTimeout(2*time.Second))
		_, err := c.Lookup(context.Background(), dom("evil.top"))
		require.NoError(t, err)
		_, err = c.Lookup(context.Background(), dom("www.evil.top"))
		require.NoError(t, err)
	}
	assert.Len(t, boot.Requests(), 1, "the second run reads the bootstrap from the cache")
	e, ok, err := mem.Get(context.Background(), cache.Key{Provider: rdap.Name, Params: "bootstrap", Type: "bootstrap", Value: boot.BaseURL() + "/dns.json"})
	require.NoError(t, err)
	require.True(t, ok)
	assert.InDelta(t, rdap.BootstrapTTL.Hours(), e.ExpiresAt.Sub(e.FetchedAt).Hours(), 0.1)

	h, err := rdap.New(rdap.WithBaseURL(boot.BaseURL()), rdap.WithCache(mem)).Check(context.Background())
	require.NoError(t, err)
	assert.Contains(t, h.Detail, "3 TLDs on 1 RDAP servers, published 2026-11-30T19:00:01Z")
	assert.False(t, h.SpentQuota)
}

func TestBootstrapFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault inteltest.Fault
		check func(t *testing.T, err error)
	}{
		{name: "sad path: 500 is retryable", fault: inteltest.Fault500, check: func(t *testing.T, err error) { requireRetryable(t, err, 500) }},
		{name: "sad path: HTML 502", fault: inteltest.FaultHTML502, check: func(t *testing.T, err error) { requireRetryable(t, err, 502) }},
		{name: "sad path: 429", fault: inteltest.Fault429, check: func(t *testing.T, err error) {
			var rl *intel.RateLimitError
			require.ErrorAs(t, err, &rl)
			assert.Equal(t, time.Second, rl.RetryAfter)
		}},
		{name: "sad path: garbage", fault: inteltest.FaultGarbage, check: func(t *testing.T, err error) { assert.ErrorIs(t, err, intel.ErrBadResponse) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			boot, reg := registry(t)
			boot.SetFault("dns.json", tt.fault)
			mem := cache.NewMemory(nil)
			_, err := rdap.New(rdap.WithBaseURL(boot.BaseURL()), rdap.WithCache(mem)).Lookup(context.Background(), dom("evil.top"))
			require.Error(t, err)
			tt.check(t, err)
			assert.Empty(t, reg.Requests())
			st, err := mem.Stats(context.Background())
			require.NoError(t, err)
			assert.Zero(t, st.Entries, "a failed bootstrap is never cached")
		})
	}
}

// Each RDAP server gets at most server_rate requests, on its own clock;
// two servers are paced apart, not together.
func TestServerRate(t *testing.T) {
	t.Parallel()
	boot, top := registry(t)
	net := inteltest.NewRDAPServer(t)
	boot.Add(net.BaseURL(), "net")
	c := rdap.New(rdap.WithBaseURL(boot.BaseURL()), rdap.WithServerRate(ratelimit.Rate{N: 2, Per: time.Second}), rdap.WithTimeout(5*time.Second))
	var wg sync.WaitGroup
	start := time.Now()
	for i := range 5 {
		for _, tld := range []string{"top", "net"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := c.Lookup(context.Background(), dom(string(rune('a'+i))+"-domain."+tld))
				assert.ErrorIs(t, err, intel.ErrNotFound)
			}()
		}
	}
	wg.Wait()
	require.Len(t, top.Requests(), 5)
	require.Len(t, net.Requests(), 5)
	// 50 ms of scheduling jitter allowed: the fake stamps a request when its
	// handler starts, and a busy machine can start the first one late.
	window := time.Second - 50*time.Millisecond
	assert.LessOrEqual(t, top.MaxInWindow(window), 2, "more than 2 requests to one server in a second")
	assert.LessOrEqual(t, net.MaxInWindow(window), 2)
	assert.GreaterOrEqual(t, time.Since(start), 2*time.Second, "5 requests at 2/s take 2 s")
	assert.Less(t, time.Since(start), 4*time.Second, "the servers are paced separately: 5 each at 2/s is about 2 s, not 4.5 s")
}
