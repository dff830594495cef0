// Package gemini asks Google's Gemini for an alert classification through
// the official google.golang.org/genai SDK, with structured output, and
// turns the SDK's errors into ones the classification runner can act on.
package gemini

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"text/template"
	"time"

	"google.golang.org/genai"

	"github.com/verdict-dev/verdict/pkg/classify"
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

// Options configures a Client.
type Options struct {
	APIKey          string // passed explicitly: the SDK's own env fallback is never used
	BaseURL         string // without the API version, which the SDK appends
	Model           string
	Timeout         time.Duration // per request; the SDK's default has none
	ThinkingBudget  int           // 0 off, -1 dynamic
	MaxOutputTokens int
	HTTPClient      *http.Client
}

// Client is a classify.Generator backed by Gemini.
type Client struct {
	c    *genai.Client
	opts Options
}

var _ classify.Generator = (*Client)(nil)

// New builds a client. The key and base URL are given explicitly so that
// GOOGLE_API_KEY, GEMINI_API_KEY or GOOGLE_GEMINI_BASE_URL in the
// environment never silently change where prompts go.
func New(ctx context.Context, o Options) (*Client, error) {
	if o.APIKey == "" {
		return nil, fmt.Errorf("gemini: no API key")
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: o.Timeout, Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}}
	}
	cc := &genai.ClientConfig{
		APIKey:     o.APIKey,
		Backend:    genai.BackendGeminiAPI, // never let the environment flip it to Vertex
		HTTPClient: hc,
		HTTPOptions: genai.HTTPOptions{
			BaseURL: o.BaseURL,
			Timeout: &o.Timeout,
		},
	}
	c, err := genai.NewClient(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("gemini: %w", err)
	}
	return &Client{c: c, opts: o}, nil
}

// Model implements classify.Generator.
func (c *Client) Model() string { return c.opts.Model }

// Generate implements classify.Generator with one generateContent call.
func (c *Client) Generate(ctx context.Context, system, user string) (*classify.Answer, error) {
	gc := &genai.GenerateContentConfig{
		SystemInstruction: genai.NewContentFromText(system, genai.RoleUser),
		Temperature:       genai.Ptr[float32](0),
		CandidateCount:    1,
		ResponseMIMEType:  "application/json",
		ResponseSchema:    ResponseSchema,
		ThinkingConfig:    &genai.ThinkingConfig{ThinkingBudget: genai.Ptr(int32(c.opts.ThinkingBudget))},
	}
	if c.opts.MaxOutputTokens > 0 {
		gc.MaxOutputTokens = int32(c.opts.MaxOutputTokens)
	}
	resp, err := c.c.Models.GenerateContent(ctx, c.opts.Model, genai.Text(user), gc)
	if err != nil {
		return nil, mapError(err)
	}
	a := &classify.Answer{ModelVersion: resp.ModelVersion}
	if u := resp.UsageMetadata; u != nil {
		a.PromptTokens, a.OutputTokens, a.ThoughtTokens = int(u.PromptTokenCount), int(u.CandidatesTokenCount), int(u.ThoughtsTokenCount)
	}
	if pf := resp.PromptFeedback; pf != nil && pf.BlockReason != "" {
		a.Blocked = string(pf.BlockReason)
		return a, nil
	}
	if len(resp.Candidates) > 0 && resp.Candidates[0] != nil {
		a.FinishReason = string(resp.Candidates[0].FinishReason)
		if cont := resp.Candidates[0].Content; cont != nil {
			var b strings.Builder
			for _, p := range cont.Parts {
				if p != nil && !p.Thought {
					b.WriteString(p.Text)
				}
			}
			a.Text = b.String()
		}
	}
	return a, nil
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

// PromptFunc adapts BuildPrompt to classify.PromptBuilder.
func PromptFunc(c classify.Case, r *classify.Redactor) (string, string, error) {
	p, err := BuildPrompt(c, r)
	return p.System, p.User, err
}
