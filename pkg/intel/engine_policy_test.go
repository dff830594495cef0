package intel_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/intel/virustotal"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/ratelimit"
	"github.com/verdict-dev/verdict/pkg/safehttp"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// quota is a daily quota counter with Refund (cache.Quota as it gains one).
type quota struct {
	mu      sync.Mutex
	used    map[string]int
	refunds int
}

func newQuota() *quota { return &quota{used: map[string]int{}} }

func (q *quota) Take(_ context.Context, p string, limit int) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if limit > 0 && q.used[p] >= limit {
		return false, nil
	}
	q.used[p]++
	return true, nil
}

func (q *quota) Used(_ context.Context, p string) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.used[p], nil
}

func (q *quota) Refund(_ context.Context, p string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.refunds++
	if q.used[p] > 0 {
		q.used[p]--
	}
	return nil
}

// dialRefused is the error a provider returns when nothing listens at its
// base URL, shaped as net/http makes it.
func dialRefused(value string) error {
	return fmt.Errorf("virustotal: %w", &url.Error{Op: "Get", URL: "http://127.0.0.1:9/api/v3/ip_addresses/" + value,
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}})
}

// A 429 pauses every lookup of the provider, not only the one that got it:
// no request starts until the pause ends.
func TestA429PausesTheWholeProvider(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		rate       ratelimit.Rate
		retryAfter time.Duration
		pause      time.Duration
	}{
		{name: "Retry-After", rate: ratelimit.Rate{N: 30, Per: time.Second}, retryAfter: 5 * time.Second, pause: 5 * time.Second},
		{name: "no Retry-After: one window of 4/m", rate: ratelimit.Rate{N: 4, Per: time.Minute}, pause: time.Minute},
		{name: "no Retry-After and no rate: one second", pause: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				var limitedAt atomic.Pointer[time.Time]
				p := &inteltest.Provider{ProviderName: "virustotal", Delay: 100 * time.Millisecond}
				p.Answer = func(i ioc.IOC, attempt int) (model.Result, error) {
					if i.Value == "185.1.0.3" && attempt == 1 {
						now := time.Now()
						limitedAt.Store(&now)
						return model.Result{}, &intel.RateLimitError{Provider: "virustotal", RetryAfter: tt.retryAfter}
					}
					return model.Result{Malicious: model.Int(0)}, nil
				}
				res, err := engine(cache.Nop{}, nil, intel.Spec{Provider: p, Rate: tt.rate, Concurrency: 4}).Lookup(context.Background(), ips(9))
				require.NoError(t, err)
				for i := range 9 {
					assert.Equal(t, model.StatusFound, res.For(i)["virustotal"].Status)
				}
				at := *limitedAt.Load()
				end := at.Add(tt.pause)
				resumed := false
				for _, c := range p.Calls() {
					// A request that started before the 429 came back (at
					// the same instant, too) was already on its way; none
					// may start during the pause.
					assert.False(t, c.At.After(at) && c.At.Before(end),
						"%s requested %s after the 429, during the %s pause", c.IOC.Value, c.At.Sub(at), tt.pause)
					resumed = resumed || c.At.Equal(end)
				}
				assert.True(t, resumed, "requests resume when the pause ends")
			})
		})
	}
}

