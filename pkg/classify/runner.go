package classify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/ratelimit"
)

// Answer is one model response, before validation.
type Answer struct {
	Text          string
	PromptTokens  int
	OutputTokens  int
	ThoughtTokens int
	ModelVersion  string
	FinishReason  string
	Blocked       string // the prompt was blocked (promptFeedback.blockReason)
}

// Generator asks a model once.
type Generator interface {
	Generate(ctx context.Context, system, user string) (*Answer, error)
	Model() string
}

// PromptBuilder renders the prompt of a case (the Gemini package's).
type PromptBuilder func(c Case, r *Redactor) (system, user string, err error)

// Errors a Generator returns.
var (
	// ErrKeyRejected: the API key is invalid; no request can succeed.
	ErrKeyRejected = errors.New("API key rejected")
)

// RateLimitError is a 429; RetryAfter comes from RetryInfo (0 if absent).
type RateLimitError struct {
	RetryAfter time.Duration
	Detail     string
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("gemini: rate limited (429), retry after %s: %s", e.RetryAfter, e.Detail)
}

// TransientError is a 5xx (500 internal, 503 overloaded, 504 deadline).
type TransientError struct {
	Code   int
	Detail string
}

func (e *TransientError) Error() string { return fmt.Sprintf("gemini: HTTP %d %s", e.Code, e.Detail) }

// Price is USD per million tokens; thinking tokens bill as output.
type Price struct {
	InputPerMTok  float64
	OutputPerMTok float64
}

// ListPrices are the paid-tier list prices (reference/apis.md 3.5).
var ListPrices = map[string]Price{
	"gemini-2.5-flash":      {InputPerMTok: 0.30, OutputPerMTok: 2.50},
	"gemini-2.5-flash-lite": {InputPerMTok: 0.10, OutputPerMTok: 0.40},
}

// Cost prices one request's tokens.
func (p Price) Cost(prompt, output, thought int) float64 {
	return float64(prompt)*p.InputPerMTok/1e6 + float64(output+thought)*p.OutputPerMTok/1e6
}

// Options configures a Runner.
type Options struct {
	Generator     Generator // nil: every alert gets the heuristic, with Why
	Why           string
	Prompt        PromptBuilder
	PromptVersion string
	Cache         cache.Cache
	Rate          ratelimit.Rate
	Concurrency   int
	MaxCostUSD    float64 // 0: no cap
	Price         Price
	Redact        bool
	MaxRetries    int
	BackoffBase   time.Duration
	Logger        *slog.Logger
	KeyHint       string // config key to check when the key is rejected
}

// Runner classifies a batch: it groups alerts by fingerprint and evidence,
// asks the model (or the cache) once per group within rate, budget and
// retry limits, and hands each alert its classification.
type Runner struct {
	opts   Options
	log    *slog.Logger
	policy *ratelimit.Policy // the model's: rate, 429 pauses, retries

	mu       sync.Mutex
	groups   map[string]*group
	order    []string
	stats    model.ClassificationStats
	spent    float64
	stopped  string // why the model is out for this run
	warned   map[string]bool
	notes    []string
	versions map[string]bool
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
	r := &Runner{opts: o, log: log, groups: map[string]*group{}, warned: map[string]bool{}, versions: map[string]bool{}}
	if o.Generator != nil {
		r.stats.Model = o.Generator.Model()
	}
	r.policy = ratelimit.New(ratelimit.Config{Name: "gemini", Rate: o.Rate, MaxRetries: o.MaxRetries,
		BackoffBase: o.BackoffBase, Classify: classifyModel, Logger: log})
	return r
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
	params := r.stats.Model + "|" + r.opts.PromptVersion
	if r.opts.Redact {
		params += "|redact"
	}
	return cache.Key{Provider: "gemini", Params: params, Type: "classification", Value: k}
}

