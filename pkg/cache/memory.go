package cache

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Memory is an in-process Store, for tests and for runs that still need
// quota counting and claims when no database can be used. Its claims are
// exclusive between the goroutines of one process only.
type Memory struct {
	mu       sync.Mutex
	now      func() time.Time
	entries  map[Key]Entry
	counters map[[2]string][2]int64
	quota    map[[2]string]int
	claims   map[Key]time.Time // key -> lease expiry
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory cache using now as its clock (nil
// means time.Now).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, entries: map[Key]Entry{}, counters: map[[2]string][2]int64{}, quota: map[[2]string]int{}, claims: map[Key]time.Time{}}
}

// Describe implements Store.
func (m *Memory) Describe() string { return "memory" }

// Claim implements Claims.
func (m *Memory) Claim(_ context.Context, k Key, lease time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if exp, ok := m.claims[k]; ok && exp.After(now) {
		return false, nil
	}
	m.claims[k] = now.Add(lease)
	return true, nil
}

// Release implements Claims.
func (m *Memory) Release(_ context.Context, k Key) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.claims, k)
	return nil
}

// Refund implements Quota.
func (m *Memory) Refund(_ context.Context, provider string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{provider, Day(m.now())}
	if m.quota[k] > 0 {
		m.quota[k]--
	}
	return nil
}

// Get implements Cache.
func (m *Memory) Get(_ context.Context, k Key) (Entry, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[k]
	if !ok || !e.ExpiresAt.After(m.now()) {
		return Entry{}, false, nil
	}
	return e, true, nil
}

// GetMany implements Cache.
func (m *Memory) GetMany(ctx context.Context, provider, params, typ string, values []string) (map[string]Entry, error) {
	out := map[string]Entry{}
	for _, v := range values {
		if e, ok, _ := m.Get(ctx, Key{provider, params, typ, v}); ok {
			out[v] = e
		}
	}
	return out, nil
}

// Put implements Cache.
func (m *Memory) Put(_ context.Context, k Key, e Entry, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if e.FetchedAt.IsZero() {
		e.FetchedAt = now
	}
	e.ExpiresAt = now.Add(ttl)
	e.Data = append([]byte(nil), e.Data...)
	m.entries[k] = e
	delete(m.claims, k)
	return nil
}

// Count implements Cache.
func (m *Memory) Count(provider, typ string, hit bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	countHit(m.counters, provider, typ, hit)
}

// Prune implements Cache.
func (m *Memory) Prune(_ context.Context, olderThan time.Duration) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	var n int64
	for k, e := range m.entries {
		if !e.ExpiresAt.After(now) || (olderThan > 0 && e.FetchedAt.Before(now.Add(-olderThan))) {
			delete(m.entries, k)
			n++
		}
	}
	for k, exp := range m.claims {
		if !exp.After(now) {
			delete(m.claims, k)
		}
	}
	for k := range m.quota {
		if k[1] < Day(now.Add(-48*time.Hour)) {
			delete(m.quota, k)
		}
	}
	return n, nil
}

// Stats implements Cache.
func (m *Memory) Stats(context.Context) (Stats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	groups := map[[2]string]*GroupStats{}
	get := func(p, t string) *GroupStats {
		g := groups[[2]string{p, t}]
		if g == nil {
			g = &GroupStats{Provider: p, Type: t}
			groups[[2]string{p, t}] = g
		}
		return g
	}
	st := Stats{Path: "memory", Backend: "memory"}
	for k, e := range m.entries {
		g := get(k.Provider, k.Type)
		g.Entries++
		g.Bytes += int64(len(e.Data))
		if e.Status == "not_found" {
			g.NotFound++
		}
		if !e.ExpiresAt.After(now) {
			g.Expired++
			st.Expired++
		}
		st.Entries++
		st.SizeBytes += int64(len(e.Data))
	}
	for k, c := range m.counters {
		g := get(k[0], k[1])
		g.Hits, g.Misses = c[0], c[1]
	}
	for k, n := range m.quota {
		if k[1] == Day(now) {
			st.QuotaUsed = append(st.QuotaUsed, QuotaStats{Provider: k[0], Day: k[1], Used: int64(n)})
		}
	}
	for _, g := range groups {
		st.Groups = append(st.Groups, *g)
	}
	sort.Slice(st.Groups, func(i, j int) bool {
		return st.Groups[i].Provider+"/"+st.Groups[i].Type < st.Groups[j].Provider+"/"+st.Groups[j].Type
	})
	sort.Slice(st.QuotaUsed, func(i, j int) bool { return st.QuotaUsed[i].Provider < st.QuotaUsed[j].Provider })
	return st, nil
}

// Clear implements Cache.
func (m *Memory) Clear(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries = map[Key]Entry{}
	m.counters = map[[2]string][2]int64{}
	return nil
}

// Close implements Cache.
func (m *Memory) Close() error { return nil }

// Take implements Quota.
func (m *Memory) Take(_ context.Context, provider string, limit int) (bool, error) {
	if limit <= 0 {
		return true, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{provider, Day(m.now())}
	if m.quota[k] >= limit {
		return false, nil
	}
	m.quota[k]++
	return true, nil
}

// Used implements Quota.
func (m *Memory) Used(_ context.Context, provider string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.quota[[2]string{provider, Day(m.now())}], nil
}

// Nop is the --no-cache Cache: it neither reads nor writes anything. Its
// claims always succeed, since it shares nothing with anyone.
type Nop struct{}

var _ ClaimingCache = Nop{}

// Claim implements Claims: always granted.
func (Nop) Claim(context.Context, Key, time.Duration) (bool, error) { return true, nil }

// Release implements Claims.
func (Nop) Release(context.Context, Key) error { return nil }

// Get implements Cache: always a miss.
func (Nop) Get(context.Context, Key) (Entry, bool, error) { return Entry{}, false, nil }

// GetMany implements Cache: always misses.
func (Nop) GetMany(context.Context, string, string, string, []string) (map[string]Entry, error) {
	return map[string]Entry{}, nil
}

// Put implements Cache: stores nothing.
func (Nop) Put(context.Context, Key, Entry, time.Duration) error { return nil }

// Count implements Cache.
func (Nop) Count(string, string, bool) {}

// Prune implements Cache.
func (Nop) Prune(context.Context, time.Duration) (int64, error) { return 0, nil }

// Stats implements Cache.
func (Nop) Stats(context.Context) (Stats, error) { return Stats{}, nil }

// Clear implements Cache.
func (Nop) Clear(context.Context) error { return nil }

// Close implements Cache.
func (Nop) Close() error { return nil }