// The acceptance of issue 9 item 4, on the engine: connection refused three
// times in a row makes the provider unavailable; the other lookups are
// skipped at once and no quota is spent.
func TestUnavailableAfterThreeDialFailures(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := &inteltest.Provider{ProviderName: "virustotal", Answer: func(i ioc.IOC, _ int) (model.Result, error) {
			return model.Result{}, dialRefused(i.Value)
		}}
		q := newQuota()
		eng := intel.NewEngine([]intel.Spec{{Provider: p, Rate: ratelimit.Rate{N: 4, Per: time.Minute}, DailyQuota: 500, Concurrency: 4, MaxRetries: 3}},
			intel.Options{Cache: cache.NewMemory(nil), Quota: q, Logger: quietLog()})
		start := time.Now()
		res, err := eng.Lookup(context.Background(), ips(100))
		require.NoError(t, err)
		assert.Less(t, time.Since(start), 10*time.Second)
		assert.Len(t, p.Calls(), 3)
		for i := range 100 {
			assert.Equal(t, model.Result{Status: model.StatusSkipped, Reason: intel.ReasonProviderUnavailable}, *res.For(i)["virustotal"])
		}
		used, _ := q.Used(context.Background(), "virustotal")
		assert.Zero(t, used, "requests that never reached the server cost no quota")
		assert.Equal(t, 3, q.refunds)
		assert.Equal(t, 0, res.Stats["virustotal"].Requests, "none was sent")
		assert.Equal(t, 100, res.Stats["virustotal"].Skipped)
		require.Len(t, res.Notes, 1)
		assert.Contains(t, res.Notes[0], "virustotal: unavailable for this run (not reached 3 times in a row")
		assert.Contains(t, res.Notes[0], "connection refused")
		assert.Contains(t, res.Notes[0], "100 lookups skipped: provider_unavailable")

		// For the rest of the run: a second batch sends nothing.
		res, err = eng.Lookup(context.Background(), ips(3))
		require.NoError(t, err)
		assert.Len(t, p.Calls(), 3)
		assert.Equal(t, intel.ReasonProviderUnavailable, res.For(0)["virustotal"].Reason)
	})
}

// The same, end to end with the real VirusTotal client and a real closed
// port: 100 indicators, the default 4/m rate, and the run ends at once.
func TestClosedPortEndToEnd(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	const key = "vt-closed-port-key-0123456789abcdef"
	vt := virustotal.New(key, virustotal.WithBaseURL("http://"+addr+"/api/v3"),
		virustotal.WithHTTPClient(safehttp.New(safehttp.Options{Secrets: []string{key}, Timeout: 5 * time.Second})))
	q := newQuota()
	var logs strings.Builder
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(b []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(b)
	}), nil))
	eng := intel.NewEngine([]intel.Spec{{Provider: vt, Rate: ratelimit.Rate{N: 4, Per: time.Minute}, DailyQuota: 500, Concurrency: 4, MaxRetries: 3}},
		intel.Options{Cache: cache.NewMemory(nil), Quota: q, Logger: log})
	start := time.Now()
	res, err := eng.Lookup(context.Background(), ips(100))
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 10*time.Second, "the acceptance bound")
	for i := range 100 {
		assert.Equal(t, intel.ReasonProviderUnavailable, res.For(i)["virustotal"].Reason)
	}
	used, _ := q.Used(context.Background(), "virustotal")
	assert.Zero(t, used)
	require.NotEmpty(t, res.Notes)
	assert.Contains(t, res.Notes[0], "unavailable for this run")
	logMu.Lock()
	defer logMu.Unlock()
	assert.Contains(t, logs.String(), "source stopped for this run")
	assert.NotContains(t, logs.String()+strings.Join(res.Notes, ""), key)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func TestBodyTooLargeIsNotRetried(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := &inteltest.Provider{ProviderName: "virustotal", Answer: func(ioc.IOC, int) (model.Result, error) {
			// As httpapi.Get reports it: both a BodyTooLargeError and an
			// ErrBadResponse, which alone would be retried.
			return model.Result{}, fmt.Errorf("virustotal: read answer: %w: %w",
				&safehttp.BodyTooLargeError{Limit: 16 << 20, Host: "www.virustotal.com"}, intel.ErrBadResponse)
		}}
		res, err := engine(cache.Nop{}, nil, intel.Spec{Provider: p, MaxRetries: 3}).Lookup(context.Background(), ips(1))
		require.NoError(t, err)
		assert.Len(t, p.Calls(), 1, "the same body would come back")
		assert.Equal(t, model.StatusError, res.For(0)["virustotal"].Status)
		assert.Contains(t, res.For(0)["virustotal"].Error, "larger than the 16 MiB limit")
	})
}

