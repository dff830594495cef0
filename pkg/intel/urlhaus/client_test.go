package urlhaus_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/intel/urlhaus"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

const key = "urlhaus-test-auth-key-7f3e9c1b5d2a4e6f8091a2b3c4d5e6f7"

// answer is what the fake serves for one query value.
type answer struct {
	status int
	file   string // under testdata/
	body   string // when there is no file
	ctype  string // default application/json
	header map[string]string
	delay  time.Duration
}

// seenReq is one request the fake received.
type seenReq struct {
	method, path, ctype, key string
	form                     url.Values
}

// fake serves testdata answers by the queried value (url, host, md5_hash
// or sha256_hash), recording every request.
type fake struct {
	*httptest.Server
	mu      sync.Mutex
	seen    []seenReq
	answers map[string]answer
}

func newFake(t *testing.T, answers map[string]answer) *fake {
	t.Helper()
	f := &fake{answers: answers}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(b))
		f.mu.Lock()
		f.seen = append(f.seen, seenReq{method: r.Method, path: r.URL.Path, ctype: r.Header.Get("Content-Type"), key: r.Header.Get("Auth-Key"), form: form})
		f.mu.Unlock()
		value := form.Get("url") + form.Get("host") + form.Get("md5_hash") + form.Get("sha256_hash")
		a, ok := f.answers[value]
		if !ok {
			a = answer{file: "no_results.json"}
		}
		if a.delay > 0 {
			select {
			case <-time.After(a.delay):
			case <-r.Context().Done():
				return
			}
		}
		body := []byte(a.body)
		if a.file != "" {
			var err error
			body, err = os.ReadFile(filepath.Join("testdata", a.file))
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		ct := a.ctype
		if ct == "" {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		if a.status != 0 {
			w.WriteHeader(a.status)
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) requests() []seenReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenReq(nil), f.seen...)
}

const (
	emotetURL  = "http://sskymedia.com/VMYB-ht_JAQo-gi/INV/99401FORPO/20673114777/US/Outstanding-Invoices/"
	payloadMD5 = "1585ad28f7d1e0ca696e6c6c2f1d008a"
	payloadSHA = "35e304d10d53834e3e41035d12122773c9a4d183a24e03f980ad3e6b2ecde7fa"
)

