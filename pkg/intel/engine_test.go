package intel_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/ratelimit"
)

func ips(n int) []ioc.IOC {
	out := make([]ioc.IOC, n)
	for i := range out {
		out[i] = ioc.IOC{Type: ioc.IPv4, Value: fmt.Sprintf("185.1.%d.%d", i/250, i%250+1)}
	}
	return out
}

func engine(c cache.Cache, q cache.Quota, specs ...intel.Spec) *intel.Engine {
	return intel.NewEngine(specs, intel.Options{Cache: c, Quota: q, BackoffBase: time.Millisecond})
}

func TestLookupOncePerProviderAndCached(t *testing.T) {
	t.Parallel()
	vt := &inteltest.Provider{ProviderName: "virustotal"}
	ab := &inteltest.Provider{ProviderName: "abuseipdb", Types: []ioc.Type{ioc.IPv4, ioc.IPv6}}
	mem := cache.NewMemory(nil)
	iocs := append(ips(20), ioc.IOC{Type: ioc.Domain, Value: "evil.com"})
	specs := []intel.Spec{{Provider: vt, Concurrency: 4}, {Provider: ab, Concurrency: 4}}

	res, err := engine(mem, mem, specs...).Lookup(context.Background(), iocs)
	require.NoError(t, err)
	assert.Len(t, vt.Calls(), 21)
	assert.Len(t, ab.Calls(), 20, "abuseipdb never sees a domain")
	for _, i := range iocs {
		assert.Equal(t, 1, vt.CallsFor(i))
	}
	assert.Equal(t, intel.Stats{Lookups: 21, Requests: 21}, res.Stats["virustotal"])
	assert.Nil(t, res.For(20)["abuseipdb"], "a provider that does not take a type is absent")
	assert.Equal(t, model.StatusFound, res.For(20)["virustotal"].Status)

	// The rerun makes zero requests: everything comes from the cache.
	res, err = engine(mem, mem, specs...).Lookup(context.Background(), iocs)
	require.NoError(t, err)
	assert.Len(t, vt.Calls(), 21)
	assert.Len(t, ab.Calls(), 20)
	assert.Equal(t, intel.Stats{CacheHits: 21}, res.Stats["virustotal"])
	assert.True(t, res.For(0)["virustotal"].Cached)

	// --refresh asks again and stores the fresh answers.
	eng := intel.NewEngine(specs, intel.Options{Cache: mem, Quota: mem, Refresh: true})
	_, err = eng.Lookup(context.Background(), iocs[:3])
	require.NoError(t, err)
	assert.Len(t, vt.Calls(), 24)
}

func TestNotFoundIsCachedErrorsAreNot(t *testing.T) {
	t.Parallel()
	p := &inteltest.Provider{ProviderName: "virustotal", Answer: func(i ioc.IOC, attempt int) (model.Result, error) {
		switch i.Value {
		case "185.1.0.1":
			return model.Result{}, intel.ErrNotFound
		case "185.1.0.2":
			return model.Result{}, &intel.HTTPError{Provider: "virustotal", Status: 400, Code: "InvalidArgumentError"}
		}
		return model.Result{Malicious: model.Int(3)}, nil
	}}
	mem := cache.NewMemory(nil)
	spec := intel.Spec{Provider: p, TTLNotFound: time.Hour}
	res, err := engine(mem, mem, spec).Lookup(context.Background(), ips(3))
	require.NoError(t, err)
	assert.Equal(t, model.StatusNotFound, res.For(0)["virustotal"].Status)
	assert.Equal(t, model.StatusError, res.For(1)["virustotal"].Status)
	assert.Contains(t, res.For(1)["virustotal"].Error, "InvalidArgumentError")
	assert.Equal(t, model.StatusFound, res.For(2)["virustotal"].Status)
	assert.Equal(t, 1, res.Stats["virustotal"].Errors)

	_, err = engine(mem, mem, spec).Lookup(context.Background(), ips(3))
	require.NoError(t, err)
	assert.Equal(t, 2, p.CallsFor(ioc.IOC{Type: ioc.IPv4, Value: "185.1.0.2"}), "errors are never cached")
	assert.Equal(t, 1, p.CallsFor(ioc.IOC{Type: ioc.IPv4, Value: "185.1.0.1"}), "not_found is cached")
}

func TestRateNeverExceeded(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := &inteltest.Provider{ProviderName: "virustotal", Delay: 5 * time.Millisecond}
		rate := ratelimit.Rate{N: 20, Per: time.Second}
		start := time.Now()
		_, err := engine(cache.Nop{}, nil, intel.Spec{Provider: p, Rate: rate, Concurrency: 8}).Lookup(context.Background(), ips(70))
		require.NoError(t, err)
		calls := p.Calls()
		require.Len(t, calls, 70)
		for i := range calls {
			n := 0
			for j := i; j < len(calls) && calls[j].At.Sub(calls[i].At) < time.Second; j++ {
				n++
			}
			require.LessOrEqual(t, n, 20, "more than 20 requests in the second after request %d", i)
		}
		iv := ratelimit.NewLimiter(rate).Interval()
		assert.Equal(t, 69*iv+5*time.Millisecond, time.Since(start), "evenly paced at 20/s (plus the 1%% margin), nothing lost")
	})
}

