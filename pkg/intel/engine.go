package intel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/ratelimit"
	"github.com/verdict-dev/verdict/pkg/safehttp"
)

// ReasonProviderUnavailable is model.ReasonProviderUnavailable.
const ReasonProviderUnavailable = model.ReasonProviderUnavailable

// Claims are the in-flight leases of a cache shared by several processes
// (cache.Claims, which every cache.Store implements): before a lookup is
// sent its key is claimed, and a process that finds the key claimed by
// another waits for that answer instead of asking too.
type Claims interface {
	// Claim takes the lease on k; false while another live holder has it.
	Claim(ctx context.Context, k cache.Key, lease time.Duration) (bool, error)
	// Release drops the lease without an answer. Cache.Put releases too.
	Release(ctx context.Context, k cache.Key) error
}

// ClaimRenewer is Claims whose holder keeps its leases alive
// (cache.ClaimRenewer): while a Lookup runs, the engine renews its claims
// every third of a lease, so a lookup that waits long for its rate slot
// (a slow rate shared by several processes, a 429 pause) never loses its
// claim, while a process that dies loses its claims within one lease.
type ClaimRenewer interface {
	RenewClaims(ctx context.Context, lease time.Duration) (int, error)
}

// Spec says how the engine runs one provider.
type Spec struct {
	Provider    Provider
	Rate        ratelimit.Rate
	DailyQuota  int // requests per UTC day; 0 = none
	Concurrency int
	// TTL is the cache lifetime of a found answer per type; TTLNotFound that
	// of a not-found answer.
	TTL         func(ioc.Type) time.Duration
	TTLNotFound time.Duration
	MaxRetries  int
	// Disabled, when set, is the skip reason of every lookup the cache cannot
	// answer (ReasonOffline, ReasonNoAPIKey): no request is ever sent.
	Disabled string
	// KeyHint names the config key and variable to check when the provider
	// rejects the API key.
	KeyHint string
}

// Defaults for the Options of the claims.
const (
	// DefaultClaimLease is how long a holder that crashes blocks its keys.
	// A live holder renews its claims (ClaimRenewer) every third of it;
	// claims that cannot be renewed must cover a whole lookup, with its
	// wait for a rate slot, its retries and pauses.
	DefaultClaimLease = 30 * time.Second
	// DefaultClaimPoll is how often a lookup waiting for another process's
	// answer reads the cache again.
	DefaultClaimPoll = 50 * time.Millisecond
)

// Options configures the Engine.
type Options struct {
	Cache   cache.Cache // cache.Nop{} for --no-cache
	Quota   cache.Quota // nil: no daily quota counting
	Refresh bool        // ignore cached answers but store fresh ones
	Logger  *slog.Logger
	// Progress, if set, hears about every finished network lookup.
	Progress Progress
	// BackoffBase is the first retry delay, doubled per retry up to
	// BackoffMax, with jitter; defaults 1s and 30s.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// MaxPause is the longest 429 pause the engine waits out; a provider that
	// asks for longer is out of quota for this run. Default 10m.
	MaxPause time.Duration
	// Claims, when set, are the shared store's in-flight leases: no two
	// processes sharing the store ask about the same indicator at once.
	// They must belong to the store Cache writes to, whose Put releases the
	// claim (cache.Store does both); with --no-cache leave them nil. Nil:
	// this process is alone (or the store has none); the cache is still
	// read again just before every request.
	Claims Claims
	// ClaimLease and ClaimPoll tune the claims; defaults DefaultClaimLease
	// and DefaultClaimPoll.
	ClaimLease time.Duration
	ClaimPoll  time.Duration
	// Rates, when set, is the shared store's rate windows
	// (ratelimit.Shared, which cache.SQLite and cache.Postgres implement):
	// each provider's rate then holds across every process using the
	// store, as its daily quota does. Nil: each process keeps the rate on
	// its own (the memory store, --no-cache).
	Rates ratelimit.Shared
	// Now is the run's clock, handed to providers that implement Ager;
	// default time.Now.
	Now func() time.Time
}

// Progress receives lookup progress for the progress bar or log lines.
type Progress interface {
	Start(totals []ProgressTotal)
	Done(provider string)
	Finish()
}

