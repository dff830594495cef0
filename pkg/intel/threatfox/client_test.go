package threatfox_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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
	"github.com/verdict-dev/verdict/pkg/intel/threatfox"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

const key = "threatfox-test-auth-key-0a1b2c3d4e5f60718293a4b5c6d7e8f9"

type answer struct {
	status int
	file   string
	body   string
	ctype  string
	header map[string]string
	delay  time.Duration
}

type seenReq struct {
	method, path, ctype, key string
	body                     map[string]any
}

// fake serves testdata answers by the search term or hash of the JSON
// query, recording every request.
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
		var q map[string]any
		_ = json.Unmarshal(b, &q)
		f.mu.Lock()
		f.seen = append(f.seen, seenReq{method: r.Method, path: r.URL.Path, ctype: r.Header.Get("Content-Type"), key: r.Header.Get("Auth-Key"), body: q})
		f.mu.Unlock()
		term, _ := q["search_term"].(string)
		hash, _ := q["hash"].(string)
		a, ok := f.answers[term+hash]
		if !ok {
			a = answer{file: "no_result.json"}
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
			if body, err = os.ReadFile(filepath.Join("testdata", a.file)); err != nil {
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
	sampleMD5 = "5b7e82e051ade4b14d163eea2a17bf8b"
	sampleSHA = "b325c92fa540edeb89b95dbfd4400c1cb33599c66859a87aead820e568a2ebe7"
	v6        = "2001:db8:85a3::8a2e:370:7334"
)

func TestLookup(t *testing.T) {
	t.Parallel()
	f := newFake(t, map[string]answer{
		"139.180.203.104":                  {file: "ip-cobalt.json"},
		v6:                                 {file: "ip-two-threats.json"},
		"ntpjson.monster":                  {file: "domain-payload.json"},
		sampleSHA:                          {file: "hash-samples.json"},
		sampleMD5:                          {file: "hash-samples.json"},
		"d41d8cd98f00b204e9800998ecf8427f": {file: "hash-samples.json"},
		"139.180.203.1":                    {file: "ip-cobalt.json"}, // only substring collisions
		"okempty.com":                      {file: "ok-empty.json"},
		"badkey.com":                       {file: "unknown_auth_key.json"},
		"e401.com":                         {status: 401, file: "unknown_auth_key.json"},
		"refused.com":                      {file: "illegal_search_term.json"},
		"e429.com":                         {status: 429, body: `{"query_status":"rate_limited"}`, header: map[string]string{"Retry-After": "3"}},
		"e429n.com":                        {status: 429, body: "<html>429</html>", ctype: "text/html"},
		"e500.com":                         {status: 500, body: `{"query_status":"internal_error"}`},
		"e502.com":                         {status: 502, body: "<html><h1>502 Bad Gateway</h1></html>", ctype: "text/html"},
		"garbage.com":                      {body: "\x00\x01 not json <html>"},
		"truncated.com":                    {body: `{"query_status": "ok", "data": [{"id": "1`},
		"baddata.com":                      {body: `{"query_status": "ok", "data": [{"ioc": 5}, 3]}`},
		"slow.com":                         {delay: 2 * time.Second, file: "domain-payload.json"},
	})
	c := threatfox.New(key, threatfox.WithBaseURL(f.URL+"/api/v1"), threatfox.WithHTTPClient(&http.Client{Timeout: 300 * time.Millisecond}))
	notFound := func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrNotFound) }

	tests := []struct {
		name     string
		ioc      ioc.IOC
		wantBody map[string]any
		check    func(t *testing.T, r model.Result, err error)
	}{
		{name: "happy path: C2 address listed as ip:port", ioc: ioc.IOC{Type: ioc.IPv4, Value: "139.180.203.104"},
			wantBody: map[string]any{"query": "search_ioc", "search_term": "139.180.203.104"},
			check: func(t *testing.T, r model.Result, err error) {
				require.NoError(t, err)
				assert.Equal(t, []model.FeedMatch{{Feed: "ThreatFox", Category: "c2", Entry: "139.180.203.104:443", Info: "Cobalt Strike"}}, r.Matches,
					"the URL row that merely contains the address is not about it")
				assert.Equal(t, map[string]any{"iocs": 1, "threat_types": []string{"botnet_cc"}, "malware": []string{"Cobalt Strike"},
					"confidence": 75, "first_seen": "2020-12-06T09:10:23Z"}, r.Attrs)
				assert.Equal(t, "https://threatfox.abuse.ch/ioc/12/", r.Link)
				assert.Empty(t, r.MD5+r.SHA256)
			}},
		{name: "happy path: two threat types are two listings, strongest first", ioc: ioc.IOC{Type: ioc.IPv6, Value: v6},
			check: func(t *testing.T, r model.Result, err error) {
				require.NoError(t, err)
				assert.Equal(t, []model.FeedMatch{
					{Feed: "ThreatFox", Category: "c2", Entry: "[" + v6 + "]:8080", Info: "QakBot"},
					{Feed: "ThreatFox", Category: "malware", Info: "Pikabot"},
				}, r.Matches)
				assert.Equal(t, 2, r.Attrs["iocs"], "the collision, the string and the null rows are dropped")
				assert.Equal(t, 100, r.Attrs["confidence"], "the highest, numbers as strings or not")
				assert.Equal(t, "2026-11-10T09:10:23Z", r.Attrs["first_seen"])
				assert.Equal(t, "2026-11-20T10:00:00Z", r.Attrs["last_seen"])
				assert.Equal(t, []string{"qakbot", "TA570", "Pikabot"}, r.Tags, "tags as a string, as a list with junk")
				n, ok := r.Number("confidence")
				assert.True(t, ok)
				assert.Equal(t, 100.0, n)
			}},
		{name: "happy path: domain, exact search, payload delivery is malware", ioc: ioc.IOC{Type: ioc.Domain, Value: "ntpjson.monster"},
			wantBody: map[string]any{"query": "search_ioc", "search_term": "ntpjson.monster", "exact_match": true},
			check: func(t *testing.T, r model.Result, err error) {
				require.NoError(t, err)
				assert.Equal(t, []model.FeedMatch{{Feed: "ThreatFox", Category: "malware", Info: "FAKEUPDATES"}}, r.Matches)
				assert.Equal(t, []string{"SocGholish"}, r.Tags)
			}},
		{name: "happy path: hash names the sample's other hash", ioc: ioc.IOC{Type: ioc.SHA256, Value: sampleSHA},
			wantBody: map[string]any{"query": "search_hash", "hash": sampleSHA},
			check: func(t *testing.T, r model.Result, err error) {
				require.NoError(t, err)
				assert.Equal(t, [2]string{sampleMD5, sampleSHA}, [2]string{r.MD5, r.SHA256})
				assert.Equal(t, []model.FeedMatch{{Feed: "ThreatFox", Category: "malware", Info: "Cobalt Strike"}}, r.Matches,
					"a sample of a botnet is malware, not a C2 server")
			}},
		{name: "happy path: MD5 finds the SHA-256", ioc: ioc.IOC{Type: ioc.MD5, Value: sampleMD5},
			check: func(t *testing.T, r model.Result, err error) {
				require.NoError(t, err)
				assert.Equal(t, [2]string{sampleMD5, sampleSHA}, [2]string{r.MD5, r.SHA256})
			}},
		{name: "a hash no sample entry names links nothing", ioc: ioc.IOC{Type: ioc.MD5, Value: "d41d8cd98f00b204e9800998ecf8427f"},
			check: func(t *testing.T, r model.Result, err error) {
				require.NoError(t, err)
				assert.Empty(t, r.MD5+r.SHA256)
				assert.Len(t, r.Matches, 1)
			}},
		{name: "only substring collisions is not found", ioc: ioc.IOC{Type: ioc.IPv4, Value: "139.180.203.1"}, check: notFound},
		{name: "no_result with data as a string is not found", ioc: ioc.IOC{Type: ioc.Domain, Value: "unknown.org"}, check: notFound},
		{name: "ok with an empty list is not found", ioc: ioc.IOC{Type: ioc.Domain, Value: "okempty.com"}, check: notFound},
		{name: "rows of the wrong shape are skipped", ioc: ioc.IOC{Type: ioc.Domain, Value: "baddata.com"}, check: notFound},
		{name: "sad path: unknown_auth_key in a 200", ioc: ioc.IOC{Type: ioc.Domain, Value: "badkey.com"},
			check: func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrUnauthorized) }},
		{name: "sad path: HTTP 401", ioc: ioc.IOC{Type: ioc.Domain, Value: "e401.com"},
			check: func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrUnauthorized) }},
		{name: "sad path: illegal_search_term is a refused query", ioc: ioc.IOC{Type: ioc.Domain, Value: "refused.com"},
			check: func(t *testing.T, r model.Result, err error) {
				var he *intel.HTTPError
				require.ErrorAs(t, err, &he)
				assert.Equal(t, "illegal_search_term", he.Code)
				assert.False(t, he.Retryable)
			}},
		{name: "sad path: 429 with Retry-After", ioc: ioc.IOC{Type: ioc.Domain, Value: "e429.com"},
			check: func(t *testing.T, r model.Result, err error) {
				var rl *intel.RateLimitError
				require.ErrorAs(t, err, &rl)
				assert.Equal(t, 3*time.Second, rl.RetryAfter)
			}},
		{name: "sad path: HTML 429 without Retry-After", ioc: ioc.IOC{Type: ioc.Domain, Value: "e429n.com"},
			check: func(t *testing.T, r model.Result, err error) {
				var rl *intel.RateLimitError
				require.ErrorAs(t, err, &rl)
				assert.Zero(t, rl.RetryAfter)
			}},
		{name: "sad path: 500 is retryable", ioc: ioc.IOC{Type: ioc.Domain, Value: "e500.com"},
			check: func(t *testing.T, r model.Result, err error) { requireRetryable(t, err, 500) }},
		{name: "sad path: HTML 502 page is retryable", ioc: ioc.IOC{Type: ioc.Domain, Value: "e502.com"},
			check: func(t *testing.T, r model.Result, err error) { requireRetryable(t, err, 502) }},
		{name: "sad path: garbage body", ioc: ioc.IOC{Type: ioc.Domain, Value: "garbage.com"},
			check: func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrBadResponse) }},
		{name: "sad path: truncated JSON", ioc: ioc.IOC{Type: ioc.Domain, Value: "truncated.com"},
			check: func(t *testing.T, r model.Result, err error) { assert.ErrorIs(t, err, intel.ErrBadResponse) }},
		{name: "sad path: slow answer times out", ioc: ioc.IOC{Type: ioc.Domain, Value: "slow.com"},
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
			if tt.wantBody == nil {
				return
			}
			var seen bool
			for _, req := range f.requests() {
				if assert.ObjectsAreEqual(tt.wantBody, req.body) {
					seen = true
					assert.Equal(t, http.MethodPost, req.method)
					assert.Equal(t, "/api/v1/", req.path)
					assert.Equal(t, "application/json", req.ctype)
					assert.Equal(t, key, req.key)
				}
			}
			assert.True(t, seen, "no POST of %v", tt.wantBody)
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

func TestCategoryOf(t *testing.T) {
	t.Parallel()
	for tt, want := range map[string]string{
		"botnet_cc": "c2", "BOTNET_CC ": "c2", "payload_delivery": "malware", "payload": "malware",
		"cc_skimming": "malware", "": "malware", "something_new": "malware",
	} {
		assert.Equal(t, want, threatfox.CategoryOf(tt), tt)
	}
}

// Types ThreatFox does not take, and a missing key, send nothing.
func TestLookupSendsNothing(t *testing.T) {
	t.Parallel()
	f := newFake(t, nil)
	c := threatfox.New(key, threatfox.WithBaseURL(f.URL))
	_, err := c.Lookup(context.Background(), ioc.IOC{Type: ioc.SHA1, Value: "3395856ce81f2b7382dee72602f798b642f14140"})
	assert.ErrorIs(t, err, intel.ErrUnsupported)
	_, err = threatfox.New("", threatfox.WithBaseURL(f.URL)).Lookup(context.Background(), ioc.IOC{Type: ioc.Domain, Value: "evil.com"})
	assert.ErrorIs(t, err, intel.ErrUnauthorized)
	assert.Empty(t, f.requests())
}

func TestCheck(t *testing.T) {
	t.Parallel()
	f := newFake(t, nil)
	h, err := threatfox.New(key, threatfox.WithBaseURL(f.URL+"/api/v1")).Check(context.Background())
	require.NoError(t, err, "no_result proves the key as well as ok does")
	assert.True(t, h.KeyAccepted)
	require.Len(t, f.requests(), 1)

	fake := inteltest.NewThreatFox(t, key)
	_, err = threatfox.New("wrong-"+key, threatfox.WithBaseURL(fake.BaseURL())).Check(context.Background())
	assert.ErrorIs(t, err, intel.ErrUnauthorized)
}

// The registration's rate and daily quota hold on the fake's own clock.
func TestRateAndQuota(t *testing.T) {
	t.Parallel()
	fake := inteltest.NewThreatFox(t, key)
	iocs := make([]ioc.IOC, 7)
	for i := range iocs {
		v := "c2-" + string(rune('a'+i)) + ".example-bad.com"
		iocs[i] = ioc.IOC{Type: ioc.Domain, Value: v}
		fake.Add(inteltest.ThreatFoxIOC{IOC: v, ThreatType: "botnet_cc", Malware: "QakBot", Confidence: 75})
	}
	reg := threatfox.Registration
	e := intel.NewEngine([]intel.Spec{{
		Provider: threatfox.New(key, threatfox.WithBaseURL(fake.BaseURL())),
		Rate:     reg.Defaults.Rate, DailyQuota: 5, Concurrency: reg.Defaults.Concurrency,
	}}, intel.Options{Quota: cache.NewMemory(nil)})
	res, err := e.Lookup(context.Background(), iocs)
	require.NoError(t, err)
	assert.Len(t, fake.Requests(), 5, "the daily quota")
	assertRate(t, fake.Requests(), reg.Defaults.Rate.N, reg.Defaults.Rate.Per)
	var found, skipped int
	for i := range iocs {
		switch r := res.For(i)["threatfox"]; r.Status {
		case model.StatusFound:
			found++
			assert.Equal(t, "c2", r.Matches[0].Category)
		case model.StatusSkipped:
			skipped++
			assert.Equal(t, model.ReasonQuotaExhausted, r.Reason)
		}
	}
	assert.Equal(t, [2]int{5, 2}, [2]int{found, skipped})
	for _, b := range fake.Bodies() {
		assert.Contains(t, b, `"exact_match":true`)
	}
}

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