func TestNoteWhenMostLookupsFail(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := &inteltest.Provider{ProviderName: "virustotal", Answer: func(i ioc.IOC, _ int) (model.Result, error) {
			if i.Value == "185.1.0.1" {
				return model.Result{Malicious: model.Int(0)}, nil
			}
			return model.Result{}, &intel.HTTPError{Provider: "virustotal", Status: 500, Retryable: true}
		}}
		res, err := engine(cache.Nop{}, nil, intel.Spec{Provider: p, MaxRetries: 1}).Lookup(context.Background(), ips(4))
		require.NoError(t, err)
		require.Len(t, res.Notes, 1)
		assert.Equal(t, "virustotal: 3 of 4 lookups failed (status error); their indicators were not checked by virustotal", res.Notes[0])

		// Half is not most.
		p2 := &inteltest.Provider{ProviderName: "abuseipdb", Answer: func(i ioc.IOC, _ int) (model.Result, error) {
			if i.Value == "185.1.0.1" {
				return model.Result{}, &intel.HTTPError{Provider: "abuseipdb", Status: 422}
			}
			return model.Result{}, nil
		}}
		res, err = engine(cache.Nop{}, nil, intel.Spec{Provider: p2}).Lookup(context.Background(), ips(2))
		require.NoError(t, err)
		assert.Empty(t, res.Notes)
	})
}

// claimStore plays the claims table of a store shared by several processes;
// each process sees it through its own handle (holder).
type claimStore struct {
	mu     sync.Mutex
	leases map[cache.Key]lease
}

type lease struct {
	holder  string
	expires time.Time
}

func newClaimStore() *claimStore { return &claimStore{leases: map[cache.Key]lease{}} }

// process is one verdict process's view of a shared store: the shared
// answers, and claims held under its own holder id. Put releases the claim,
// as the real stores' Put does.
type process struct {
	*cache.Memory
	claims *claimStore
	holder string
}

func (p *process) Claim(_ context.Context, k cache.Key, d time.Duration) (bool, error) {
	p.claims.mu.Lock()
	defer p.claims.mu.Unlock()
	if l, ok := p.claims.leases[k]; ok && time.Now().Before(l.expires) {
		return false, nil
	}
	p.claims.leases[k] = lease{holder: p.holder, expires: time.Now().Add(d)}
	return true, nil
}

func (p *process) Release(_ context.Context, k cache.Key) error {
	p.claims.mu.Lock()
	defer p.claims.mu.Unlock()
	if l, ok := p.claims.leases[k]; ok && l.holder == p.holder {
		delete(p.claims.leases, k)
	}
	return nil
}

func (p *process) Put(ctx context.Context, k cache.Key, e cache.Entry, ttl time.Duration) error {
	if err := p.Memory.Put(ctx, k, e, ttl); err != nil {
		return err
	}
	return p.Release(ctx, k)
}

func newProcess(shared *cache.Memory, claims *claimStore, holder string) *process {
	return &process{Memory: shared, claims: claims, holder: holder}
}

func processEngine(p *process, spec intel.Spec) *intel.Engine {
	return intel.NewEngine([]intel.Spec{spec}, intel.Options{Cache: p, Quota: p, Claims: p, Logger: quietLog(), ClaimPoll: 50 * time.Millisecond})
}

var vtKey = func(value string) cache.Key {
	return cache.Key{Provider: "virustotal", Type: string(ioc.IPv4), Value: value}
}

