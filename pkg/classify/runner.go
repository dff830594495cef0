package classify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/ratelimit"
)

// Options configures a Runner.
type Options struct {
	Classifier  Classifier // nil: every alert gets the heuristic, with Why
	Why         string
	Cache       cache.Cache
	Rate        ratelimit.Rate
	Concurrency int
	MaxCostUSD  float64 // 0: no cap
	MaxRetries  int
	BackoffBase time.Duration
	Logger      *slog.Logger
	KeyHint     string // config key to check when the key is rejected
	BudgetKey   string // config key of MaxCostUSD, for messages ("" is gemini.max_cost_usd)
	// Batch sends the run's requests as batch jobs when the Classifier is a
	// BatchClassifier (half price, answers within hours); otherwise it is
	// ignored and requests go one by one.
	Batch bool
	// Rates, when set, keeps the model's rate where every process using
	// the same cache store sees it (ratelimit.Shared): the rate belongs to
	// the API key. Nil: this process keeps it on its own.
	Rates ratelimit.Shared
}

// Runner classifies a batch: it groups alerts by fingerprint and evidence,
// asks the model (or the cache) once per group within rate, budget and
// retry limits, and hands each alert its classification. It knows nothing
// of any particular model: that is the Classifier's business.
//
// It keeps a small record per group (its key, where its first alert is,
// the count and the answer), never the alerts: Run and Estimate take each
// group's case from a replay of the run's alerts (Cases), so memory grows
// with distinct alerts by a hundred-odd bytes each, not by whole alerts.
type Runner struct {
	opts   Options
	log    *slog.Logger
	policy *ratelimit.Policy // the model's: rate, 429 pauses, retries

	mu      sync.Mutex
	groups  map[string]*group
	order   []*group
	stats   model.ClassificationStats
	spent   float64
	stopped string // why the model is out for this run
	notes   []string

	checkOnce sync.Once
	checkErr  error
}

// group is the record kept per group.
type group struct {
	key    string
	pos    string // the first alert's Case.Pos: that alert carries the group's tokens
	result *model.Classification
	alerts int
}

// Cases replays the alerts of a run as Cases, in the order they were
// added (a batch's spool, a report read again), calling yield for each and
// stopping at its first error, which it returns.
type Cases func(yield func(Case) error) error

// CasesOf replays cases held in memory.
func CasesOf(cases ...Case) Cases {
	return func(yield func(Case) error) error {
		for _, c := range cases {
			if err := yield(c); err != nil {
				return err
			}
		}
		return nil
	}
}

// firsts finds, among the replayed alerts, the first alert of each group in
// todo: by position first (cheap), then by key (Pos is not unique when a
// file is given twice).
type firsts map[string][]*group

func newFirsts(todo []*group) firsts {
	f := firsts{}
	for _, g := range todo {
		f[g.pos] = append(f[g.pos], g)
	}
	return f
}

// take returns c's group if c is the first alert of a group still to find.
func (f firsts) take(c Case) *group {
	gs := f[c.Pos]
	if len(gs) == 0 {
		return nil
	}
	k := Key(c)
	for i, g := range gs {
		if g.key == k {
			f[c.Pos] = append(gs[:i:i], gs[i+1:]...)
			return g
		}
	}
	return nil
}

// each replays cases and calls fn with every group-first case of todo, in
// order.
func each(ctx context.Context, cases Cases, todo []*group, fn func(*group, Case) error) error {
	if cases == nil {
		return errors.New("classify: no cases to replay")
	}
	f := newFirsts(todo)
	left := len(todo)
	errDone := errors.New("done")
	err := cases(func(c Case) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if gr := f.take(c); gr != nil {
			left--
			if err := fn(gr, c); err != nil {
				return err
			}
			if left == 0 {
				return errDone // the rest of the replay has no first alert
			}
		}
		return nil
	})
	if errors.Is(err, errDone) {
		return nil
	}
	return err
}

