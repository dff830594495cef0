package intel_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

// parentKeyed asks about a domain's last two labels (as RDAP asks about the
// registrable domain) and ages its answers against the run's clock.
type parentKeyed struct {
	*inteltest.Provider
	aged []time.Time
}

func (p *parentKeyed) CacheKey(i ioc.IOC) string {
	labels := strings.Split(i.Value, ".")
	if len(labels) < 2 {
		return i.Value
	}
	return strings.Join(labels[len(labels)-2:], ".")
}

func (p *parentKeyed) Age(r *model.Result, now time.Time) {
	p.aged = append(p.aged, now)
	reg := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	if r.Attrs == nil {
		r.Attrs = map[string]any{}
	}
	r.Attrs["age_days"] = int(now.Sub(reg) / (24 * time.Hour))
}

var (
	_ intel.CacheKeyer = (*parentKeyed)(nil)
	_ intel.Ager       = (*parentKeyed)(nil)
)

func domains(v ...string) []ioc.IOC {
	out := make([]ioc.IOC, len(v))
	for i, d := range v {
		out[i] = ioc.IOC{Type: ioc.Domain, Value: d}
	}
	return out
}

// Indicators that share a cache key cost one request and one quota unit,
// each is still a lookup, and later runs find the shared answer in the cache,
// for subdomains they have never seen too.
func TestCacheKeySharesOneRequest(t *testing.T) {
	t.Parallel()
	p := &parentKeyed{Provider: &inteltest.Provider{ProviderName: "rdap", Types: []ioc.Type{ioc.Domain}}}
	mem := cache.NewMemory(nil)
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	e := intel.NewEngine([]intel.Spec{{Provider: p, Concurrency: 4, DailyQuota: 10}},
		intel.Options{Cache: mem, Quota: mem, Now: func() time.Time { return now }})

	iocs := domains("www.evil.top", "mail.evil.top", "evil.top", "other.com")
	res, err := e.Lookup(context.Background(), iocs)
	require.NoError(t, err)
	require.Len(t, p.Calls(), 2, "one request for evil.top and its subdomains, one for other.com")
	assert.Equal(t, intel.Stats{Lookups: 4, Requests: 2}, res.Stats["rdap"])
	used, err := mem.Used(context.Background(), "rdap")
	require.NoError(t, err)
	assert.Equal(t, 2, used, "the quota counts requests, not indicators")
	for i := range iocs {
		r := res.For(i)["rdap"]
		require.NotNil(t, r)
		assert.Equal(t, model.StatusFound, r.Status)
		assert.Equal(t, 4, r.Attrs["age_days"], "aged against the run's clock")
	}
	assert.Len(t, p.aged, 2, "a shared answer is aged once")

	// The next run, days later: a new subdomain is answered from the
	// cached answer, aged against the new clock, not the old one.
	later := now.Add(3 * 24 * time.Hour)
	e = intel.NewEngine([]intel.Spec{{Provider: p, Concurrency: 4}}, intel.Options{Cache: mem, Now: func() time.Time { return later }})
	res, err = e.Lookup(context.Background(), domains("login.evil.top"))
	require.NoError(t, err)
	assert.Len(t, p.Calls(), 2, "no new request")
	assert.Equal(t, intel.Stats{CacheHits: 1}, res.Stats["rdap"])
	r := res.For(0)["rdap"]
	assert.True(t, r.Cached)
	assert.Equal(t, 7, r.Attrs["age_days"], "a cached answer ages too")

	plan, err := e.Plan(context.Background(), domains("a.new.org", "b.new.org", "login.evil.top"))
	require.NoError(t, err)
	assert.Equal(t, 1, plan[0].Needed, "the dry run counts requests, not indicators")
	assert.Equal(t, 1, plan[0].CacheHits)
}

// An error answers every indicator of its group, and counts for each.
func TestCacheKeyErrorsCountPerIndicator(t *testing.T) {
	t.Parallel()
	p := &parentKeyed{Provider: &inteltest.Provider{ProviderName: "rdap", Answer: func(ioc.IOC, int) (model.Result, error) {
		return model.Result{}, &intel.HTTPError{Provider: "rdap", Status: 400}
	}}}
	res, err := intel.NewEngine([]intel.Spec{{Provider: p, Concurrency: 2}}, intel.Options{}).
		Lookup(context.Background(), domains("a.evil.top", "b.evil.top"))
	require.NoError(t, err)
	assert.Len(t, p.Calls(), 1)
	assert.Equal(t, intel.Stats{Lookups: 2, Requests: 1, Errors: 2}, res.Stats["rdap"])
	assert.Equal(t, model.StatusError, res.For(1)["rdap"].Status)
	assert.Empty(t, p.aged, "only found answers are aged")
}
