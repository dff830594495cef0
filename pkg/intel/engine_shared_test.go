package intel_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/ratelimit"
)

// RenewClaims keeps the process's own leases alive, as the real stores'
// RenewClaims does.
func (p *process) RenewClaims(_ context.Context, d time.Duration) (int, error) {
	p.claims.mu.Lock()
	defer p.claims.mu.Unlock()
	n := 0
	for k, l := range p.claims.leases {
		if l.holder == p.holder {
			l.expires = time.Now().Add(d)
			p.claims.leases[k] = l
			n++
		}
	}
	return n, nil
}

// claimsOnly hides RenewClaims: a claims store that cannot renew.
type claimsOnly struct{ p *process }

func (c claimsOnly) Claim(ctx context.Context, k cache.Key, d time.Duration) (bool, error) {
	return c.p.Claim(ctx, k, d)
}
func (c claimsOnly) Release(ctx context.Context, k cache.Key) error { return c.p.Release(ctx, k) }

// rateStore is the rate_slots table of a shared store (cache.Rates), in
// memory; a channel is its lock, as synctest wants.
type rateStore struct {
	lock  chan struct{}
	state map[string][]byte
}

func newRateStore() *rateStore {
	return &rateStore{lock: make(chan struct{}, 1), state: map[string][]byte{}}
}

func (r *rateStore) UpdateRate(ctx context.Context, key string, fn func([]byte, time.Time) []byte) error {
	select {
	case r.lock <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.lock }()
	if out := fn(r.state[key], time.Now()); out != nil {
		r.state[key] = bytes.Clone(out)
	}
	return nil
}

var _ ratelimit.Shared = (*rateStore)(nil)

// Several processes on one slow shared rate (VirusTotal's public 4/m):
// together they keep to it, and every indicator is asked once, although
// a claimed lookup waits minutes for its slot, far past its 30 s lease:
// the engine renews the claims it holds. Without renewal the leases lapse
// while their lookups wait, and others ask the same indicators.
func TestSharedRateAndClaimsAcrossProcesses(t *testing.T) {
	t.Parallel()
	for _, renew := range []bool{true, false} {
		t.Run(fmt.Sprintf("renew=%v", renew), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				shared, claims, rates := cache.NewMemory(nil), newClaimStore(), newRateStore()
				prov := &inteltest.Provider{ProviderName: "virustotal", Delay: 300 * time.Millisecond}
				rate := ratelimit.Rate{N: 4, Per: time.Minute}
				all := ips(16)
				start := time.Now()
				var wg sync.WaitGroup
				for n := range 3 {
					proc := newProcess(shared, claims, fmt.Sprintf("host%d/1", n))
					var cl intel.Claims = proc
					if !renew {
						cl = claimsOnly{proc}
					}
					mine := append([]ioc.IOC(nil), all...)
					rand.New(rand.NewPCG(uint64(n), 7)).Shuffle(len(mine), func(a, b int) { mine[a], mine[b] = mine[b], mine[a] })
					eng := intel.NewEngine([]intel.Spec{{Provider: prov, Rate: rate, Concurrency: 4}},
						intel.Options{Cache: proc, Quota: proc, Claims: cl, Rates: rates, Logger: quietLog(), ClaimLease: 30 * time.Second})
					wg.Go(func() {
						_, err := eng.Lookup(context.Background(), mine)
						assert.NoError(t, err)
					})
				}
				wg.Wait()
				calls := prov.Calls()
				asked := map[string]int{}
				var at []time.Time
				for _, c := range calls {
					asked[c.IOC.Value]++
					at = append(at, c.At)
				}
				sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
				for i := rate.N; i < len(at); i++ {
					require.GreaterOrEqual(t, at[i].Sub(at[i-rate.N]), time.Minute, "more than 4 requests in a minute across processes")
				}
				twice := 0
				for _, n := range asked {
					twice += n - 1
				}
				if renew {
					assert.Len(t, asked, len(all))
					assert.Zero(t, twice, "asked twice: %v", asked)
					// Paced as one process would be: at one limiter's
					// interval (window plus 1%) while a process is alone in
					// the shared window, at the shared one (plus 3%,
					// ratelimit's sharedMargin) while others' requests are
					// in it.
					span := at[len(at)-1].Sub(start)
					alone := time.Duration(len(all)-1) * ratelimit.NewLimiter(rate).Interval()
					shared := time.Duration(len(all)-1) * ((rate.Per + rate.Per*3/100) / time.Duration(rate.N))
					assert.GreaterOrEqual(t, span, alone-time.Second, "paced as one process would be")
					assert.LessOrEqual(t, span, shared+time.Second, "paced as one process would be")
				} else {
					assert.Positive(t, twice, "without renewal, leases lapse while their lookups wait for a slot")
				}
			})
		})
	}
}