// Issue 12 item 4: two processes on overlapping inputs, one store: no
// indicator is asked twice.
func TestClaimsNoIndicatorAskedTwiceAcrossProcesses(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		shared, claims := cache.NewMemory(nil), newClaimStore()
		prov := &inteltest.Provider{ProviderName: "virustotal", Delay: 100 * time.Millisecond}
		all := ips(90)
		var wg sync.WaitGroup
		for n, part := range [][]ioc.IOC{all[:60], all[30:], all} { // the first and last start together
			proc := newProcess(shared, claims, fmt.Sprintf("host/%d", n))
			wg.Go(func() {
				res, err := processEngine(proc, intel.Spec{Provider: prov, Concurrency: 4}).Lookup(context.Background(), part)
				assert.NoError(t, err)
				for i := range part {
					assert.Contains(t, []model.Status{model.StatusFound}, res.For(i)["virustotal"].Status)
				}
			})
		}
		wg.Wait()
		for _, i := range all {
			assert.Equal(t, 1, prov.CallsFor(i), "%s asked more than once", i.Value)
		}
		assert.Len(t, prov.Calls(), 90)
	})
}

// A claim held by another process: wait for its answer instead of asking.
func TestClaimsWaitForTheOtherHoldersAnswer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		shared, claims := cache.NewMemory(nil), newClaimStore()
		other := newProcess(shared, claims, "other")
		ok, _ := other.Claim(context.Background(), vtKey("185.1.0.2"), 2*time.Minute)
		require.True(t, ok)
		go func() {
			time.Sleep(3 * time.Second)
			_ = other.Put(context.Background(), vtKey("185.1.0.2"), cache.Entry{Status: "found", Data: []byte(`{"status":"found","malicious":7}`)}, time.Hour)
		}()
		prov := &inteltest.Provider{ProviderName: "virustotal"}
		start := time.Now()
		res, err := processEngine(newProcess(shared, claims, "me"), intel.Spec{Provider: prov, Concurrency: 1}).Lookup(context.Background(), ips(3))
		require.NoError(t, err)
		assert.Equal(t, 0, prov.CallsFor(ioc.IOC{Type: ioc.IPv4, Value: "185.1.0.2"}), "not asked: the other process answered")
		got := res.For(1)["virustotal"]
		assert.True(t, got.Cached)
		assert.Equal(t, 7, *got.Malicious)
		assert.Equal(t, 1, res.Stats["virustotal"].CacheHits)
		assert.InDelta(t, (3 * time.Second).Seconds(), time.Since(start).Seconds(), 0.1, "waited for the answer, no longer")
		// The free indicators were not held up behind the claimed one.
		for _, c := range prov.Calls() {
			assert.Equal(t, start, c.At, "%s waited", c.IOC.Value)
		}
	})
}

// A crashed holder's lease lapses; the indicator is then asked once more.
func TestClaimsLeaseOfACrashedHolderExpires(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		shared, claims := cache.NewMemory(nil), newClaimStore()
		crashed := newProcess(shared, claims, "crashed")
		ok, _ := crashed.Claim(context.Background(), vtKey("185.1.0.1"), 30*time.Second)
		require.True(t, ok)
		prov := &inteltest.Provider{ProviderName: "virustotal"}
		start := time.Now()
		res, err := processEngine(newProcess(shared, claims, "me"), intel.Spec{Provider: prov}).Lookup(context.Background(), ips(1))
		require.NoError(t, err)
		calls := prov.Calls()
		require.Len(t, calls, 1)
		assert.GreaterOrEqual(t, calls[0].At.Sub(start), 30*time.Second, "asked only once the lease had lapsed")
		assert.Less(t, calls[0].At.Sub(start), 31*time.Second)
		assert.Equal(t, model.StatusFound, res.For(0)["virustotal"].Status)
		_, held := claims.leases[vtKey("185.1.0.1")]
		assert.False(t, held, "the answer's Put released the claim")
	})
}