func TestRetriesTransientErrors(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testRetriesTransientErrors)
}

func testRetriesTransientErrors(t *testing.T) {
	p := &inteltest.Provider{ProviderName: "virustotal", Answer: func(i ioc.IOC, attempt int) (model.Result, error) {
		if i.Value == "185.1.0.1" && attempt <= 2 {
			return model.Result{}, &intel.HTTPError{Provider: "virustotal", Status: 503, Retryable: true}
		}
		if i.Value == "185.1.0.2" {
			return model.Result{}, fmt.Errorf("decode: %w", intel.ErrBadResponse)
		}
		return model.Result{Malicious: model.Int(0)}, nil
	}}
	res, err := engine(cache.Nop{}, nil, intel.Spec{Provider: p, MaxRetries: 3}).Lookup(context.Background(), ips(2))
	require.NoError(t, err)
	assert.Equal(t, model.StatusFound, res.For(0)["virustotal"].Status, "succeeds on the third try")
	assert.Equal(t, 3, p.CallsFor(ioc.IOC{Type: ioc.IPv4, Value: "185.1.0.1"}))
	assert.Equal(t, model.StatusError, res.For(1)["virustotal"].Status)
	assert.Equal(t, 4, p.CallsFor(ioc.IOC{Type: ioc.IPv4, Value: "185.1.0.2"}), "one try plus three retries")
	assert.Equal(t, intel.Stats{Lookups: 2, Requests: 7, Errors: 1}, res.Stats["virustotal"])
}

func TestRateLimitedWaitsThenRetries(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		p := &inteltest.Provider{ProviderName: "virustotal", Answer: func(i ioc.IOC, attempt int) (model.Result, error) {
			if n.Add(1) == 1 {
				return model.Result{}, &intel.RateLimitError{Provider: "virustotal", RetryAfter: 3 * time.Second}
			}
			return model.Result{Malicious: model.Int(0)}, nil
		}}
		start := time.Now()
		res, err := engine(cache.Nop{}, nil, intel.Spec{Provider: p, MaxRetries: 0}).Lookup(context.Background(), ips(1))
		require.NoError(t, err)
		assert.Equal(t, model.StatusFound, res.For(0)["virustotal"].Status, "a 429 is waited out, not an error, even with no retries")
		assert.Equal(t, 3*time.Second, time.Since(start), "Retry-After is honoured")
		assert.Equal(t, intel.Stats{Lookups: 1, Requests: 2}, res.Stats["virustotal"], "the 429 was a request sent")
	})
}

func TestThree429sInARowExhaustTheProvider(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := &inteltest.Provider{ProviderName: "virustotal", Answer: func(ioc.IOC, int) (model.Result, error) {
			return model.Result{}, &intel.RateLimitError{Provider: "virustotal", RetryAfter: 10 * time.Second}
		}}
		start := time.Now()
		res, err := engine(cache.Nop{}, nil, intel.Spec{Provider: p}).Lookup(context.Background(), ips(5))
		require.NoError(t, err)
		assert.Len(t, p.Calls(), 3, "stops after three 429s in a row")
		assert.Equal(t, 20*time.Second, time.Since(start), "two pauses waited out, then no more")
		for i := 0; i < 5; i++ {
			r := res.For(i)["virustotal"]
			assert.Equal(t, model.StatusSkipped, r.Status)
			assert.Equal(t, model.ReasonQuotaExhausted, r.Reason)
		}
		require.Len(t, res.Notes, 1)
		assert.Contains(t, res.Notes[0], "three 429")
	})
}

func TestLongRetryAfterMeansOutOfQuota(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := &inteltest.Provider{ProviderName: "abuseipdb", Answer: func(ioc.IOC, int) (model.Result, error) {
			return model.Result{}, &intel.RateLimitError{Provider: "abuseipdb", RetryAfter: 8 * time.Hour}
		}}
		start := time.Now()
		res, err := intel.NewEngine([]intel.Spec{{Provider: p}}, intel.Options{}).Lookup(context.Background(), ips(3))
		require.NoError(t, err)
		assert.Equal(t, start, time.Now(), "nothing waited")
		assert.Len(t, p.Calls(), 1)
		assert.Equal(t, model.ReasonQuotaExhausted, res.For(2)["abuseipdb"].Reason)
		assert.Contains(t, res.Notes[0], "a 429 asked to wait 8h0m0s")
	})
}