// NewRunner returns an empty runner.
func NewRunner(o Options) *Runner {
	if o.Concurrency < 1 {
		o.Concurrency = 1
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = time.Second
	}
	if o.Cache == nil {
		o.Cache = cache.Nop{}
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	r := &Runner{opts: o, log: log, groups: map[string]*group{}}
	if o.Classifier != nil {
		r.stats.Model = o.Classifier.Model()
	}
	r.policy = ratelimit.New(ratelimit.Config{Name: r.name(), Rate: o.Rate, MaxRetries: o.MaxRetries,
		BackoffBase: o.BackoffBase, Classify: classifyError, Logger: log, Shared: o.Rates})
	return r
}

// Classifier returns the model classifier, nil when every alert gets the
// heuristic.
func (r *Runner) Classifier() Classifier { return r.opts.Classifier }

// Batch reports whether the run's requests go as batch jobs: asked for, and
// the classifier can.
func (r *Runner) Batch() bool {
	_, ok := r.opts.Classifier.(BatchClassifier)
	return ok && r.opts.Batch
}

// Key is an alert's group: its fingerprint and the digest of its evidence.
func Key(c Case) string {
	fp, _ := Fingerprint(c.Raw)
	return fp + ":" + Digest(c)
}

// Add registers an alert and returns its group key.
func (r *Runner) Add(c Case) string {
	k := Key(c)
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.groups[k]
	if g == nil {
		g = &group{key: k, pos: c.Pos}
		r.groups[k] = g
		r.order = append(r.order, g)
	}
	g.alerts++
	return k
}

func (r *Runner) cacheKey(k string) cache.Key {
	cl := r.opts.Classifier
	return cache.Key{Provider: cl.Name(), Params: cl.CacheParams(), Type: "classification", Value: k}
}

// Check asks the classifier, once per run, whether it can work at all
// before anything is spent (Checker). It returns an error only when the run
// must stop (ErrModelNotFound); a rejected key turns the model off for the
// run, and any other failure is logged and left to the requests to settle.
// Run calls it before its first request; a command may call it earlier, to
// fail before any lookup is made.
func (r *Runner) Check(ctx context.Context) error {
	ch, ok := r.opts.Classifier.(Checker)
	if !ok {
		return nil
	}
	r.checkOnce.Do(func() {
		err := ch.Check(ctx)
		switch {
		case err == nil:
		case errors.Is(err, ErrModelNotFound):
			r.checkErr = err
		case errors.Is(err, ErrKeyRejected):
			r.keyRejected(err)
		case ctx.Err() != nil:
			r.checkErr = ctx.Err()
		default:
			r.log.Warn("could not check the model before classifying; going on", "model", r.stats.Model, "error", err.Error())
		}
	})
	return r.checkErr
}

// Run classifies every group not yet classified, taking each group's case
// from cases, the run's alerts again, in the order they were added. Only
// the alerts being classified are held, at most Concurrency of them (all
// those sent, for a batch job, which sends them together).
func (r *Runner) Run(ctx context.Context, cases Cases) error {
	var todo []*group
	for _, gr := range r.order {
		if gr.result == nil {
			todo = append(todo, gr)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if r.opts.Classifier != nil {
		if err := r.Check(ctx); err != nil {
			return err
		}
		if r.Batch() {
			return r.runBatch(ctx, r.opts.Classifier.(BatchClassifier), todo, cases)
		}
	}
	g := errgroup.Group{}
	g.SetLimit(r.opts.Concurrency) // Go waits for a free slot: the replay goes at the classifier's pace
	err := each(ctx, cases, todo, func(gr *group, c Case) error {
		g.Go(func() error {
			res := r.classify(ctx, gr, c)
			r.mu.Lock()
			gr.result = res
			r.mu.Unlock()
			return nil
		})
		return nil
	})
	_ = g.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("replay alerts: %w", err)
	}
	return nil
}

// cached returns a group's cached classification, if any.
func (r *Runner) cached(ctx context.Context, gr *group) *model.Classification {
	e, ok, err := r.opts.Cache.Get(ctx, r.cacheKey(gr.key))
	if err != nil || !ok {
		return nil
	}
	var c model.Classification
	if json.Unmarshal(e.Data, &c) != nil || !validLabel(c.Label) {
		return nil
	}
	c.Source = SourceCache
	c.PromptTokens, c.OutputTokens, c.ThoughtTokens, c.CostUSD = 0, 0, 0, 0
	// Checked again: the entry may predate the ATT&CK release built in.
	c.Techniques, _ = Techniques(c.Techniques)
	r.mu.Lock()
	r.stats.CacheHits++
	r.mu.Unlock()
	return &c
}

// usage sums what the attempts for one group billed.
type usage struct {
	prompt, output, thought int
	cost                    float64
}

func (u *usage) add(c model.Classification) {
	u.prompt += c.PromptTokens
	u.output += c.OutputTokens
	u.thought += c.ThoughtTokens
	u.cost += c.CostUSD
}

func (u usage) onto(c *model.Classification) *model.Classification {
	c.PromptTokens, c.OutputTokens, c.ThoughtTokens, c.CostUSD = u.prompt, u.output, u.thought, u.cost
	return c
}

// classify settles one group, whose first alert is fc: heuristic, cache or
// model.
func (r *Runner) classify(ctx context.Context, gr *group, fc Case) *model.Classification {
	if r.opts.Classifier == nil {
		return Heuristic(fc, r.opts.Why)
	}
	if c := r.cached(ctx, gr); c != nil {
		return c
	}
	if why := r.stopReason(); why != "" {
		return Heuristic(fc, why)
	}
	var spent usage
	var lastProblem string
	for attempt := 0; attempt < 2; attempt++ { // one retry for an answer that does not validate
		c, err := r.ask(ctx, fc)
		r.bill(c)
		spent.add(c)
		if err == nil {
			err = sane(c)
		}
		var ae *AnswerError
		switch {
		case errors.As(err, &ae):
			lastProblem = ae.Problem
			r.log.Warn("model answer did not validate", "alert_id", fc.AlertID, "attempt", attempt+1, "problem", lastProblem)
			if ae.Final {
				attempt = 2
			}
			continue
		case err != nil:
			return spent.onto(Heuristic(fc, WhyFailed+": "+err.Error()))
		}
		return spent.onto(r.accept(ctx, gr, c))
	}
	return spent.onto(Heuristic(fc, WhyFailed+": "+lastProblem))
}

// sane holds any classifier to the report's schema: whatever a model
// package let through, a label outside Labels or a confidence outside
// 0-100 never reaches a report.
func sane(c model.Classification) error {
	switch {
	case !validLabel(c.Label):
		return &AnswerError{Problem: fmt.Sprintf("classification %q is not one of %s", clip(c.Label, 40), strings.Join(Labels, ", "))}
	case c.Confidence < 0 || c.Confidence > 100:
		return &AnswerError{Problem: fmt.Sprintf("confidence %d is not from 0 to 100", c.Confidence)}
	case len(c.Reasoning) == 0:
		return &AnswerError{Problem: "no reasons"}
	}
	return nil
}

// accept records a valid answer and caches it (without its cost: a cached
// answer costs nothing).
func (r *Runner) accept(ctx context.Context, gr *group, c model.Classification) *model.Classification {
	if c.ModelVersion != "" {
		r.mu.Lock()
		r.stats.ModelVersion = c.ModelVersion
		r.mu.Unlock()
	}
	stored := c
	stored.PromptTokens, stored.OutputTokens, stored.ThoughtTokens, stored.CostUSD = 0, 0, 0, 0
	if data, err := json.Marshal(stored); err == nil {
		if err := r.opts.Cache.Put(context.WithoutCancel(ctx), r.cacheKey(gr.key), cache.Entry{Status: "found", Data: data}, 30*24*time.Hour); err != nil {
			r.log.Warn("cannot cache classification", "error", err.Error())
		}
	}
	return &c
}

// ask asks the classifier once through the model's call policy
// (pkg/ratelimit, the one the lookup engine uses): the rate, 429s that pause
// every request to the model (RetryInfo), three 429s in a row, capped
// jittered backoff for 5xx and transport failures, and a model that cannot
// be reached. Whatever it returns carries the tokens and cost billed,
// errors included.
func (r *Runner) ask(ctx context.Context, c Case) (model.Classification, error) {
	if why := r.stopReason(); why != "" {
		return model.Classification{}, errors.New(strings.TrimPrefix(why, WhyFailed+": "))
	}
	var ans model.Classification
	att, err := r.policy.Do(ctx, func(ctx context.Context) error {
		var err error
		ans, err = r.opts.Classifier.Classify(ctx, c)
		return err
	})
	r.mu.Lock()
	r.stats.Requests += att.Sent
	r.mu.Unlock()
	var stop *ratelimit.StopError
	if !errors.As(err, &stop) {
		return ans, err // an answer error: it was billed
	}
	why := r.stopFor(stop)
	if errors.Is(stop, ratelimit.ErrRejected) && stop.Cause != nil {
		return model.Classification{}, stop.Cause
	}
	return model.Classification{}, errors.New(strings.TrimPrefix(why, WhyFailed+": "))
}

// classifyError is the call policy's reading of a Classifier's errors.
func classifyError(err error) ratelimit.Outcome {
	var rl *RateLimitError
	var te *TransientError
	switch {
	case errors.Is(err, ErrKeyRejected):
		return ratelimit.Outcome{Kind: ratelimit.Rejected}
	case errors.As(err, &rl):
		return ratelimit.Outcome{Kind: ratelimit.RateLimited, RetryAfter: rl.RetryAfter}
	case errors.As(err, &te):
		return ratelimit.Outcome{Kind: ratelimit.Transient}
	}
	return ratelimit.ClassifyNetwork(err) // an *AnswerError is Answered
}

// stopFor records why the model takes no more requests this run (once,
// with its note) and returns the reason alerts get.
func (r *Runner) stopFor(stop *ratelimit.StopError) string {
	name := r.name()
	switch {
	case errors.Is(stop, ratelimit.ErrRejected):
		cause := error(stop)
		if stop.Cause != nil {
			cause = stop.Cause
		}
		r.keyRejected(cause)
	case errors.Is(stop, ratelimit.ErrUnavailable):
		r.stop(WhyFailed+": "+name+" unreachable ("+stop.Detail+")", name+" could not be reached ("+stop.Detail+"); remaining alerts get heuristic classifications")
	default:
		r.stop(WhyFailed+": rate limited ("+stop.Detail+")", name+" is out of quota for this run ("+stop.Detail+"); remaining alerts get heuristic classifications")
	}
	return r.stopReason()
}

// stopReason says why no more requests go out: the key was rejected, the
// quota is gone, or the budget is spent.
func (r *Runner) stopReason() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped != "" {
		return r.stopped
	}
	if r.opts.MaxCostUSD > 0 && r.spent >= r.opts.MaxCostUSD {
		r.stopped = WhyBudget
		r.notes = append(r.notes, fmt.Sprintf("%s: the cost cap of $%.4f (%s) was reached; remaining alerts get heuristic classifications", r.name(), r.opts.MaxCostUSD, r.budgetKey()))
		r.log.Warn("model cost cap reached", "classifier", r.name(), "max_cost_usd", r.opts.MaxCostUSD)
		return r.stopped
	}
	return ""
}

func (r *Runner) stop(why, note string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped == "" {
		r.stopped = why
		r.notes = append(r.notes, note)
		r.log.Warn("model stopped for this run", "classifier", r.name(), "reason", why)
	}
}

// name is the classifier's name, for messages.
func (r *Runner) name() string {
	if r.opts.Classifier == nil {
		return "model"
	}
	return r.opts.Classifier.Name()
}

// budgetKey is the configuration key of the cost cap, for messages.
func (r *Runner) budgetKey() string {
	if r.opts.BudgetKey != "" {
		return r.opts.BudgetKey
	}
	return "gemini.max_cost_usd"
}

// keyRejected turns the model off for the run, naming the key to check.
func (r *Runner) keyRejected(err error) {
	name := r.name()
	r.stop(fmt.Sprintf("%s: %v; check %s", WhyFailed, err, r.opts.KeyHint), fmt.Sprintf("%s rejected the API key; check %s. Remaining alerts get heuristic classifications.", name, r.opts.KeyHint))
}

// bill adds what one call billed to the run's totals and its budget.
func (r *Runner) bill(c model.Classification) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.PromptTokens += c.PromptTokens
	r.stats.OutputTokens += c.OutputTokens
	r.stats.ThoughtTokens += c.ThoughtTokens
	r.stats.CostUSD += c.CostUSD
	r.spent += c.CostUSD
}