// Run classifies every group not yet classified.
func (r *Runner) Run(ctx context.Context) error {
	g := errgroup.Group{}
	g.SetLimit(r.opts.Concurrency)
	for _, k := range r.order {
		gr := r.groups[k]
		if gr.result != nil {
			continue
		}
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

// classify settles one group: heuristic, cache or model.
func (r *Runner) classify(ctx context.Context, gr *group) *model.Classification {
	if r.opts.Generator == nil {
		return Heuristic(gr.c, r.opts.Why)
	}
	ck := r.cacheKey(gr.key)
	if e, ok, err := r.opts.Cache.Get(ctx, ck); err == nil && ok {
		var c model.Classification
		if json.Unmarshal(e.Data, &c) == nil && validLabel(c.Label) {
			c.Source = SourceCache
			c.PromptTokens, c.OutputTokens, c.ThoughtTokens, c.CostUSD = 0, 0, 0, 0
			r.mu.Lock()
			r.stats.CacheHits++
			r.mu.Unlock()
			return &c
		}
	}
	if why := r.stopReason(); why != "" {
		return Heuristic(gr.c, why)
	}
	var red *Redactor
	if r.opts.Redact {
		red = NewRedactor(gr.c)
	}
	system, user, err := r.opts.Prompt(gr.c, red)
	if err != nil {
		return Heuristic(gr.c, WhyFailed+": "+err.Error())
	}
	var tokens [3]int
	var cost float64
	var lastProblem string
	for attempt := 0; attempt < 2; attempt++ { // one retry for an answer that does not validate
		ans, err := r.ask(ctx, system, user)
		if ans != nil {
			tokens[0] += ans.PromptTokens
			tokens[1] += ans.OutputTokens
			tokens[2] += ans.ThoughtTokens
			c := r.opts.Price.Cost(ans.PromptTokens, ans.OutputTokens, ans.ThoughtTokens)
			cost += c
			r.bill(ans, c)
		}
		if err != nil {
			h := Heuristic(gr.c, WhyFailed+": "+err.Error())
			h.PromptTokens, h.OutputTokens, h.ThoughtTokens, h.CostUSD = tokens[0], tokens[1], tokens[2], cost
			return h
		}
		if ans.Blocked != "" {
			lastProblem = "the prompt was blocked (" + ans.Blocked + ")"
			break
		}
		c, perr := parseAnswer(ans.Text)
		if perr != nil {
			lastProblem = perr.Error()
			if ans.FinishReason != "" && ans.FinishReason != "STOP" {
				lastProblem += " (finish reason " + ans.FinishReason + ")"
			}
			r.log.Warn("model answer did not validate", "alert_id", gr.c.AlertID, "attempt", attempt+1, "problem", lastProblem)
			continue
		}
		if red != nil {
			for i := range c.Reasoning {
				c.Reasoning[i] = red.Restore(c.Reasoning[i])
			}
			c.NextStep = red.Restore(c.NextStep)
		}
		c.Source, c.Model, c.ModelVersion = SourceGemini, r.stats.Model, ans.ModelVersion
		r.noteVersion(ans.ModelVersion)
		if data, err := json.Marshal(c); err == nil {
			if err := r.opts.Cache.Put(context.WithoutCancel(ctx), r.cacheKey(gr.key), cache.Entry{Status: "found", Data: data}, 30*24*time.Hour); err != nil {
				r.log.Warn("cannot cache classification", "error", err.Error())
			}
		}
		c.PromptTokens, c.OutputTokens, c.ThoughtTokens, c.CostUSD = tokens[0], tokens[1], tokens[2], cost
		return c
	}
	h := Heuristic(gr.c, WhyFailed+": "+lastProblem)
	h.PromptTokens, h.OutputTokens, h.ThoughtTokens, h.CostUSD = tokens[0], tokens[1], tokens[2], cost
	return h
}

// ask sends one prompt through the model's call policy (pkg/ratelimit, the
// same one the lookup engine uses): the rate, 429s that pause every request
// to the model (RetryInfo), three 429s in a row, capped jittered backoff for
// 5xx and transport failures, and a model that cannot be reached.
func (r *Runner) ask(ctx context.Context, system, user string) (*Answer, error) {
	if why := r.stopReason(); why != "" {
		return nil, errors.New(strings.TrimPrefix(why, WhyFailed+": "))
	}
	var ans *Answer
	att, err := r.policy.Do(ctx, func(ctx context.Context) error {
		a, err := r.opts.Generator.Generate(ctx, system, user)
		ans = a
		return err
	})
	r.mu.Lock()
	r.stats.Requests += att.Sent
	r.mu.Unlock()
	var stop *ratelimit.StopError
	if !errors.As(err, &stop) {
		return ans, err
	}
	why := r.stopFor(stop)
	if errors.Is(stop, ratelimit.ErrRejected) && stop.Cause != nil {
		return nil, stop.Cause
	}
	return nil, errors.New(strings.TrimPrefix(why, WhyFailed+": "))
}

// classifyModel is the call policy's reading of a Generator's errors.
func classifyModel(err error) ratelimit.Outcome {
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
	return ratelimit.ClassifyNetwork(err)
}

// stopFor records why the model takes no more requests this run (once,
// with its note) and returns the reason alerts get.
func (r *Runner) stopFor(stop *ratelimit.StopError) string {
	var why, note string
	switch {
	case errors.Is(stop, ratelimit.ErrRejected):
		cause := error(stop)
		if stop.Cause != nil {
			cause = stop.Cause
		}
		why = fmt.Sprintf("%s: %v; check %s", WhyFailed, cause, r.opts.KeyHint)
		note = fmt.Sprintf("gemini rejected the API key; check %s. Remaining alerts get heuristic classifications.", r.opts.KeyHint)
	case errors.Is(stop, ratelimit.ErrUnavailable):
		why = WhyFailed + ": gemini unreachable (" + stop.Detail + ")"
		note = "gemini could not be reached (" + stop.Detail + "); remaining alerts get heuristic classifications"
	default:
		why = WhyFailed + ": rate limited (" + stop.Detail + ")"
		note = "gemini is out of quota for this run (" + stop.Detail + "); remaining alerts get heuristic classifications"
	}
	r.stop(why, note)
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
		r.notes = append(r.notes, fmt.Sprintf("gemini: the cost cap of $%.4f (gemini.max_cost_usd) was reached; remaining alerts get heuristic classifications", r.opts.MaxCostUSD))
		r.log.Warn("gemini cost cap reached", "max_cost_usd", r.opts.MaxCostUSD)
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
		r.log.Warn("gemini stopped for this run", "reason", why)
	}
}

func (r *Runner) bill(a *Answer, cost float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.PromptTokens += a.PromptTokens
	r.stats.OutputTokens += a.OutputTokens
	r.stats.ThoughtTokens += a.ThoughtTokens
	r.stats.CostUSD += cost
	r.spent += cost
}

// noteVersion records the model that really answered, and warns once when
// it is not the one asked for (Google re-routes retired models).
func (r *Runner) noteVersion(v string) {
	if v == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.ModelVersion = v
	if r.versions[v] {
		return
	}
	r.versions[v] = true
	if !strings.HasPrefix(v, r.stats.Model) {
		msg := fmt.Sprintf("gemini answered with model %s although %s was requested (retired models are re-routed and billed at the new model's rates; costs here use the configured prices)", v, r.stats.Model)
		r.notes = append(r.notes, msg)
		r.log.Warn("gemini model differs from the one requested", "requested", r.stats.Model, "model_version", v)
	}
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

// Notes returns run-level facts for the report.
func (r *Runner) Notes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.notes...)
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

// Estimate prices the batch without sending anything. Prompt tokens are
// estimated at four characters per token.
func (r *Runner) Estimate(ctx context.Context, thinkingBudget int) Estimate {
	var e Estimate
	for _, k := range r.order {
		g := r.groups[k]
		e.Alerts += g.alerts
		e.Groups++
		if r.opts.Generator == nil {
			continue
		}
		if _, ok, err := r.opts.Cache.Get(ctx, r.cacheKey(k)); err == nil && ok {
			e.Cached++
			continue
		}
		system, user, err := r.opts.Prompt(g.c, nil)
		if err != nil {
			continue
		}
		e.Requests++
		e.PromptTokens += (len(system) + len(user) + 3) / 4
		e.OutputTokens += 160
		switch {
		case thinkingBudget > 0:
			e.Think += thinkingBudget
		case thinkingBudget < 0:
			e.Think += 1024
		}
	}
	e.CostUSD = r.opts.Price.Cost(e.PromptTokens, e.OutputTokens, e.Think)
	return e
}

var techniqueID = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)

