package cache

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// counterFn is a read-modify-write through UpdateRate: the state is a
// counter, and fn adds one. Lost updates would show as a short total.
func counterFn(saw *uint64) func([]byte, time.Time) []byte {
	return func(state []byte, _ time.Time) []byte {
		var n uint64
		if len(state) == 8 {
			n = binary.LittleEndian.Uint64(state)
		}
		*saw = n
		return binary.LittleEndian.AppendUint64(nil, n+1)
	}
}

func TestStoreUpdateRate(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, f *fixture) {
		r, ok := f.s.(Rates)
		if !ok {
			require.Equal(t, "memory", f.kind, "the shared stores keep rate windows")
			return
		}
		var got []byte
		var at time.Time
		require.NoError(t, r.UpdateRate(ctx, "virustotal", func(state []byte, now time.Time) []byte {
			got, at = state, now
			return []byte("one")
		}))
		assert.Empty(t, got, "no state before the first update")
		assert.Equal(t, f.clk.now(), at, "fn gets the store's clock")

		other := f.open(t).(Rates)
		f.clk.add(time.Second)
		require.NoError(t, other.UpdateRate(ctx, "virustotal", func(state []byte, now time.Time) []byte {
			got, at = state, now
			return nil // keep it
		}))
		assert.Equal(t, "one", string(got), "another handle sees the state")
		assert.Equal(t, f.clk.now(), at)
		require.NoError(t, r.UpdateRate(ctx, "virustotal", func(state []byte, _ time.Time) []byte { got = state; return nil }))
		assert.Equal(t, "one", string(got), "nil kept the state")
		require.NoError(t, r.UpdateRate(ctx, "abuseipdb", func(state []byte, _ time.Time) []byte { got = state; return nil }))
		assert.Empty(t, got, "one state per key")

		// Prune drops windows nobody used for two days, and only those.
		f.clk.add(47 * time.Hour)
		require.NoError(t, r.UpdateRate(ctx, "abuseipdb", func([]byte, time.Time) []byte { return []byte("recent") }))
		f.clk.add(2 * time.Hour)
		_, err := f.s.Prune(ctx, 0)
		require.NoError(t, err)
		require.NoError(t, r.UpdateRate(ctx, "virustotal", func(state []byte, _ time.Time) []byte { got = state; return nil }))
		assert.Empty(t, got, "an old window is pruned")
		require.NoError(t, r.UpdateRate(ctx, "abuseipdb", func(state []byte, _ time.Time) []byte { got = state; return nil }))
		assert.Equal(t, "recent", string(got))
	})
}

// UpdateRate is atomic across handles: many goroutines on several handles
// each add one to a shared counter, and none of their updates is lost.
func TestStoreUpdateRateAtomic(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, f *fixture) {
		if f.kind == "memory" {
			return
		}
		handles := []Rates{f.s.(Rates), f.open(t).(Rates), f.open(t).(Rates)}
		const each = 25
		var wg sync.WaitGroup
		for g := 0; g < 6; g++ {
			wg.Go(func() {
				for i := 0; i < each; i++ {
					var saw uint64
					assert.NoError(t, handles[g%len(handles)].UpdateRate(ctx, "p", counterFn(&saw)))
				}
			})
		}
		wg.Wait()
		var total uint64
		require.NoError(t, handles[0].UpdateRate(ctx, "p", counterFn(&total)))
		assert.Equal(t, uint64(6*each), total)
	})
}

func TestStoreRenewClaims(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, f *fixture) {
		a := f.s
		b := a
		if f.persistent() {
			b = f.open(t)
		}
		mine := Key{Provider: "virustotal", Type: "ipv4", Value: "203.0.113.1"}
		theirs := Key{Provider: "virustotal", Type: "ipv4", Value: "203.0.113.2"}
		ok, err := a.Claim(ctx, mine, time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
		if f.persistent() {
			ok, err = b.Claim(ctx, theirs, time.Minute)
			require.NoError(t, err)
			require.True(t, ok)
		}
		f.clk.add(50 * time.Second)
		n, err := a.(ClaimRenewer).RenewClaims(ctx, time.Minute)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "the handle's one claim")
		f.clk.add(50 * time.Second) // 100 s after the claims, 50 s after the renewal
		ok, err = b.Claim(ctx, mine, time.Minute)
		require.NoError(t, err)
		assert.False(t, ok, "a renewed lease is live")
		if f.persistent() {
			ok, err = a.Claim(ctx, theirs, time.Minute)
			require.NoError(t, err)
			assert.True(t, ok, "renewal extends only the handle's own leases")
		}
		f.clk.add(11 * time.Second)
		ok, err = b.Claim(ctx, mine, time.Minute)
		require.NoError(t, err)
		assert.True(t, ok, "and lapses a lease after the renewal")
	})
}