// Result returns an alert's classification, guarded against its risk
// verdict. It has no side effects, so alerts may ask in any order and from
// any goroutine: the first alert of a group (in input order) carries the
// group's tokens and cost, the others share the answer at no cost.
func (r *Runner) Result(c Case) *model.Classification {
	k := Key(c)
	r.mu.Lock()
	g := r.groups[k]
	var res model.Classification
	if g == nil || g.result == nil {
		r.mu.Unlock()
		res = *Heuristic(c, WhyFailed+": not classified")
	} else {
		res = *g.result
		first := g.pos == c.Pos
		r.mu.Unlock()
		res.Reasoning = append([]string(nil), res.Reasoning...)
		if !first {
			res.PromptTokens, res.OutputTokens, res.ThoughtTokens, res.CostUSD = 0, 0, 0, 0
		}
	}
	Guard(&res, c.Risk)
	return &res
}

// Tally counts the batch's labels and heuristic classifications, for the
// report summary that is written before the alerts.
func (r *Runner) Tally(c Case, bc *model.ByClassification) {
	res := r.Result(c)
	switch res.Label {
	case TruePositive:
		bc.TruePositive++
	case FalsePositive:
		bc.FalsePositive++
	default:
		bc.NeedsReview++
	}
	if res.Source == SourceHeuristic {
		r.mu.Lock()
		r.stats.Heuristic++
		r.mu.Unlock()
	}
}