// ProgressTotal is one provider's network work for this run.
type ProgressTotal struct {
	Provider string
	Total    int
	Interval time.Duration // the rate limit's spacing, for an honest ETA
}

// Stats counts one provider's work (CONTRACT.md summary.providers).
type Stats struct {
	Lookups   int `json:"lookups"`
	Requests  int `json:"requests"`
	CacheHits int `json:"cache_hits"`
	Errors    int `json:"errors"`
	Skipped   int `json:"skipped"`
}

// Results holds every provider's answer per indicator, by index into the
// slice given to Lookup.
type Results struct {
	Names []string
	by    [][]*model.Result // [provider][ioc]
	Stats map[string]Stats
	// Notes are run-level facts for the report (quota ran out, key rejected).
	Notes []string
}

// For returns the answers about the i-th indicator, keyed by provider. A
// provider that does not take the indicator's type is absent.
func (r *Results) For(i int) map[string]*model.Result {
	var m map[string]*model.Result
	for p := range r.by {
		if res := r.by[p][i]; res != nil {
			if m == nil {
				m = make(map[string]*model.Result, len(r.by))
			}
			m[r.Names[p]] = res
		}
	}
	return m
}

// Engine looks each unique indicator up once per provider, through the
// cache, each provider's rate limiter and daily quota, all providers at once.
// Every request goes through the provider's ratelimit.Policy, which lives as
// long as the Engine: its rate, pauses and "out for the run" states hold
// across every Lookup of the run.
type Engine struct {
	specs    []Spec
	policies []*ratelimit.Policy // nil for local and disabled providers
	opts     Options
	log      *slog.Logger
}