func TestUnauthorizedStopsThatProviderOnly(t *testing.T) {
	t.Parallel()
	bad := &inteltest.Provider{ProviderName: "virustotal", Answer: func(ioc.IOC, int) (model.Result, error) {
		return model.Result{}, fmt.Errorf("WrongCredentialsError: %w", intel.ErrUnauthorized)
	}}
	good := &inteltest.Provider{ProviderName: "abuseipdb"}
	res, err := engine(cache.Nop{}, nil,
		intel.Spec{Provider: bad, KeyHint: "virustotal.api_key (VERDICT_VIRUSTOTAL_API_KEY)"},
		intel.Spec{Provider: good}).Lookup(context.Background(), ips(10))
	require.NoError(t, err)
	assert.LessOrEqual(t, len(bad.Calls()), 1, "no point asking again with a rejected key")
	assert.Len(t, good.Calls(), 10, "one provider's failure never stops another")
	r := res.For(5)["virustotal"]
	assert.Equal(t, model.StatusError, r.Status)
	assert.Contains(t, r.Error, "virustotal.api_key (VERDICT_VIRUSTOTAL_API_KEY)")
	assert.Equal(t, 10, res.Stats["virustotal"].Errors)
}

func TestDailyQuota(t *testing.T) {
	t.Parallel()
	p := &inteltest.Provider{ProviderName: "virustotal"}
	mem := cache.NewMemory(nil)
	spec := intel.Spec{Provider: p, DailyQuota: 7}
	res, err := engine(cache.Nop{}, mem, spec).Lookup(context.Background(), ips(5))
	require.NoError(t, err)
	assert.Equal(t, 5, res.Stats["virustotal"].Requests)
	// A second run shares the day's count: two more requests, then skipped.
	more := ips(10)[5:]
	res, err = engine(cache.Nop{}, mem, spec).Lookup(context.Background(), more)
	require.NoError(t, err)
	assert.Len(t, p.Calls(), 7)
	skipped := 0
	for i := range more {
		if r := res.For(i)["virustotal"]; r.Status == model.StatusSkipped {
			assert.Equal(t, model.ReasonQuotaExhausted, r.Reason)
			skipped++
		}
	}
	assert.Equal(t, 3, skipped)
	assert.Equal(t, 3, res.Stats["virustotal"].Skipped)
	require.NotEmpty(t, res.Notes)
	assert.Contains(t, res.Notes[0], "daily quota of 7")
}

func TestDisabledProviderAnswersFromCacheOnly(t *testing.T) {
	t.Parallel()
	p := &inteltest.Provider{ProviderName: "virustotal"}
	mem := cache.NewMemory(nil)
	_, err := engine(mem, mem, intel.Spec{Provider: p}).Lookup(context.Background(), ips(2))
	require.NoError(t, err)
	res, err := engine(mem, mem, intel.Spec{Provider: p, Disabled: model.ReasonOffline}).Lookup(context.Background(), ips(4))
	require.NoError(t, err)
	assert.Len(t, p.Calls(), 2, "offline sends nothing")
	assert.Equal(t, model.StatusFound, res.For(1)["virustotal"].Status, "cached answers still count offline")
	assert.Equal(t, model.Result{Status: model.StatusSkipped, Reason: model.ReasonOffline}, *res.For(3)["virustotal"])
}

func TestCancelKeepsWhatWasAnswered(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := &inteltest.Provider{ProviderName: "virustotal"}
		mem := cache.NewMemory(nil)
		ctx, cancel := context.WithCancel(context.Background())
		var n atomic.Int32
		p.Answer = func(ioc.IOC, int) (model.Result, error) {
			if n.Add(1) == 3 {
				cancel()
			}
			return model.Result{Malicious: model.Int(1)}, nil
		}
		res, err := engine(mem, mem, intel.Spec{Provider: p, Rate: ratelimit.Rate{N: 100, Per: time.Second}}).Lookup(ctx, ips(10))
		require.ErrorIs(t, err, context.Canceled)
		require.NotNil(t, res)
		answered := len(p.Calls())
		assert.Equal(t, 3, answered)
		assert.Equal(t, model.ReasonCanceled, res.For(9)["virustotal"].Reason)
		// The rerun only asks about what was not answered.
		_, err = engine(mem, mem, intel.Spec{Provider: p}).Lookup(context.Background(), ips(10))
		require.NoError(t, err)
		assert.Len(t, p.Calls(), 10, "nothing cached is requested again")
	})
}

func TestPlan(t *testing.T) {
	t.Parallel()
	p := &inteltest.Provider{ProviderName: "virustotal"}
	mem := cache.NewMemory(nil)
	spec := intel.Spec{Provider: p, Rate: ratelimit.Rate{N: 4, Per: time.Minute}, DailyQuota: 10}
	fast := spec
	fast.Rate = ratelimit.Rate{}
	_, err := engine(mem, mem, fast).Lookup(context.Background(), ips(3))
	require.NoError(t, err)
	plan, err := engine(mem, mem, spec).Plan(context.Background(), ips(20))
	require.NoError(t, err)
	require.Len(t, plan, 1)
	assert.Equal(t, 20, plan[0].Supported)
	assert.Equal(t, 3, plan[0].CacheHits)
	assert.Equal(t, 17, plan[0].Needed)
	assert.Equal(t, 3, plan[0].QuotaUsed)
	// 7 requests left in the quota at one per 15 s (plus 1%): 6 gaps.
	assert.InDelta(t, (6 * 15 * time.Second).Seconds(), plan[0].Duration.Seconds(), 2)
	assert.Len(t, p.Calls(), 3, "a plan sends nothing")
}