// A lookup that fails releases its claim, so that another process may ask
// at once rather than after the lease.
func TestClaimsReleasedOnFailure(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		shared, claims := cache.NewMemory(nil), newClaimStore()
		prov := &inteltest.Provider{ProviderName: "virustotal", Answer: func(ioc.IOC, int) (model.Result, error) {
			return model.Result{}, &intel.HTTPError{Provider: "virustotal", Status: 400}
		}}
		res, err := processEngine(newProcess(shared, claims, "me"), intel.Spec{Provider: prov}).Lookup(context.Background(), ips(2))
		require.NoError(t, err)
		assert.Equal(t, model.StatusError, res.For(0)["virustotal"].Status)
		assert.Empty(t, claims.leases)
	})
}

// The cache is read again just before each request: an answer another
// process stored after this run began is used, not asked again.
func TestCacheReadAgainBeforeEachRequest(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		mem := cache.NewMemory(nil)
		prov := &inteltest.Provider{ProviderName: "virustotal", Delay: 5 * time.Second}
		go func() {
			// Another process, sharing the cache, answers the second
			// indicator while this one is busy with the first.
			time.Sleep(2 * time.Second)
			_ = mem.Put(context.Background(), vtKey("185.1.0.2"), cache.Entry{Status: "not_found", Data: []byte(`{"status":"not_found"}`)}, time.Hour)
		}()
		res, err := engine(mem, mem, intel.Spec{Provider: prov, Concurrency: 1}).Lookup(context.Background(), ips(2))
		require.NoError(t, err)
		assert.Len(t, prov.Calls(), 1)
		assert.Equal(t, model.StatusNotFound, res.For(1)["virustotal"].Status)
		assert.True(t, res.For(1)["virustotal"].Cached)
		assert.Equal(t, intel.Stats{Lookups: 1, Requests: 1, CacheHits: 1}, res.Stats["virustotal"])
	})
}

// A retry reads the cache first: an answer that arrived during a 429 pause
// is taken, and the turn and quota unit the retry held are given back.
func TestRetryTakesAnAnswerThatArrivedDuringThePause(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		mem := cache.NewMemory(nil)
		q := newQuota()
		prov := &inteltest.Provider{ProviderName: "virustotal", Answer: func(ioc.IOC, int) (model.Result, error) {
			go func() {
				time.Sleep(time.Second)
				_ = mem.Put(context.Background(), vtKey("185.1.0.1"), cache.Entry{Status: "found", Data: []byte(`{"status":"found","malicious":2}`)}, time.Hour)
			}()
			return model.Result{}, &intel.RateLimitError{Provider: "virustotal", RetryAfter: 10 * time.Second}
		}}
		eng := intel.NewEngine([]intel.Spec{{Provider: prov, DailyQuota: 10}}, intel.Options{Cache: mem, Quota: q, Logger: quietLog()})
		res, err := eng.Lookup(context.Background(), ips(1))
		require.NoError(t, err)
		assert.Len(t, prov.Calls(), 1)
		assert.Equal(t, 2, *res.For(0)["virustotal"].Malicious)
		used, _ := q.Used(context.Background(), "virustotal")
		assert.Equal(t, 1, used, "the 429 counted; the retry that was not sent did not")
	})
}

// A claim store that fails is no reason to skip a lookup.
func TestClaimStoreFailureStillAsks(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		prov := &inteltest.Provider{ProviderName: "virustotal"}
		eng := intel.NewEngine([]intel.Spec{{Provider: prov}}, intel.Options{Cache: cache.NewMemory(nil), Claims: failingClaims{}, Logger: quietLog()})
		res, err := eng.Lookup(context.Background(), ips(2))
		require.NoError(t, err)
		assert.Len(t, prov.Calls(), 2)
		assert.Equal(t, model.StatusFound, res.For(1)["virustotal"].Status)
	})
}

type failingClaims struct{}

func (failingClaims) Claim(context.Context, cache.Key, time.Duration) (bool, error) {
	return false, errors.New("database is locked")
}
func (failingClaims) Release(context.Context, cache.Key) error {
	return errors.New("database is locked")
}
