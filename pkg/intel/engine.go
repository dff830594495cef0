package intel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/ratelimit"
)

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

// Options configures the Engine.
type Options struct {
	Cache   cache.Cache // cache.Nop{} for --no-cache
	Quota   cache.Quota // nil: no daily quota counting
	Refresh bool        // ignore cached answers but store fresh ones
	Logger  *slog.Logger
	// Progress, if set, hears about every finished network lookup.
	Progress Progress
	// BackoffBase is the first retry delay (doubled per retry, plus jitter up
	// to the same amount); default 1s.
	BackoffBase time.Duration
	// MaxPause is the longest 429 pause the engine waits out; a provider that
	// asks for longer is out of quota for this run. Default 10m.
	MaxPause time.Duration
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
type Engine struct {
	specs []Spec
	opts  Options
	log   *slog.Logger
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
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
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
	}
	return &Engine{specs: specs, opts: opts, log: log}
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

// key is what the cache and the in-run deduplication know an indicator's
// answer by: its value, or what the provider really asks about (CacheKeyer).
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

// eachGroup calls fn with the pending indexes one request answers, in
// order: a group of one (a view into pending, no allocation) unless the
// provider is keyed.
func (r *providerRun) eachGroup(fn func(grp []int)) {
	if r.groups == nil {
		for i := range r.pending {
			fn(r.pending[i : i+1 : i+1])
		}
		return
	}
	for _, g := range r.groups {
		fn(g)
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
	for p, spec := range e.specs {
		run := &providerRun{engine: e, spec: spec, name: spec.Provider.Name(), params: cacheParams(spec.Provider),
			out: make([]*model.Result, len(iocs)), limiter: spec.Rate.Limiter()}
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
	var wg sync.WaitGroup
	for _, run := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run.network(ctx, iocs)
		}()
	}
	wg.Wait()
	now := e.opts.Now()
	for _, run := range runs {
		run.age(now)
		res.Stats[run.name] = run.stats.snapshot()
		res.Notes = append(res.Notes, run.notes()...)
	}
	return res, ctx.Err()
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
			pl.CacheHits = run.stats.cacheHits
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
	out     []*model.Result
	pending []int
	// groups are the pending indexes by cache key, in order, for a keyed
	// provider (nil otherwise): one request answers each group.
	groups  [][]int
	limiter *rate.Limiter
	stats   counters

	mu          sync.Mutex
	pausedUntil time.Time
	pauseGen    int // bumped by each new 429 pause
	consec429   int
	exhausted   string // why the provider is out for this run
	fatal       error  // e.g. the key was rejected: every remaining lookup fails
	warnedQuota bool
}

type counters struct {
	lookups, requests, errors, skipped atomic.Int64
	cacheHits                          int
}

func (c *counters) snapshot() Stats {
	return Stats{Lookups: int(c.lookups.Load()), Requests: int(c.requests.Load()), CacheHits: c.cacheHits,
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
			e, ok := hits[r.key(iocs[idx])]
			if ok {
				var res model.Result
				if err := json.Unmarshal(e.Data, &res); err == nil && (res.Status == model.StatusFound || res.Status == model.StatusNotFound) {
					res.Cached = true
					r.out[idx] = &res
					r.stats.cacheHits++
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

// network runs the pending lookups through the limiter and quota.
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
	g := errgroup.Group{}
	g.SetLimit(r.spec.Concurrency)
	r.eachGroup(func(grp []int) {
		if ctx.Err() != nil {
			for _, idx := range grp {
				r.out[idx] = skipped(model.ReasonCanceled)
			}
			r.stats.skipped.Add(int64(len(grp)))
			return
		}
		g.Go(func() error {
			// One request answers every indicator of the group (they share a
			// cache key); each of them was looked up.
			res, asked := r.lookupOne(ctx, iocs[grp[0]])
			if asked {
				r.stats.lookups.Add(int64(len(grp) - 1))
			}
			for _, idx := range grp {
				r.out[idx] = res
			}
			switch res.Status {
			case model.StatusError:
				r.stats.errors.Add(int64(len(grp)))
			case model.StatusSkipped:
				r.stats.skipped.Add(int64(len(grp)))
			}
			if pr := r.engine.opts.Progress; pr != nil {
				pr.Done(r.name)
			}
			return nil
		})
	})
	_ = g.Wait()
}

// lookupOne asks the provider about one indicator, honouring pauses, the
// limiter and the quota, retrying transient failures. The bool reports
// whether the question reached the provider, whatever the answer.
func (r *providerRun) lookupOne(ctx context.Context, i ioc.IOC) (*model.Result, bool) {
	log := r.engine.log.With("provider", r.name, "ioc_type", string(i.Type))
	retries := 0
	asked := false
	for {
		if res := r.stopped(); res != nil {
			return res, asked
		}
		gen, err := r.waitPause(ctx)
		if err == nil {
			err = r.limiter.Wait(ctx)
		}
		if err != nil {
			return skipped(model.ReasonCanceled), asked
		}
		if res := r.stopped(); res != nil {
			return res, asked
		}
		if q := r.engine.opts.Quota; q != nil && r.spec.DailyQuota > 0 {
			ok, err := q.Take(ctx, r.name, r.spec.DailyQuota)
			if err != nil {
				if ctx.Err() != nil {
					return skipped(model.ReasonCanceled), asked
				}
				r.warnQuotaStore(err)
			} else if !ok {
				r.exhaust(fmt.Sprintf("daily quota of %d requests is spent for today (UTC)", r.spec.DailyQuota))
				return skipped(model.ReasonQuotaExhausted), asked
			}
		}
		if !asked {
			asked = true
			r.stats.lookups.Add(1)
		}
		r.stats.requests.Add(1)
		start := time.Now()
		res, err := r.spec.Provider.Lookup(ctx, i)
		log.Debug("lookup", "duration", time.Since(start), "error", errString(err))
		var rl *RateLimitError
		switch {
		case err == nil:
			r.ok()
			res.Status = model.StatusFound
			r.store(ctx, i, &res, r.spec.TTL(i.Type))
			return &res, asked
		case errors.Is(err, ErrNotFound):
			r.ok()
			nf := model.Result{Status: model.StatusNotFound}
			r.store(ctx, i, &nf, r.spec.TTLNotFound)
			return &nf, asked
		case errors.As(err, &rl):
			if res := r.on429(gen, rl, log); res != nil {
				return res, asked
			}
			continue // a 429 is waited out, not counted as a retry
		case errors.Is(err, ErrUnauthorized):
			r.setFatal(fmt.Errorf("%s rejected the API key (%v); check %s", r.name, err, r.spec.KeyHint))
			return r.stopped(), asked
		case ctx.Err() != nil:
			return skipped(model.ReasonCanceled), asked
		case retryable(err) && retries < r.spec.MaxRetries:
			retries++
			d := ratelimit.Backoff(r.engine.opts.BackoffBase, retries)
			log.Debug("retrying", "attempt", retries, "wait", d, "error", err.Error())
			if ratelimit.Sleep(ctx, d) != nil {
				return skipped(model.ReasonCanceled), asked
			}
			continue
		default:
			log.Warn("lookup failed", "error", err.Error(), "retries", retries)
			return &model.Result{Status: model.StatusError, Error: err.Error()}, asked
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// stopped returns the final result when the provider is out for this run.
func (r *providerRun) stopped() *model.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fatal != nil {
		return &model.Result{Status: model.StatusError, Error: r.fatal.Error()}
	}
	if r.exhausted != "" {
		return skipped(model.ReasonQuotaExhausted)
	}
	return nil
}

func (r *providerRun) setFatal(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fatal == nil {
		r.fatal = err
		r.engine.log.Warn("provider disabled for this run", "provider", r.name, "error", err.Error())
	}
}

func (r *providerRun) exhaust(why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.exhausted == "" {
		r.exhausted = why
		r.engine.log.Warn("provider out of quota for this run", "provider", r.name, "reason", why)
	}
}

func (r *providerRun) warnQuotaStore(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.warnedQuota {
		r.warnedQuota = true
		r.engine.log.Warn("cannot count the daily quota; continuing without it", "provider", r.name, "error", err.Error())
	}
}

func (r *providerRun) ok() {
	r.mu.Lock()
	r.consec429 = 0
	r.mu.Unlock()
}

// waitPause sleeps out a 429 pause and returns the pause generation the
// request is sent under.
func (r *providerRun) waitPause(ctx context.Context) (int, error) {
	for {
		r.mu.Lock()
		until, gen := r.pausedUntil, r.pauseGen
		r.mu.Unlock()
		d := time.Until(until)
		if d <= 0 {
			return gen, nil
		}
		if err := ratelimit.Sleep(ctx, d); err != nil {
			return gen, err
		}
	}
}

// on429 pauses the provider. Requests that were already in flight when the
// pause began do not count towards "three 429s in a row despite waiting".
func (r *providerRun) on429(gen int, rl *RateLimitError, log *slog.Logger) *model.Result {
	wait := rl.RetryAfter
	if wait <= 0 {
		wait = r.spec.Rate.Window()
	}
	r.mu.Lock()
	if gen == r.pauseGen {
		r.pauseGen++
		r.consec429++
		r.pausedUntil = time.Now().Add(wait)
	}
	n := r.consec429
	r.mu.Unlock()
	switch {
	case wait > r.engine.opts.MaxPause:
		r.exhaust(fmt.Sprintf("it asked to wait %s (429)", wait.Round(time.Second)))
		return r.stopped()
	case n >= 3:
		r.exhaust("three 429 answers in a row despite waiting")
		return r.stopped()
	}
	log.Info("rate limited, pausing", "wait", wait, "in_a_row", n)
	return nil
}

func (r *providerRun) store(ctx context.Context, i ioc.IOC, res *model.Result, ttl time.Duration) {
	data, err := json.Marshal(res)
	if err != nil {
		return
	}
	k := cache.Key{Provider: r.name, Params: r.params, Type: string(i.Type), Value: r.key(i)}
	// The answer cost quota: store it even if the run is being cancelled.
	if err := r.engine.opts.Cache.Put(context.WithoutCancel(ctx), k, cache.Entry{Status: string(res.Status), Data: data}, ttl); err != nil {
		r.engine.log.Warn("cannot write cache", "provider", r.name, "error", err.Error())
	}
}

// notes describes, for the report, why a provider stopped early.
func (r *providerRun) notes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n []string
	if k := r.stats.skipped.Load(); r.spec.Disabled != "" && k > 0 {
		switch r.spec.Disabled {
		case model.ReasonOffline:
			n = append(n, fmt.Sprintf("%s: offline, %d lookups not made (answers came from the cache only)", r.name, k))
		case model.ReasonNoAPIKey:
			n = append(n, fmt.Sprintf("%s: no API key, %d lookups not made (set %s)", r.name, k, r.spec.KeyHint))
		default:
			n = append(n, fmt.Sprintf("%s: %d lookups skipped: %s", r.name, k, r.spec.Disabled))
		}
	}
	if r.fatal != nil {
		n = append(n, r.fatal.Error())
	}
	if r.exhausted != "" {
		n = append(n, fmt.Sprintf("%s: out of quota for this run (%s); remaining lookups are skipped: quota_exhausted", r.name, r.exhausted))
	}
	return n
}

// retryable reports whether a failed request may succeed if sent again:
// 5xx, timeouts, connection resets and answers that were not the
// provider's format.
func retryable(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Retryable
	}
	if errors.Is(err, ErrBadResponse) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