// NewEngine returns an engine for the given providers.
func NewEngine(specs []Spec, opts Options) *Engine {
	if opts.Cache == nil {
		opts.Cache = cache.Nop{}
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = time.Second
	}
	if opts.MaxPause <= 0 {
		opts.MaxPause = 10 * time.Minute
	}
	if opts.ClaimLease <= 0 {
		opts.ClaimLease = DefaultClaimLease
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ClaimPoll <= 0 {
		opts.ClaimPoll = DefaultClaimPoll
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	var quota ratelimit.Quota
	if opts.Quota != nil {
		quota = opts.Quota
	}
	e := &Engine{specs: specs, policies: make([]*ratelimit.Policy, len(specs)), opts: opts, log: log}
	for i := range specs {
		if specs[i].Concurrency < 1 {
			specs[i].Concurrency = 1
		}
		if specs[i].TTL == nil {
			specs[i].TTL = func(ioc.Type) time.Duration { return 24 * time.Hour }
		}
		if specs[i].TTLNotFound <= 0 {
			specs[i].TTLNotFound = 6 * time.Hour
		}
		if specs[i].Disabled != "" || isLocal(specs[i].Provider) {
			continue
		}
		e.policies[i] = ratelimit.New(ratelimit.Config{
			Name: specs[i].Provider.Name(), Rate: specs[i].Rate, DailyQuota: specs[i].DailyQuota, Quota: quota,
			MaxRetries: specs[i].MaxRetries, BackoffBase: opts.BackoffBase, BackoffMax: opts.BackoffMax,
			MaxPause: opts.MaxPause, Classify: Classify, Logger: log, Shared: opts.Rates,
		})
	}
	return e
}

// errAnsweredMeanwhile: the answer reached the cache while the request
// waited for its turn, so it was not sent.
var errAnsweredMeanwhile = errors.New("answered meanwhile")

// Classify is the call policy's reading of a provider's errors (the
// errors documented on Provider), falling back on the transport's.
func Classify(err error) ratelimit.Outcome {
	var rl *RateLimitError
	var he *HTTPError
	switch {
	case errors.Is(err, errAnsweredMeanwhile):
		return ratelimit.Outcome{Kind: ratelimit.NotSent}
	case errors.Is(err, ErrNotFound):
		return ratelimit.Outcome{Kind: ratelimit.Answered}
	case errors.As(err, &rl):
		return ratelimit.Outcome{Kind: ratelimit.RateLimited, RetryAfter: rl.RetryAfter}
	case errors.Is(err, ErrUnauthorized):
		return ratelimit.Outcome{Kind: ratelimit.Rejected}
	case errors.As(err, &he):
		if he.Retryable {
			return ratelimit.Outcome{Kind: ratelimit.Transient}
		}
		return ratelimit.Outcome{Kind: ratelimit.Answered}
	case errors.Is(err, safehttp.ErrBodyTooLarge):
		// Also an ErrBadResponse, but the same body would come back.
		return ratelimit.Outcome{Kind: ratelimit.Answered}
	case errors.Is(err, ErrBadResponse):
		return ratelimit.Outcome{Kind: ratelimit.Transient}
	}
	return ratelimit.ClassifyNetwork(err)
}

// Names lists the providers in order.
func (e *Engine) Names() []string {
	n := make([]string, len(e.specs))
	for i, s := range e.specs {
		n[i] = s.Provider.Name()
	}
	return n
}

// Supports reports whether any provider takes type t.
func (e *Engine) Supports(t ioc.Type) bool {
	for _, s := range e.specs {
		if s.Provider.Supports(t) {
			return true
		}
	}
	return false
}

func isLocal(p Provider) bool {
	l, ok := p.(Local)
	return ok && l.Local()
}

func cacheParams(p Provider) string {
	if cp, ok := p.(CacheParams); ok {
		return cp.CacheParams()
	}
	return ""
}

// key is what the cache, the claims and the in-run deduplication know an
// indicator's answer by: its value, or what the provider really asks about
// (CacheKeyer: RDAP asks about the registrable domain).
func (r *providerRun) key(i ioc.IOC) string {
	if ck, ok := r.spec.Provider.(CacheKeyer); ok {
		if k := ck.CacheKey(i); k != "" {
			return k
		}
	}
	return i.Value
}

// keyed reports whether indicators may share answers (CacheKeyer). Only
// then are pending lookups grouped: a million plain indicators cost no
// map and no slice per indicator.
func (r *providerRun) keyed() bool {
	_, ok := r.spec.Provider.(CacheKeyer)
	return ok
}

// requests is how many questions the pending lookups are: one per group.
func (r *providerRun) requests() int {
	if r.groups == nil {
		return len(r.pending)
	}
	return len(r.groups)
}

// units are the pending lookups as the requests that answer them, in
// order: groups of one (views into pending, no allocation) unless the
// provider is keyed.
func (r *providerRun) units() [][]int {
	if r.groups != nil {
		return r.groups
	}
	u := make([][]int, len(r.pending))
	for i := range r.pending {
		u[i] = r.pending[i : i+1 : i+1]
	}
	return u
}

// group splits the pending indexes by type and cache key, keeping the
// order of first appearance.
func (r *providerRun) group(iocs []ioc.IOC) {
	if !r.keyed() {
		r.groups = nil
		return
	}
	type gk struct {
		t ioc.Type
		k string
	}
	at := make(map[gk]int, len(r.pending))
	r.groups = make([][]int, 0, len(r.pending))
	for _, idx := range r.pending {
		k := gk{iocs[idx].Type, r.key(iocs[idx])}
		if g, ok := at[k]; ok {
			r.groups[g] = append(r.groups[g], idx)
			continue
		}
		at[k] = len(r.groups)
		r.groups = append(r.groups, []int{idx})
	}
}

// age lets an Ager fill the fields of its found answers that depend on the
// run's clock. Indicators that share a cache key share one answer, which
// is aged once.
func (r *providerRun) age(now time.Time) {
	a, ok := r.spec.Provider.(Ager)
	if !ok {
		return
	}
	seen := map[*model.Result]bool{}
	for _, res := range r.out {
		if res != nil && res.Status == model.StatusFound && !seen[res] {
			seen[res] = true
			a.Age(res, now)
		}
	}
}

// Lookup answers every indicator from every provider that takes its type.
// The indicators must be unique, normalised and global (the caller skips
// non-global and allowlisted ones). A cancelled context stops new requests;
// answers already received are kept (and cached), the rest are skipped with
// reason "canceled", and the context's error is returned with the results.
func (e *Engine) Lookup(ctx context.Context, iocs []ioc.IOC) (*Results, error) {
	res := &Results{Names: e.Names(), by: make([][]*model.Result, len(e.specs)), Stats: map[string]Stats{}}
	runs := make([]*providerRun, len(e.specs))
	var totals []ProgressTotal
	start := time.Now()
	for p, spec := range e.specs {
		run := &providerRun{engine: e, spec: spec, name: spec.Provider.Name(), params: cacheParams(spec.Provider),
			out: make([]*model.Result, len(iocs)), policy: e.policies[p], start: start}
		runs[p] = run
		res.by[p] = run.out
		if err := run.fromCache(ctx, iocs); err != nil {
			return nil, err
		}
		if len(run.pending) > 0 && run.spec.Disabled == "" && !isLocal(spec.Provider) {
			totals = append(totals, ProgressTotal{Provider: run.name, Total: run.requests(), Interval: spec.Rate.Interval()})
		}
	}
	if e.opts.Progress != nil && len(totals) > 0 {
		e.opts.Progress.Start(totals)
		defer e.opts.Progress.Finish()
	}
	stopRenewing := e.renewClaims(ctx)
	var wg sync.WaitGroup
	for _, run := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run.network(ctx, iocs)
		}()
	}
	wg.Wait()
	stopRenewing()
	now := e.opts.Now()
	for _, run := range runs {
		run.age(now)
		res.Stats[run.name] = run.stats.snapshot()
		res.Notes = append(res.Notes, run.notes()...)
	}
	return res, ctx.Err()
}