func TestLookup(t *testing.T) {
	t.Parallel()
	f := newFake(t, map[string]answer{
		emotetURL:                          {file: "url-emotet.json"},
		"gist.github.com":                  {file: "host-gist.json"},
		"185.172.128.11":                   {file: "host-ip.json"},
		payloadSHA:                         {file: "payload-sha256.json"},
		payloadMD5:                         {file: "payload-sha256.json"},
		"0cc175b9c0f1b6a831c399e269772661": {file: "payload-other-file.json"},
		"http://notfound404.com/":          {status: 404, file: "no_results.json"},
		"http://badkey.com/":               {file: "unknown_auth_key.json"},
		"http://e401.com/":                 {status: 401, file: "unknown_auth_key.json"},
		"http://e401h.com/":                {status: 401, body: "<html><body>401 Unauthorized</body></html>", ctype: "text/html"},
		"http://refused.com/":              {file: "invalid_url.json"},
		"http://e429.com/":                 {status: 429, body: `{"query_status":"rate_limited"}`, header: map[string]string{"Retry-After": "7"}},
		"http://e429n.com/":                {status: 429, body: "Too Many Requests", ctype: "text/plain"},
		"http://e500.com/":                 {status: 500, body: `{"query_status":"internal_error"}`},
		"http://e503.com/":                 {status: 503, body: "<html><h1>503 Service Unavailable</h1></html>", ctype: "text/html"},
		"http://garbage.com/":              {body: "\x00\x01 not json <html>"},
		"http://maintenance.com/":          {body: "<html><body>Maintenance</body></html>", ctype: "text/html"},
		"http://nostatus.com/":             {body: `{"url_status":"online"}`},
		"http://e404.com/":                 {status: 404, body: "<html>Not Found</html>", ctype: "text/html"},
		"http://slow.com/":                 {delay: 2 * time.Second, file: "url-emotet.json"},
		"empty.com":                        {body: `{"query_status":"ok","host":"empty.com","url_count":"0","urls":[]}`},
	})
	c := urlhaus.New(key, urlhaus.WithBaseURL(f.URL+"/v1"), urlhaus.WithHTTPClient(&http.Client{Timeout: 300 * time.Millisecond}))

	notFound := func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrNotFound) }
	tests := []struct {
		name     string
		ioc      ioc.IOC
		wantPath string
		wantForm url.Values
		check    func(t *testing.T, r model.Result, err error)
	}{
		{name: "happy path: URL listed", ioc: ioc.IOC{Type: ioc.URL, Value: emotetURL}, wantPath: "/v1/url/", wantForm: url.Values{"url": {emotetURL}},
			check: func(t *testing.T, r model.Result, err error) {
				require.NoError(t, err)
				// The URL itself distributes malware: it is listed even
				// though its host is an abused legitimate site.
				assert.Equal(t, []model.FeedMatch{{Feed: "URLhaus", Category: "malware", Info: "malware_download, online, Heodo"}}, r.Matches)
				assert.Equal(t, []string{"emotet", "epoch2", "heodo"}, r.Tags)
				assert.Equal(t, "https://urlhaus.abuse.ch/url/105821/", r.Link)
				assert.Equal(t, map[string]any{"url_status": "online", "threat": "malware_download", "date_added": "2019-01-19T01:33:26Z",
					"payloads": 1, "signatures": []string{"Heodo"}, "spamhaus_dbl": "abused_legit_malware", "surbl": "listed"}, r.Attrs)
				assert.Empty(t, r.MD5+r.SHA256, "a URL's payload is another artifact")
			}},
		{name: "happy path: IPv4 host listed, answer spelled query_staus", ioc: ioc.IOC{Type: ioc.IPv4, Value: "185.172.128.11"}, wantPath: "/v1/host/",
			wantForm: url.Values{"host": {"185.172.128.11"}},
			check: func(t *testing.T, r model.Result, err error) {
				require.NoError(t, err)
				assert.Equal(t, []model.FeedMatch{{Feed: "URLhaus", Category: "malware", Info: "2 malware URLs, 1 online; malware_download"}}, r.Matches)
				assert.Equal(t, 2, r.Attrs["url_count"], "a number sent as a string")
				assert.Equal(t, 1, r.Attrs["urls_online"])
				assert.Equal(t, "2026-11-15T07:09:01Z", r.Attrs["first_seen"])
				assert.Equal(t, []string{"elf", "Mozi"}, r.Tags)
				assert.NotContains(t, r.Attrs, "spamhaus_dbl", "\"not listed\" says nothing")
				n, ok := r.Number("url_count")
				assert.True(t, ok)
				assert.Equal(t, 2.0, n, "rules can read it")
			}},
		{name: "abused legitimate host: facts, no listing", ioc: ioc.IOC{Type: ioc.Domain, Value: "gist.github.com"}, wantPath: "/v1/host/",
			wantForm: url.Values{"host": {"gist.github.com"}},
			check: func(t *testing.T, r model.Result, err error) {
				require.NoError(t, err)
				assert.Equal(t, model.StatusFound, r.Status)
				assert.Empty(t, r.Matches, "gist.github.com is not the attacker's host: no +70 for every alert that mentions it")
				assert.Equal(t, true, r.Attrs["abused_legit"])
				assert.Equal(t, 3248, r.Attrs["url_count"])
				assert.Equal(t, "abused_legit_malware", r.Attrs["spamhaus_dbl"])
				assert.Equal(t, []string{"Pikabot", "TA577", "zip", "foo"}, r.Tags)
			}},
		{name: "host ok with nothing listed is not found", ioc: ioc.IOC{Type: ioc.Domain, Value: "empty.com"}, check: notFound},
		{name: "happy path: payload by SHA-256 names its MD5", ioc: ioc.IOC{Type: ioc.SHA256, Value: payloadSHA}, wantPath: "/v1/payload/",
			wantForm: url.Values{"sha256_hash": {payloadSHA}},
			check: func(t *testing.T, r model.Result, err error) {
				require.NoError(t, err)
				assert.Equal(t, payloadMD5, r.MD5)
				assert.Equal(t, payloadSHA, r.SHA256)
				assert.Equal(t, []model.FeedMatch{{Feed: "URLhaus", Category: "malware", Info: "Heodo"}}, r.Matches)
				assert.Equal(t, map[string]any{"file_type": "exe", "file_size": 241664, "signature": "Heodo", "first_seen": "2019-01-19T13:59:06Z",
					"last_seen": "2019-01-19T14:48:08Z", "url_count": 2}, r.Attrs)
				assert.Empty(t, r.Link)
			}},
		{name: "happy path: payload by MD5 names its SHA-256", ioc: ioc.IOC{Type: ioc.MD5, Value: payloadMD5}, wantPath: "/v1/payload/",
			wantForm: url.Values{"md5_hash": {payloadMD5}},
			check: func(t *testing.T, r model.Result, err error) {
				require.NoError(t, err)
				assert.Equal(t, [2]string{payloadMD5, payloadSHA}, [2]string{r.MD5, r.SHA256})
			}},
		{name: "sad path: an answer about another file is refused", ioc: ioc.IOC{Type: ioc.MD5, Value: "0cc175b9c0f1b6a831c399e269772661"},
			check: func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrBadResponse) }},
		{name: "no_results is not found", ioc: ioc.IOC{Type: ioc.URL, Value: "http://unknown.org/x"}, check: notFound},
		{name: "no_results with HTTP 404 is not found", ioc: ioc.IOC{Type: ioc.URL, Value: "http://notfound404.com/"}, check: notFound},
		{name: "sad path: unknown_auth_key in a 200", ioc: ioc.IOC{Type: ioc.URL, Value: "http://badkey.com/"},
			check: func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrUnauthorized) }},
		{name: "sad path: HTTP 401", ioc: ioc.IOC{Type: ioc.URL, Value: "http://e401.com/"},
			check: func(t *testing.T, r model.Result, err error) {
				assert.ErrorIs(t, err, intel.ErrUnauthorized)
				assert.Contains(t, err.Error(), "unknown_auth_key")
			}},
		{name: "sad path: HTTP 401 as an HTML page", ioc: ioc.IOC{Type: ioc.URL, Value: "http://e401h.com/"},
			check: func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrUnauthorized) }},
		{name: "sad path: invalid_url is a refused query, not retried", ioc: ioc.IOC{Type: ioc.URL, Value: "http://refused.com/"},
			check: func(t *testing.T, r model.Result, err error) {
				var he *intel.HTTPError
				require.ErrorAs(t, err, &he)
				assert.Equal(t, "invalid_url", he.Code)
				assert.False(t, he.Retryable)
			}},
		{name: "sad path: 429 with Retry-After", ioc: ioc.IOC{Type: ioc.URL, Value: "http://e429.com/"},
			check: func(t *testing.T, r model.Result, err error) {
				var rl *intel.RateLimitError
				require.ErrorAs(t, err, &rl)
				assert.Equal(t, 7*time.Second, rl.RetryAfter)
			}},
		{name: "sad path: 429 without Retry-After", ioc: ioc.IOC{Type: ioc.URL, Value: "http://e429n.com/"},
			check: func(t *testing.T, r model.Result, err error) {
				var rl *intel.RateLimitError
				require.ErrorAs(t, err, &rl)
				assert.Zero(t, rl.RetryAfter)
			}},
		{name: "sad path: 500 is retryable", ioc: ioc.IOC{Type: ioc.URL, Value: "http://e500.com/"},
			check: func(t *testing.T, r model.Result, err error) { requireRetryable(t, err, 500) }},
		{name: "sad path: 503 HTML page is retryable", ioc: ioc.IOC{Type: ioc.URL, Value: "http://e503.com/"},
			check: func(t *testing.T, r model.Result, err error) {
				requireRetryable(t, err, 503)
				assert.Contains(t, err.Error(), "non-JSON")
			}},
		{name: "sad path: garbage body", ioc: ioc.IOC{Type: ioc.URL, Value: "http://garbage.com/"},
			check: func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrBadResponse) }},
		{name: "sad path: HTML page with 200", ioc: ioc.IOC{Type: ioc.URL, Value: "http://maintenance.com/"},
			check: func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrBadResponse) }},
		{name: "sad path: JSON without query_status", ioc: ioc.IOC{Type: ioc.URL, Value: "http://nostatus.com/"},
			check: func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrBadResponse) }},
		{name: "sad path: 404 page means a wrong base URL", ioc: ioc.IOC{Type: ioc.URL, Value: "http://e404.com/"},
			check: func(t *testing.T, r model.Result, err error) {
				var he *intel.HTTPError
				require.ErrorAs(t, err, &he)
				assert.False(t, he.Retryable)
				assert.Contains(t, err.Error(), "urlhaus.base_url")
				assert.NotErrorIs(t, err, intel.ErrNotFound)
			}},
		{name: "sad path: slow answer times out", ioc: ioc.IOC{Type: ioc.URL, Value: "http://slow.com/"},
			check: func(t *testing.T, r model.Result, err error) {
				var ne net.Error
				require.Error(t, err)
				assert.True(t, errors.As(err, &ne) && ne.Timeout(), "a timeout the engine retries: %v", err)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := c.Lookup(context.Background(), tt.ioc)
			tt.check(t, r, err)
			if err != nil {
				assert.NotContains(t, err.Error(), key, "the Auth-Key never appears in an error")
			}
			if tt.wantPath == "" {
				return
			}
			var seen bool
			for _, req := range f.requests() {
				if req.path == tt.wantPath && req.form.Encode() == tt.wantForm.Encode() {
					seen = true
					assert.Equal(t, http.MethodPost, req.method)
					assert.Equal(t, "application/x-www-form-urlencoded", req.ctype)
					assert.Equal(t, key, req.key)
				}
			}
			assert.True(t, seen, "no POST %s %v", tt.wantPath, tt.wantForm)
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

// Types URLhaus does not take, and a missing key, send nothing.
func TestLookupSendsNothing(t *testing.T) {
	t.Parallel()
	f := newFake(t, nil)
	c := urlhaus.New(key, urlhaus.WithBaseURL(f.URL+"/v1"))
	for _, i := range []ioc.IOC{{Type: ioc.SHA1, Value: "3395856ce81f2b7382dee72602f798b642f14140"}, {Type: ioc.IPv6, Value: "2001:4860::8888"}} {
		_, err := c.Lookup(context.Background(), i)
		assert.ErrorIs(t, err, intel.ErrUnsupported, i)
		assert.False(t, c.Supports(i.Type))
	}
	_, err := urlhaus.New("", urlhaus.WithBaseURL(f.URL+"/v1")).Lookup(context.Background(), ioc.IOC{Type: ioc.Domain, Value: "evil.com"})
	assert.ErrorIs(t, err, intel.ErrUnauthorized)
	assert.Empty(t, f.requests())
}

func TestCheck(t *testing.T) {
	t.Parallel()
	f := newFake(t, map[string]answer{})
	h, err := urlhaus.New(key, urlhaus.WithBaseURL(f.URL+"/v1")).Check(context.Background())
	require.NoError(t, err, "no_results proves the key as well as ok does")
	assert.True(t, h.KeyAccepted)
	assert.False(t, h.SpentQuota)
	require.Len(t, f.requests(), 1)
	assert.Equal(t, "/v1/host/", f.requests()[0].path)

	bad := inteltest.NewURLhaus(t, key)
	_, err = urlhaus.New("wrong-"+key, urlhaus.WithBaseURL(bad.BaseURL())).Check(context.Background())
	assert.ErrorIs(t, err, intel.ErrUnauthorized)
}

// The registration's rate and daily quota hold, on the fake's own clock:
// no second sees more requests than the rate allows, and once the quota is
// spent the rest are skipped without a request.
func TestRateAndQuota(t *testing.T) {
	t.Parallel()
	fake := inteltest.NewURLhaus(t, key)
	for i := range 8 {
		fake.SetHost(hostN(i), inteltest.URLhausHost{URLs: 3, Online: 1})
	}
	reg := urlhaus.Registration
	require.Equal(t, 2, reg.Defaults.Rate.N)
	spec := intel.Spec{
		Provider: urlhaus.New(key, urlhaus.WithBaseURL(fake.BaseURL())),
		Rate:     reg.Defaults.Rate, DailyQuota: 6, Concurrency: reg.Defaults.Concurrency,
	}
	e := intel.NewEngine([]intel.Spec{spec}, intel.Options{Quota: cache.NewMemory(nil)})
	iocs := make([]ioc.IOC, 8)
	for i := range iocs {
		iocs[i] = ioc.IOC{Type: ioc.Domain, Value: hostN(i)}
	}
	res, err := e.Lookup(context.Background(), iocs)
	require.NoError(t, err)
	assert.Len(t, fake.Requests(), 6, "the daily quota")
	assertRate(t, fake.Requests(), reg.Defaults.Rate.N, reg.Defaults.Rate.Per)
	skipped := 0
	for i := range iocs {
		r := res.For(i)["urlhaus"]
		require.NotNil(t, r)
		if r.Status == model.StatusSkipped {
			assert.Equal(t, model.ReasonQuotaExhausted, r.Reason)
			skipped++
		} else {
			assert.Equal(t, model.StatusFound, r.Status)
		}
	}
	assert.Equal(t, 2, skipped)
}

func hostN(i int) string { return "c2-" + string(rune('a'+i)) + ".example-bad.com" }

// assertRate checks the server's own arrival times against a rate of n per
// per: no window of per (less 5%, for the jitter of arrival on a loaded
// machine: a connection's first request waits for its dial) holds more
// than n, and the requests span at least the time the rate needs for them.
func assertRate(t *testing.T, reqs []inteltest.Request, n int, per time.Duration) {
	t.Helper()
	require.NotEmpty(t, reqs)
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].At.Before(reqs[j].At) })
	window := per - per/20
	for i := range reqs {
		in := 0
		for j := i; j < len(reqs) && reqs[j].At.Sub(reqs[i].At) < window; j++ {
			in++
		}
		assert.LessOrEqual(t, in, n, "more than %d requests within %s of request %d", n, window, i)
	}
	need := time.Duration(len(reqs)-1) * per / time.Duration(n)
	assert.GreaterOrEqual(t, reqs[len(reqs)-1].At.Sub(reqs[0].At), need-need/20, "the requests came faster than the rate")
}
