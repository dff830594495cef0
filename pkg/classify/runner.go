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
type Runner struct {
	opts   Options
	log    *slog.Logger
	policy *ratelimit.Policy // the model's: rate, 429 pauses, retries

	mu      sync.Mutex
	groups  map[string]*group
	order   []string
	stats   model.ClassificationStats
	spent   float64
	stopped string // why the model is out for this run
	notes   []string

	checkOnce sync.Once
	checkErr  error
}

type group struct {
	key    string
	c      Case // the first alert's case; its Pos carries the tokens
	result *model.Classification
	alerts int
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
		g = &group{key: k, c: c}
		r.groups[k] = g
		r.order = append(r.order, k)
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

// Run classifies every group not yet classified.
func (r *Runner) Run(ctx context.Context) error {
	var todo []*group
	for _, k := range r.order {
		if gr := r.groups[k]; gr.result == nil {
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
			return r.runBatch(ctx, r.opts.Classifier.(BatchClassifier), todo)
		}
	}
	g := errgroup.Group{}
	g.SetLimit(r.opts.Concurrency)
	for _, gr := range todo {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			res := r.classify(ctx, gr)
			r.mu.Lock()
			gr.result = res
			r.mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
	return ctx.Err()
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

// classify settles one group: heuristic, cache or model.
func (r *Runner) classify(ctx context.Context, gr *group) *model.Classification {
	if r.opts.Classifier == nil {
		return Heuristic(gr.c, r.opts.Why)
	}
	if c := r.cached(ctx, gr); c != nil {
		return c
	}
	if why := r.stopReason(); why != "" {
		return Heuristic(gr.c, why)
	}
	var spent usage
	var lastProblem string
	for attempt := 0; attempt < 2; attempt++ { // one retry for an answer that does not validate
		c, err := r.ask(ctx, gr.c)
		r.bill(c)
		spent.add(c)
		if err == nil {
			err = sane(c)
		}
		var ae *AnswerError
		switch {
		case errors.As(err, &ae):
			lastProblem = ae.Problem
			r.log.Warn("model answer did not validate", "alert_id", gr.c.AlertID, "attempt", attempt+1, "problem", lastProblem)
			if ae.Final {
				attempt = 2
			}
			continue
		case err != nil:
			return spent.onto(Heuristic(gr.c, WhyFailed+": "+err.Error()))
		}
		return spent.onto(r.accept(ctx, gr, c))
	}
	return spent.onto(Heuristic(gr.c, WhyFailed+": "+lastProblem))
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
		first := g.c.Pos == c.Pos
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
// classifier's own estimate per request (Estimator); a classifier that
// cannot estimate counts requests only.
func (r *Runner) Estimate(ctx context.Context) Estimate {
	var e Estimate
	est, _ := r.opts.Classifier.(Estimator)
	batch := r.Batch()
	for _, k := range r.order {
		g := r.groups[k]
		e.Alerts += g.alerts
		e.Groups++
		if r.opts.Classifier == nil {
			continue
		}
		if _, ok, err := r.opts.Cache.Get(ctx, r.cacheKey(k)); err == nil && ok {
			e.Cached++
			continue
		}
		e.Requests++
		if est != nil {
			c := est.Estimate(g.c, batch)
			e.PromptTokens += c.PromptTokens
			e.OutputTokens += c.OutputTokens
			e.Think += c.ThoughtTokens
			e.CostUSD += c.CostUSD
		}
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