// renewClaims keeps this process's claims alive while lookups run, and
// returns what stops it. It renews on after ctx is cancelled: the lookups
// in flight then still finish and store their answers.
func (e *Engine) renewClaims(ctx context.Context) (stop func()) {
	rn, ok := e.opts.Claims.(ClaimRenewer)
	if !ok {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(e.opts.ClaimLease / 3)
		defer t.Stop()
		warned := false
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := rn.RenewClaims(ctx, e.opts.ClaimLease); err != nil && ctx.Err() == nil && !warned {
				warned = true
				e.log.Warn("cannot renew this process's claims: another process may ask about an indicator this one is asking about", "error", err.Error())
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// PlanLine is one provider's share of a --dry-run.
type PlanLine struct {
	Provider   string
	Supported  int // distinct indicators it takes
	CacheHits  int
	Needed     int // lookups after cache hits
	QuotaLimit int
	QuotaUsed  int
	Rate       ratelimit.Rate
	Duration   time.Duration // at the configured rate, within the quota left
	Disabled   string
	Local      bool
}

// Plan reports, per provider, the lookups a run would make after cache hits,
// the daily quota left, and the time they take at the configured rate. It
// sends nothing.
func (e *Engine) Plan(ctx context.Context, iocs []ioc.IOC) ([]PlanLine, error) {
	var lines []PlanLine
	for _, spec := range e.specs {
		run := &providerRun{engine: e, spec: spec, name: spec.Provider.Name(), params: cacheParams(spec.Provider), out: make([]*model.Result, len(iocs))}
		local := isLocal(spec.Provider)
		pl := PlanLine{Provider: run.name, Rate: spec.Rate, QuotaLimit: spec.DailyQuota, Disabled: spec.Disabled, Local: local}
		for _, i := range iocs {
			if spec.Provider.Supports(i.Type) {
				pl.Supported++
			}
		}
		if !local {
			if err := run.fromCache(ctx, iocs); err != nil {
				return nil, err
			}
			pl.CacheHits = int(run.stats.cacheHits.Load())
			pl.Needed = run.requests()
			if e.opts.Quota != nil {
				used, err := e.opts.Quota.Used(ctx, run.name)
				if err != nil {
					return nil, err
				}
				pl.QuotaUsed = used
			}
			n := pl.Needed
			if pl.QuotaLimit > 0 {
				n = min(n, max(pl.QuotaLimit-pl.QuotaUsed, 0))
			}
			if spec.Disabled == "" {
				pl.Duration = spec.Rate.Duration(n)
			}
		}
		lines = append(lines, pl)
	}
	return lines, nil
}

// providerRun is one provider's state during one Lookup.
type providerRun struct {
	engine  *Engine
	spec    Spec
	name    string
	params  string
	policy  *ratelimit.Policy
	out     []*model.Result
	pending []int
	// groups are the pending indexes by cache key, in order, for a keyed
	// provider (nil otherwise): one request answers each group.
	groups [][]int
	start  time.Time // of the Lookup: --refresh takes no answer older
	stats  counters

	mu          sync.Mutex
	deferred    [][]int // claimed by another process when first met
	rejected    *model.Result
	warnedCache bool
}

type counters struct {
	lookups, requests, errors, skipped, cacheHits atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{Lookups: int(c.lookups.Load()), Requests: int(c.requests.Load()), CacheHits: int(c.cacheHits.Load()),
		Errors: int(c.errors.Load()), Skipped: int(c.skipped.Load())}
}

var notFoundResult = &model.Result{Status: model.StatusNotFound}

// skippedResults are shared: a million indicators skipped offline need one
// Result, not a million. Results are never modified after Lookup.
var skippedResults sync.Map // reason -> *model.Result

func skipped(reason string) *model.Result {
	if r, ok := skippedResults.Load(reason); ok {
		return r.(*model.Result)
	}
	r, _ := skippedResults.LoadOrStore(reason, &model.Result{Status: model.StatusSkipped, Reason: reason})
	return r.(*model.Result)
}

// fromCache fills answers for local providers and cache hits, and queues the
// rest in pending.
func (r *providerRun) fromCache(ctx context.Context, iocs []ioc.IOC) error {
	p := r.spec.Provider
	local := isLocal(p)
	byType := map[ioc.Type][]int{}
	for idx, i := range iocs {
		if !p.Supports(i.Type) {
			continue
		}
		if local {
			r.stats.lookups.Add(1)
			res, err := p.Lookup(ctx, i)
			switch {
			case err == nil:
				r.out[idx] = &res
			case errors.Is(err, ErrNotFound):
				r.out[idx] = notFoundResult
			default:
				r.out[idx] = &model.Result{Status: model.StatusError, Error: err.Error()}
				r.stats.errors.Add(1)
			}
			continue
		}
		byType[i.Type] = append(byType[i.Type], idx)
	}
	if local {
		return nil
	}
	types := make([]ioc.Type, 0, len(byType))
	for t := range byType {
		types = append(types, t)
	}
	sort.Slice(types, func(a, b int) bool { return types[a] < types[b] })
	c := r.engine.opts.Cache
	for _, t := range types {
		idxs := byType[t]
		if r.engine.opts.Refresh {
			r.pending = append(r.pending, idxs...)
			continue
		}
		values := make([]string, 0, len(idxs))
		var seen map[string]bool // keyed providers' indicators share keys
		if r.keyed() {
			seen = make(map[string]bool, len(idxs))
		}
		for _, idx := range idxs {
			k := r.key(iocs[idx])
			if seen != nil {
				if seen[k] {
					continue
				}
				seen[k] = true
			}
			values = append(values, k)
		}
		hits, err := c.GetMany(ctx, r.name, r.params, string(t), values)
		if err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		for _, idx := range idxs {
			if e, ok := hits[r.key(iocs[idx])]; ok {
				if res := r.cached(e); res != nil {
					r.out[idx] = res
					r.stats.cacheHits.Add(1)
					c.Count(r.name, string(t), true)
					continue
				}
			}
			c.Count(r.name, string(t), false)
			r.pending = append(r.pending, idx)
		}
	}
	r.group(iocs)
	return nil
}

// cached turns a cache entry into a result; nil if it is unusable, or older
// than this run under --refresh.
func (r *providerRun) cached(e cache.Entry) *model.Result {
	// Another process may have answered since the run began. (SQLite keeps
	// whole seconds, so an answer from the run's first second is asked
	// again: the safe side.)
	if r.engine.opts.Refresh && e.FetchedAt.Before(r.start) {
		return nil
	}
	var res model.Result
	if err := json.Unmarshal(e.Data, &res); err != nil || (res.Status != model.StatusFound && res.Status != model.StatusNotFound) {
		return nil
	}
	res.Cached = true
	return &res
}

// network runs the pending lookups through the provider's call policy. A
// lookup whose indicator another process is asking about right now is put
// off to the end, so that its answer is usually in the cache by then.
func (r *providerRun) network(ctx context.Context, iocs []ioc.IOC) {
	if len(r.pending) == 0 {
		return
	}
	if r.spec.Disabled != "" {
		for _, idx := range r.pending {
			r.out[idx] = skipped(r.spec.Disabled)
		}
		r.stats.skipped.Add(int64(len(r.pending)))
		return
	}
	r.runAll(ctx, iocs, r.units(), false)
	r.mu.Lock()
	later := r.deferred
	r.deferred = nil
	r.mu.Unlock()
	if len(later) > 0 {
		r.runAll(ctx, iocs, later, true)
	}
}

// runAll settles units of pending lookups; a unit is the indicators one
// request answers (one, or several sharing a cache key).
func (r *providerRun) runAll(ctx context.Context, iocs []ioc.IOC, units [][]int, wait bool) {
	g := errgroup.Group{}
	g.SetLimit(r.spec.Concurrency)
	for _, unit := range units {
		switch {
		case ctx.Err() != nil:
			r.finish(unit, skipped(model.ReasonCanceled))
			continue
		case r.policy.Err() != nil:
			// Out for the run: skipped at once, no goroutine, no wait.
			r.finish(unit, r.stopResult(r.policy.Err()))
			continue
		}
		g.Go(func() error {
			res, asked := r.lookupOne(ctx, iocs[unit[0]], wait)
			if res == nil { // another process holds the claim
				r.mu.Lock()
				r.deferred = append(r.deferred, unit)
				r.mu.Unlock()
				return nil
			}
			if asked {
				// One request answered every indicator of the unit; each
				// of them was looked up.
				r.stats.lookups.Add(int64(len(unit) - 1))
			}
			r.finish(unit, res)
			return nil
		})
	}
	_ = g.Wait()
}

// finish records the final answer of the indicators one request answers.
func (r *providerRun) finish(unit []int, res *model.Result) {
	for _, idx := range unit {
		r.out[idx] = res
	}
	switch res.Status {
	case model.StatusError:
		r.stats.errors.Add(int64(len(unit)))
	case model.StatusSkipped:
		r.stats.skipped.Add(int64(len(unit)))
	}
	if pr := r.engine.opts.Progress; pr != nil {
		pr.Done(r.name)
	}
}

// lookupOne settles one indicator (and those sharing its cache key): the
// cache is read again and the key claimed just before the request (another
// process may have answered meanwhile), then the request goes through the
// call policy. It returns nil when !wait and another process holds the
// claim; asked reports whether the question reached the provider.
func (r *providerRun) lookupOne(ctx context.Context, i ioc.IOC, wait bool) (_ *model.Result, asked bool) {
	k := cache.Key{Provider: r.name, Params: r.params, Type: string(i.Type), Value: r.key(i)}
	hit, claimed, held := r.acquire(ctx, k, wait)
	switch {
	case hit != nil:
		r.stats.cacheHits.Add(1)
		r.engine.log.Debug("lookup answered meanwhile, by another process", "provider", r.name, "ioc_type", string(i.Type), "cache", "hit")
		return hit, false
	case held:
		return nil, false
	case ctx.Err() != nil:
		return skipped(model.ReasonCanceled), false
	}
	if err := r.policy.Err(); err != nil {
		r.release(ctx, k, claimed)
		return r.stopResult(err), false
	}
	var res model.Result
	var meanwhile *model.Result
	start := time.Now()
	att, err := r.policy.Do(ctx, func(ctx context.Context) error {
		// A retry reads the cache again first: another process may have
		// answered during the pause or backoff (a lease can lapse in a
		// long one). The first attempt was read just before its turn was
		// asked for; reading again here would put a database query, of
		// varying length, between the rate limiter's admission and the
		// send, and the server would see the requests less evenly spaced.
		if asked {
			if meanwhile = r.read(ctx, k); meanwhile != nil {
				return errAnsweredMeanwhile
			}
		}
		if !asked {
			asked = true
			r.stats.lookups.Add(1)
		}
		var err error
		res, err = r.spec.Provider.Lookup(ctx, i)
		return err
	})
	r.stats.requests.Add(int64(att.Sent))
	if log := r.engine.log; log.Enabled(ctx, slog.LevelDebug) {
		log.Debug("lookup", "provider", r.name, "ioc_type", string(i.Type), "duration", time.Since(start),
			"requests", att.Sent, "unreachable", att.Unreachable, "cache", cacheWord(meanwhile != nil), "error", errString(err))
	}
	switch {
	case meanwhile != nil:
		r.release(ctx, k, claimed)
		r.stats.cacheHits.Add(1)
		return meanwhile, asked
	case err == nil:
		res.Status = model.StatusFound
		r.store(ctx, k, &res, r.spec.TTL(i.Type), claimed)
		return &res, asked
	case errors.Is(err, ErrNotFound):
		nf := model.Result{Status: model.StatusNotFound}
		r.store(ctx, k, &nf, r.spec.TTLNotFound, claimed)
		return &nf, asked
	}
	r.release(ctx, k, claimed)
	var stop *ratelimit.StopError
	switch {
	case errors.As(err, &stop):
		return r.stopResult(stop), asked
	case ctx.Err() != nil:
		return skipped(model.ReasonCanceled), asked
	}
	r.engine.log.Warn("lookup failed", "provider", r.name, "ioc_type", string(i.Type), "error", err.Error(), "requests", att.Sent)
	return &model.Result{Status: model.StatusError, Error: err.Error()}, asked
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func cacheWord(hit bool) string {
	if hit {
		return "hit"
	}
	return "miss"
}

// acquire reads the cache for k and, with claims, takes k's claim. It
// returns the answer if one is there now; else claimed (this process holds
// the lease), or held (another one does; only when !wait). With wait it
// polls until the other holder's answer arrives or its lease ends.
//
// A failing cache or claim store never stops a lookup: the request is then
// sent as if the process were alone.
func (r *providerRun) acquire(ctx context.Context, k cache.Key, wait bool) (hit *model.Result, claimed, held bool) {
	c, cl := r.engine.opts.Cache, r.engine.opts.Claims
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if res := r.read(ctx, k); res != nil {
			return res, false, false
		}
		if cl == nil {
			return nil, false, false
		}
		ok, err := cl.Claim(ctx, k, r.engine.opts.ClaimLease)
		if err != nil {
			r.warnCache("cannot claim a lookup; asking without a claim", err)
			return nil, false, false
		}
		if ok {
			// The holder may have stored its answer and released between
			// the read and the claim: read once more.
			if e, found, err := c.Get(ctx, k); err == nil && found {
				if res := r.cached(e); res != nil {
					r.release(ctx, k, true)
					return res, false, false
				}
			}
			return nil, true, false
		}
		if !wait {
			return nil, false, true
		}
		// ±25% jitter, so that the waiters of several processes do not
		// poll in step.
		poll := r.engine.opts.ClaimPoll
		d := poll*3/4 + rand.N(poll/2+1)
		if timer == nil {
			timer = time.NewTimer(d)
		} else {
			timer.Reset(d)
		}
		select {
		case <-ctx.Done():
			return nil, false, false
		case <-r.policy.Stopped():
			return nil, false, false
		case <-timer.C:
		}
	}
}

// read is a cache read just before a request.
func (r *providerRun) read(ctx context.Context, k cache.Key) *model.Result {
	e, ok, err := r.engine.opts.Cache.Get(ctx, k)
	if err != nil {
		if ctx.Err() == nil {
			r.warnCache("cannot read the cache before a request", err)
		}
		return nil
	}
	if !ok {
		return nil
	}
	return r.cached(e)
}

func (r *providerRun) release(ctx context.Context, k cache.Key, claimed bool) {
	if !claimed {
		return
	}
	// Let another process ask at once, even if this run is being cancelled.
	if err := r.engine.opts.Claims.Release(context.WithoutCancel(ctx), k); err != nil {
		r.warnCache("cannot release a claim (it lapses with its lease)", err)
	}
}

func (r *providerRun) warnCache(msg string, err error) {
	r.mu.Lock()
	warned := r.warnedCache
	r.warnedCache = true
	r.mu.Unlock()
	if !warned {
		r.engine.log.Warn(msg, "provider", r.name, "error", err.Error())
	}
}

// stopResult is the answer for every lookup after the provider stopped.
func (r *providerRun) stopResult(err error) *model.Result {
	switch {
	case errors.Is(err, ratelimit.ErrUnavailable):
		return skipped(ReasonProviderUnavailable)
	case errors.Is(err, ratelimit.ErrRejected):
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.rejected == nil {
			var stop *ratelimit.StopError
			cause := err
			if errors.As(err, &stop) && stop.Cause != nil {
				cause = stop.Cause
			}
			r.rejected = &model.Result{Status: model.StatusError, Error: fmt.Sprintf("%s rejected the API key (%v); check %s", r.name, cause, r.spec.KeyHint)}
		}
		return r.rejected
	}
	return skipped(model.ReasonQuotaExhausted)
}

// store caches an answer; Put releases the claim. The answer cost quota:
// store it even if the run is being cancelled.
func (r *providerRun) store(ctx context.Context, k cache.Key, res *model.Result, ttl time.Duration, claimed bool) {
	data, err := json.Marshal(res)
	if err == nil {
		err = r.engine.opts.Cache.Put(context.WithoutCancel(ctx), k, cache.Entry{Status: string(res.Status), Data: data}, ttl)
	}
	if err != nil {
		r.engine.log.Warn("cannot write cache", "provider", r.name, "error", err.Error())
		r.release(ctx, k, claimed)
	}
}

// lookups counts lookups in words: "1 lookup", "3 lookups".
func lookups(n int64) string {
	if n == 1 {
		return "1 lookup"
	}
	return fmt.Sprintf("%d lookups", n)
}

// notes describes, for the report, why a provider stopped early or mostly
// failed.
func (r *providerRun) notes() []string {
	var n []string
	k := r.stats.skipped.Load()
	if r.spec.Disabled != "" && k > 0 {
		switch r.spec.Disabled {
		case model.ReasonOffline:
			n = append(n, fmt.Sprintf("%s: offline, %s not made (answers came from the cache only)", r.name, lookups(k)))
		case model.ReasonNoAPIKey:
			n = append(n, fmt.Sprintf("%s: no API key, %s not made (set %s)", r.name, lookups(k), r.spec.KeyHint))
		default:
			n = append(n, fmt.Sprintf("%s: %s skipped: %s", r.name, lookups(k), r.spec.Disabled))
		}
	}
	if r.policy == nil || len(r.pending) == 0 {
		return n
	}
	var stop *ratelimit.StopError
	rejected := false
	if errors.As(r.policy.Err(), &stop) {
		switch {
		case errors.Is(stop, ratelimit.ErrRejected):
			rejected = true
			r.mu.Lock()
			if r.rejected != nil {
				n = append(n, r.rejected.Error)
			}
			r.mu.Unlock()
		case errors.Is(stop, ratelimit.ErrUnavailable):
			n = append(n, fmt.Sprintf("%s: unavailable for this run (%s); %s skipped: %s", r.name, stop.Detail, lookups(k), ReasonProviderUnavailable))
		default:
			n = append(n, fmt.Sprintf("%s: out of quota for this run (%s); remaining lookups are skipped: quota_exhausted", r.name, stop.Detail))
		}
	}
	// Errors on most lookups: the alerts' indicators were mostly not checked
	// by this provider, which a reader of the verdicts must know. A rejected
	// key has its own note.
	failed, total := r.stats.errors.Load(), int64(len(r.pending))
	if failed > 0 && 2*failed > total && !rejected {
		n = append(n, fmt.Sprintf("%s: %d of %d lookups failed (status error); their indicators were not checked by %s", r.name, failed, total, r.name))
		r.engine.log.Warn("provider failed for most lookups", "provider", r.name, "failed", failed, "lookups", total)
	}
	return n
}
