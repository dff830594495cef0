// Package gemini asks Google's Gemini for an alert classification through
// the official google.golang.org/genai SDK, with structured output, and
// turns the SDK's errors into ones the classification runner can act on.
//
// What is particular to each model (how its thinking is set and which
// values it takes, whether it honours temperature, its list prices and
// when they change, whether it is retired and who answers in its place)
// lives in the model table (models.go), not in the prompt.
package gemini

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"google.golang.org/genai"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/classify"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/safehttp"
)

//go:embed system.tmpl prompt.tmpl
var promptFS embed.FS

var (
	systemPrompt = mustRead("system.tmpl")
	userTemplate = template.Must(template.New("prompt.tmpl").ParseFS(promptFS, "prompt.tmpl"))
	// PromptVersion changes whenever the prompt does, so cached
	// classifications made with an older prompt are not reused.
	PromptVersion = func() string {
		sum := sha256.Sum256([]byte(systemPrompt + mustRead("prompt.tmpl")))
		return "p1-" + hex.EncodeToString(sum[:4])
	}()
)

func mustRead(name string) string {
	b, err := promptFS.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time
	}
	return string(b)
}

// MaxAlertChars caps the alert text in a prompt: cost grows with it, and
// the telling part of an alert is rarely past the first few kilobytes.
const MaxAlertChars = 12000

// Prompt is one rendered request.
type Prompt struct {
	System string
	User   string
}