// Stats returns the run's totals.
func (r *Runner) Stats() model.ClassificationStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Notes returns run-level facts for the report: the runner's own, then the
// classifier's (Noter).
func (r *Runner) Notes() []string {
	r.mu.Lock()
	notes := append([]string(nil), r.notes...)
	r.mu.Unlock()
	if n, ok := r.opts.Classifier.(Noter); ok {
		notes = append(notes, n.Notes()...)
	}
	return notes
}

// Groups is the number of distinct requests the batch needs at most.
func (r *Runner) Groups() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.order)
}

// Estimate is a dry run: requests after cache hits, tokens and cost.
type Estimate struct {
	Alerts, Groups, Cached, Requests  int
	PromptTokens, OutputTokens, Think int
	CostUSD                           float64
}

// Estimate prices the batch without sending anything, with the
// classifier's own estimate per request (Estimator), taking each group's
// case from cases as Run does; a classifier that cannot estimate counts
// requests only. A replay that fails ends the estimate where it got to.
func (r *Runner) Estimate(ctx context.Context, cases Cases) Estimate {
	var e Estimate
	var need []*group
	for _, g := range r.order {
		e.Alerts += g.alerts
		e.Groups++
		if r.opts.Classifier == nil {
			continue
		}
		if _, ok, err := r.opts.Cache.Get(ctx, r.cacheKey(g.key)); err == nil && ok {
			e.Cached++
			continue
		}
		e.Requests++
		need = append(need, g)
	}
	est, _ := r.opts.Classifier.(Estimator)
	if est == nil || len(need) == 0 {
		return e
	}
	batch := r.Batch()
	if err := each(ctx, cases, need, func(_ *group, fc Case) error {
		c := est.Estimate(fc, batch)
		e.PromptTokens += c.PromptTokens
		e.OutputTokens += c.OutputTokens
		e.Think += c.ThoughtTokens
		e.CostUSD += c.CostUSD
		return nil
	}); err != nil {
		r.log.Warn("estimate cut short", "error", err.Error())
	}
	return e
}

// ValidLabel reports whether l is one of Labels.
func ValidLabel(l string) bool { return validLabel(l) }

func validLabel(l string) bool {
	for _, x := range Labels {
		if l == x {
			return true
		}
	}
	return false
}

// Clip cuts s to n runes, marking the cut with an ellipsis: model output is
// untrusted and a report has no room for a novel.
func Clip(s string, n int) string { return clip(s, n) }

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