// modelAnswer is the structured output, decoded loosely so validation can
// say exactly what is wrong.
type modelAnswer struct {
	Classification string      `json:"classification"`
	Confidence     json.Number `json:"confidence"`
	Reasons        []string    `json:"reasons"`
	Techniques     []string    `json:"mitre_techniques"`
	NextStep       string      `json:"next_step"`
}

// parseAnswer validates the model's JSON: model output is untrusted input.
func parseAnswer(text string) (*model.Classification, error) {
	text = strings.TrimSpace(text)
	text = strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(text, "```json"), "```"), "```")
	if text == "" {
		return nil, errors.New("empty answer")
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var m modelAnswer
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("answer is not JSON: %v", err)
	}
	if !validLabel(m.Classification) {
		return nil, fmt.Errorf("classification %q is not one of %s", clip(m.Classification, 40), strings.Join(Labels, ", "))
	}
	conf, err := m.Confidence.Int64()
	if err != nil || conf < 0 || conf > 100 {
		return nil, fmt.Errorf("confidence %q is not an integer from 0 to 100", clip(m.Confidence.String(), 20))
	}
	if len(m.Reasons) != 3 {
		return nil, fmt.Errorf("%d reasons, not exactly three", len(m.Reasons))
	}
	c := &model.Classification{Label: m.Classification, Confidence: int(conf)}
	for _, r := range m.Reasons {
		r = clip(strings.Join(strings.Fields(r), " "), 500)
		if r == "" {
			return nil, errors.New("an empty reason")
		}
		c.Reasoning = append(c.Reasoning, r)
	}
	for _, t := range m.Techniques {
		if t = strings.ToUpper(strings.TrimSpace(t)); techniqueID.MatchString(t) {
			c.Techniques = append(c.Techniques, t)
		}
	}
	c.NextStep = clip(strings.Join(strings.Fields(m.NextStep), " "), 500)
	return c, nil
}

func validLabel(l string) bool {
	for _, x := range Labels {
		if l == x {
			return true
		}
	}
	return false
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