// BuildPrompt renders the prompt for a case. The alert goes in without its
// volatile fields, between delimiters carrying a token derived from the
// alert, so alert text cannot close the block it sits in. With a Redactor,
// the alert and the indicator values in the facts are redacted before the
// template runs, never the rendered prompt: the trusted words around them
// stay as verdict wrote them, whatever a user is called.
func BuildPrompt(c classify.Case, r *classify.Redactor) (Prompt, error) {
	fp, stable := classify.Fingerprint(c.Raw)
	enrichment, factors := classify.EnrichmentSummary(c), c.Risk.Factors
	if r != nil {
		// Before truncation, which must never cut a value in half.
		stable = r.RedactJSON(stable)
		enrichment, factors = r.Enrichment(c), r.Factors(c)
	}
	alertText := strings.ReplaceAll(string(stable), "<<<", "< < <")
	truncated := 0
	if len(alertText) > MaxAlertChars {
		cut := MaxAlertChars
		for cut > 0 && alertText[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		alertText, truncated = alertText[:cut]+"…", cut
	}
	sum := sha256.Sum256([]byte("verdict-delimiter:" + fp + ":" + classify.Digest(c)))
	data := struct {
		Nonce, Alert string
		Truncated    int
		Enrichment   []string
		Score        int
		Verdict      string
		Factors      []string
	}{hex.EncodeToString(sum[:8]), alertText, truncated, enrichment, c.Risk.Score, string(c.Risk.Verdict), factors}
	var b strings.Builder
	if err := userTemplate.Execute(&b, data); err != nil {
		return Prompt{}, err
	}
	return Prompt{System: systemPrompt, User: b.String()}, nil
}

// ResponseSchema is the structured output verdict asks for.
var ResponseSchema = &genai.Schema{
	Type: genai.TypeObject,
	Properties: map[string]*genai.Schema{
		"classification":   {Type: genai.TypeString, Enum: classify.Labels, Description: "the verdict on the alert"},
		"confidence":       {Type: genai.TypeInteger, Minimum: genai.Ptr(0.0), Maximum: genai.Ptr(100.0), Description: "0 to 100"},
		"reasons":          {Type: genai.TypeArray, Items: &genai.Schema{Type: genai.TypeString}, MinItems: genai.Ptr[int64](3), MaxItems: genai.Ptr[int64](3), Description: "exactly three short reasons"},
		"mitre_techniques": {Type: genai.TypeArray, Items: &genai.Schema{Type: genai.TypeString}, Description: "MITRE ATT&CK technique ids such as T1110 or T1059.001"},
		"next_step":        {Type: genai.TypeString, Description: "one recommended next step"},
	},
	Required:         []string{"classification", "confidence", "reasons", "next_step"},
	PropertyOrdering: []string{"classification", "confidence", "reasons", "mitre_techniques", "next_step"},
}

// Options configures a Classifier. The zero value of each field is a
// sensible default except APIKey and Model.
type Options struct {
	APIKey  string // passed explicitly: the SDK's own env fallback is never used
	BaseURL string // without the API version, which the SDK appends
	Model   string
	// ThinkingLevel is sent to models that take a level (3.x): minimal,
	// low, medium or high; "" is low. ThinkingBudget is sent to models that
	// take a budget (2.5): 0 off, -1 dynamic, or tokens. Never both; a model
	// verdict does not know gets neither.
	ThinkingLevel  string
	ThinkingBudget int
	// ServiceTier is standard ("" too) or flex (half price, may be slower).
	ServiceTier string
	// PriceInput and PriceOutput override the table's list prices (USD per
	// million tokens, standard tier; flex and batch bill half of them).
	PriceInput, PriceOutput *float64
	Timeout                 time.Duration // per request; the SDK's default has none
	MaxOutputTokens         int
	// Redact replaces user names, internal hosts, e-mail local parts and
	// non-global addresses before the prompt leaves the machine, and maps
	// them back in the answer.
	Redact bool
	// InternalDomains are the organisation's domains (ioc.internal_domains):
	// with Redact, every name equal to or under one is redacted too.
	InternalDomains []string
	HTTPClient      *http.Client
	// Cache keeps models.get answers for a day, so the model check costs
	// one request a day; nil keeps none.
	Cache  cache.Cache
	Logger *slog.Logger
	// Now is the clock requests are priced by (list prices change on given
	// dates); nil is time.Now.
	Now func() time.Time
	// BatchPoll is how often a batch job is polled; 0 is 30 seconds.
	BatchPoll time.Duration
}

// Classifier is a classify.Classifier backed by Gemini.
type Classifier struct {
	c    *genai.Client
	opts Options
	log  *slog.Logger

	row     Model // the configured model's table row (known only)
	known   bool
	serving Model // whose rules and rates apply to requests (a re-routed model's target)
	tier    Tier
	level   string // sent to level models
	gc      *genai.GenerateContentConfig

	mu       sync.Mutex
	notes    []string
	versions map[string]bool
	dropped  map[string]bool
}

var (
	_ classify.Classifier      = (*Classifier)(nil)
	_ classify.Checker         = (*Classifier)(nil)
	_ classify.Estimator       = (*Classifier)(nil)
	_ classify.Noter           = (*Classifier)(nil)
	_ classify.BatchClassifier = (*Classifier)(nil)
)

// New builds a classifier. It checks the thinking and tier settings
// against verdict's model table before anything is sent: a value the model
// does not take is a *SettingError naming the configuration key. The key
// and base URL are given explicitly so that GOOGLE_API_KEY, GEMINI_API_KEY
// or GOOGLE_GEMINI_BASE_URL in the environment never silently change where
// prompts go.
func New(ctx context.Context, o Options) (*Classifier, error) {
	if o.APIKey == "" {
		return nil, errors.New("gemini: no API key")
	}
	if o.Model == "" {
		o.Model = DefaultModel
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BatchPoll <= 0 {
		o.BatchPoll = 30 * time.Second
	}
	if o.Cache == nil {
		o.Cache = cache.Nop{}
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	cl := &Classifier{opts: o, log: log, versions: map[string]bool{}, dropped: map[string]bool{}}
	tier, err := ParseTier(o.ServiceTier)
	if err != nil {
		return nil, err
	}
	cl.tier = tier
	cl.row, cl.known = LookupModel(o.Model)
	cl.serving = cl.row.Serving()
	if err := cl.checkSettings(); err != nil {
		return nil, err
	}
	cl.gc = cl.generationConfig()

	hc := o.HTTPClient
	if hc == nil {
		// Keys stay on their host, answers are capped, an echoed key is
		// scrubbed: the same client the providers use.
		hc = safehttp.New(safehttp.Options{Timeout: o.Timeout, Secrets: []string{o.APIKey}})
	}
	cc := &genai.ClientConfig{
		APIKey:     o.APIKey,
		Backend:    genai.BackendGeminiAPI, // never let the environment flip it to Vertex
		HTTPClient: hc,
		HTTPOptions: genai.HTTPOptions{
			BaseURL: o.BaseURL,
			Timeout: &o.Timeout,
			// RetryOptions stays nil: the runner's call policy is the only
			// one, and it honours RetryInfo, which the SDK's does not.
		},
	}
	c, err := genai.NewClient(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("gemini: %w", err)
	}
	cl.c = c
	return cl, nil
}

// checkSettings validates thinking against the model that will serve the
// requests, and says once what verdict cannot know about the model.
func (c *Classifier) checkSettings() error {
	o := c.opts
	level := strings.ToLower(strings.TrimSpace(o.ThinkingLevel))
	if level == "" {
		level = "low"
	}
	if !slices.Contains(allLevels(), level) {
		return &SettingError{Key: "gemini.thinking_level", Value: o.ThinkingLevel, Allowed: strings.Join(allLevels(), ", ")}
	}
	c.level = level
	if !c.known {
		c.log.Warn("model not in verdict's table: no thinking setting is sent (gemini.thinking_level and gemini.thinking_budget are not used)",
			"model", o.Model, "known", strings.Join(CurrentModels(), ", "))
		if o.PriceInput == nil || o.PriceOutput == nil {
			c.log.Warn("no list price for this model: costs are reported as 0 unless gemini.price_input_per_mtok and gemini.price_output_per_mtok are set", "model", o.Model)
		}
		return nil
	}
	if c.row.Status == StatusRetired {
		msg := fmt.Sprintf("gemini.model %s was shut down on %s", c.row.ID, c.row.Shutdown)
		if c.row.RoutedTo != "" {
			msg += fmt.Sprintf("; Google answers its requests with %s, under that model's rules and at its rates", c.row.RoutedTo)
		}
		msg += fmt.Sprintf(". Set gemini.model to %s.", DefaultModel)
		c.note(msg)
		c.log.Warn("retired model configured", "model", c.row.ID, "served_by", c.serving.ID)
	}
	switch c.serving.Thinking {
	case ThinkingLevel:
		if err := c.serving.checkLevel(level); err != nil {
			return err
		}
		if o.ThinkingBudget != 0 {
			c.log.Warn("gemini.thinking_budget is not used: this model takes gemini.thinking_level", "model", c.serving.ID, "thinking_level", level)
		}
	case ThinkingBudget:
		if err := c.serving.checkBudget(o.ThinkingBudget); err != nil {
			return err
		}
	}
	return nil
}

// generationConfig is the request configuration every call shares.
func (c *Classifier) generationConfig() *genai.GenerateContentConfig {
	gc := &genai.GenerateContentConfig{
		CandidateCount:   1,
		ResponseMIMEType: "application/json",
		ResponseSchema:   ResponseSchema,
	}
	// 3.x models ignore temperature (deprecated 2026-07-21): repeatable
	// answers come from the cache, not from temperature 0.
	if c.known && c.serving.Temperature {
		gc.Temperature = genai.Ptr[float32](0)
	}
	switch {
	case !c.known:
		// Neither: a level to a budget model (or the reverse) is a 400.
	case c.serving.Thinking == ThinkingLevel:
		gc.ThinkingConfig = &genai.ThinkingConfig{ThinkingLevel: genai.ThinkingLevel(strings.ToUpper(c.level))}
	case c.serving.Thinking == ThinkingBudget:
		gc.ThinkingConfig = &genai.ThinkingConfig{ThinkingBudget: genai.Ptr(int32(c.opts.ThinkingBudget))}
	}
	if c.tier == TierFlex {
		gc.ServiceTier = genai.ServiceTierFlex
	}
	if c.opts.MaxOutputTokens > 0 {
		gc.MaxOutputTokens = int32(c.opts.MaxOutputTokens)
	}
	return gc
}

// Name implements classify.Classifier.
func (c *Classifier) Name() string { return classify.SourceGemini }

// Model implements classify.Classifier.
func (c *Classifier) Model() string { return c.opts.Model }

// CacheParams implements classify.Classifier: the model, the prompt's
// version, the thinking setting sent and redaction change an answer; the
// tier and prices do not.
func (c *Classifier) CacheParams() string {
	p := c.opts.Model + "|" + PromptVersion
	switch {
	case !c.known:
	case c.serving.Thinking == ThinkingLevel:
		p += "|level=" + c.level
	case c.serving.Thinking == ThinkingBudget:
		p += "|budget=" + strconv.Itoa(c.opts.ThinkingBudget)
	}
	if c.opts.Redact {
		// v2: answers to prompts whose trusted facts the first redactor
		// could rewrite are not reused.
		p += "|redact-v2"
	}
	return p
}

// Thinking describes the thinking setting sent ("level low", "budget 0",
// "none"), for dry runs and messages.
func (c *Classifier) Thinking() string {
	switch {
	case !c.known:
		return "none (model not in verdict's table)"
	case c.serving.Thinking == ThinkingLevel:
		return "level " + c.level
	default:
		return "budget " + strconv.Itoa(c.opts.ThinkingBudget)
	}
}

// Tier is the service tier requests are sent at.
func (c *Classifier) Tier() Tier { return c.tier }

// prompt renders a case's prompt, with its redactor when redacting.
func (c *Classifier) prompt(cs classify.Case) (Prompt, *classify.Redactor, error) {
	var red *classify.Redactor
	if c.opts.Redact {
		red = classify.NewRedactor(cs, c.opts.InternalDomains)
	}
	p, err := BuildPrompt(cs, red)
	if err != nil {
		return Prompt{}, nil, fmt.Errorf("render prompt: %w", err)
	}
	return p, red, nil
}

// config is the shared configuration with a prompt's system instruction.
func (c *Classifier) config(system string) *genai.GenerateContentConfig {
	gc := *c.gc
	gc.SystemInstruction = genai.NewContentFromText(system, genai.RoleUser)
	return &gc
}

// Classify implements classify.Classifier with one generateContent call.
func (c *Classifier) Classify(ctx context.Context, cs classify.Case) (model.Classification, error) {
	p, red, err := c.prompt(cs)
	if err != nil {
		return model.Classification{}, &classify.AnswerError{Problem: err.Error(), Final: true}
	}
	at := c.opts.Now()
	resp, err := c.c.Models.GenerateContent(ctx, c.opts.Model, genai.Text(p.User), c.config(p.System))
	if err != nil {
		return model.Classification{}, mapError(err)
	}
	return c.answer(cs, resp, red, at, c.tier)
}

// answer prices a response and validates its text. The classification it
// returns carries the tokens and cost billed, also with an error.
func (c *Classifier) answer(cs classify.Case, resp *genai.GenerateContentResponse, red *classify.Redactor, at time.Time, tier Tier) (model.Classification, error) {
	var bill model.Classification
	if u := resp.UsageMetadata; u != nil {
		bill.PromptTokens, bill.OutputTokens, bill.ThoughtTokens = int(u.PromptTokenCount), int(u.CandidatesTokenCount), int(u.ThoughtsTokenCount)
	}
	bill.ModelVersion = resp.ModelVersion
	bill.CostUSD = c.rate(resp.ModelVersion, at).Cost(bill.PromptTokens, bill.OutputTokens, bill.ThoughtTokens) * tier.Discount()
	c.noteVersion(resp.ModelVersion)
	if pf := resp.PromptFeedback; pf != nil && pf.BlockReason != "" {
		return bill, &classify.AnswerError{Problem: "the prompt was blocked (" + string(pf.BlockReason) + ")", Final: true}
	}
	var text, finish string
	if len(resp.Candidates) > 0 && resp.Candidates[0] != nil {
		finish = string(resp.Candidates[0].FinishReason)
		if cont := resp.Candidates[0].Content; cont != nil {
			var b strings.Builder
			for _, p := range cont.Parts {
				if p != nil && !p.Thought {
					b.WriteString(p.Text)
				}
			}
			text = b.String()
		}
	}
	res, err := parseAnswer(text)
	if err != nil {
		problem := err.Error()
		if finish != "" && finish != string(genai.FinishReasonStop) {
			problem += " (finish reason " + finish + ")"
		}
		return bill, &classify.AnswerError{Problem: problem}
	}
	res.Techniques = c.techniques(cs, res.Techniques)
	if red != nil {
		for i := range res.Reasoning {
			res.Reasoning[i] = red.Restore(res.Reasoning[i])
		}
		res.NextStep = red.Restore(res.NextStep)
	}
	res.Source, res.Model, res.ModelVersion = classify.SourceGemini, c.opts.Model, resp.ModelVersion
	res.PromptTokens, res.OutputTokens, res.ThoughtTokens, res.CostUSD = bill.PromptTokens, bill.OutputTokens, bill.ThoughtTokens, bill.CostUSD
	return *res, nil
}

// rate is the standard-tier price of a request made at t and answered by
// version: the configured prices when set, otherwise the list price of the
// model that billed it (the answering model when the table knows it, as a
// re-routed retired model bills at its target's rates), otherwise the
// configured model's; zero for a model nobody priced.
func (c *Classifier) rate(version string, at time.Time) Rate {
	var r Rate
	switch b, ok := billedModel(version); {
	case version != "" && ok:
		r = b.Serving().RateAt(at)
	case c.known:
		r = c.serving.RateAt(at)
	}
	if c.opts.PriceInput != nil {
		r.Input = *c.opts.PriceInput
	}
	if c.opts.PriceOutput != nil {
		r.Output = *c.opts.PriceOutput
	}
	return r
}

// noteVersion warns once per answering model that is not the one asked
// for: Google re-routes retired models and bills the new one's rates.
func (c *Classifier) noteVersion(v string) {
	if v == "" || sameModel(c.opts.Model, v) {
		return
	}
	c.mu.Lock()
	seen := c.versions[v]
	c.versions[v] = true
	c.mu.Unlock()
	if seen {
		return
	}
	priced := "costs use the configured gemini.price_* values"
	if c.opts.PriceInput == nil || c.opts.PriceOutput == nil {
		if b, ok := billedModel(v); ok {
			priced = "costs use " + b.Serving().ID + "'s list price"
		} else if c.known {
			priced = v + " is not in verdict's table, so costs use " + c.serving.ID + "'s list price"
		} else {
			priced = "neither model is in verdict's table"
		}
	}
	c.note(fmt.Sprintf("gemini answered with model %s although %s was requested (Google re-routes retired models and bills them at the new model's rates); %s", v, c.opts.Model, priced))
	c.log.Warn("gemini model differs from the one requested", "requested", c.opts.Model, "model_version", v)
}

// sameModel reports whether modelVersion names the requested model, or a
// version of it ("gemini-3.8-flash-002"), and not another model whose id
// merely starts the same ("gemini-2.5-flash-lite" is not 2.5 Flash).
func sameModel(requested, version string) bool {
	requested = strings.ToLower(strings.TrimPrefix(requested, "models/"))
	version = strings.ToLower(strings.TrimPrefix(version, "models/"))
	if b, ok := billedModel(version); ok {
		return b.ID == requested
	}
	return version == requested || strings.HasPrefix(version, requested+"-")
}

// techniques keeps the model's ATT&CK ids that exist in the matrix, maps
// revoked ones to their replacement, and warns once per run about each id
// it maps or drops.
func (c *Classifier) techniques(cs classify.Case, ids []string) []string {
	kept, changed := classify.Techniques(ids)
	for _, r := range changed {
		c.mu.Lock()
		seen := c.dropped[r.Input]
		c.dropped[r.Input] = true
		c.mu.Unlock()
		if !seen {
			c.log.Warn("model technique id", "alert_id", cs.AlertID, "problem", r.Warning())
		}
	}
	return kept
}

func (c *Classifier) note(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notes = append(c.notes, s)
}

// Notes implements classify.Noter.
func (c *Classifier) Notes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.notes)
}

// Rough thinking tokens per request for a dry run: Google publishes no
// figures per level, so these are the order of magnitude seen in usage
// metadata for short classification prompts.
var levelThoughts = map[string]int{"minimal": 0, "low": 256, "medium": 1024, "high": 4096}

// Estimate implements classify.Estimator: prompt tokens at four characters
// each, 160 output tokens, thinking by level or budget, priced today at
// the tier used (batch: half).
func (c *Classifier) Estimate(cs classify.Case, batch bool) model.Classification {
	p, _, err := c.prompt(cs)
	if err != nil {
		return model.Classification{}
	}
	e := model.Classification{PromptTokens: (len(p.System) + len(p.User) + 3) / 4, OutputTokens: 160}
	switch {
	case !c.known:
	case c.serving.Thinking == ThinkingLevel:
		e.ThoughtTokens = levelThoughts[c.level]
	case c.opts.ThinkingBudget > 0:
		e.ThoughtTokens = c.opts.ThinkingBudget
	case c.opts.ThinkingBudget < 0:
		e.ThoughtTokens = 1024
	}
	tier := c.tier
	if batch {
		tier = TierBatch
	}
	e.CostUSD = c.rate("", c.opts.Now()).Cost(e.PromptTokens, e.OutputTokens, e.ThoughtTokens) * tier.Discount()
	return e
}

// mapError reads the SDK's error (a genai.APIError value, not a pointer).
func mapError(err error) error {
	var ae genai.APIError
	if !errors.As(err, &ae) {
		return fmt.Errorf("gemini: %w", err) // transport: timeouts, resets
	}
	msg := strings.Join(strings.Fields(ae.Message), " ")
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	switch {
	case ae.Code == http.StatusBadRequest && hasReason(ae.Details, "API_KEY_INVALID"),
		ae.Code == http.StatusUnauthorized, ae.Code == http.StatusForbidden:
		return fmt.Errorf("gemini rejected the API key (%d %s): %w", ae.Code, ae.Status, classify.ErrKeyRejected)
	case ae.Code == http.StatusTooManyRequests:
		return &classify.RateLimitError{RetryAfter: retryDelay(ae.Details), Detail: msg}
	case ae.Code >= 500:
		return &classify.TransientError{Code: ae.Code, Detail: strings.TrimSpace(ae.Status + " " + msg)}
	}
	return fmt.Errorf("gemini: HTTP %d %s: %s", ae.Code, ae.Status, msg)
}

func hasReason(details []map[string]any, reason string) bool {
	for _, d := range details {
		if r, _ := d["reason"].(string); r == reason {
			return true
		}
	}
	return false
}

// retryDelay reads google.rpc.RetryInfo ("26s", "0.5s"); 0 if absent.
func retryDelay(details []map[string]any) time.Duration {
	for _, d := range details {
		if d["@type"] == "type.googleapis.com/google.rpc.RetryInfo" {
			if s, ok := d["retryDelay"].(string); ok {
				if dur, err := time.ParseDuration(s); err == nil && dur > 0 {
					return dur
				}
			}
		}
	}
	return 0
}
