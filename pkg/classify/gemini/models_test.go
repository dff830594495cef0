package gemini_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/attack"
	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/classify"
	"github.com/verdict-dev/verdict/pkg/classify/gemini"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
)

// syncBuffer is a log sink the classifier's goroutines may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestModelTable(t *testing.T) {
	t.Parallel()
	rows := gemini.Models()
	require.NotEmpty(t, rows)
	assert.Equal(t, gemini.DefaultModel, rows[0].ID, "the default comes first")
	assert.Equal(t, gemini.DefaultModel, gemini.CurrentModels()[0])
	seen := map[string]bool{}
	for _, m := range rows {
		t.Run(m.ID, func(t *testing.T) {
			assert.False(t, seen[m.ID], "listed twice")
			seen[m.ID] = true
			assert.NotEmpty(t, m.Source, "every row says where it comes from")
			require.NotEmpty(t, m.Rates)
			assert.True(t, m.Rates[0].From.IsZero(), "the first rate holds since release")
			for i := 1; i < len(m.Rates); i++ {
				assert.True(t, m.Rates[i].From.After(m.Rates[i-1].From), "rates are in date order")
			}
			for _, d := range []string{m.Released, m.Shutdown} {
				if d != "" {
					_, err := time.Parse(time.DateOnly, d)
					assert.NoError(t, err)
				}
			}
			switch m.Thinking {
			case gemini.ThinkingLevel:
				assert.NotEmpty(t, m.Levels)
				assert.Contains(t, m.Levels, m.DefaultLevel)
				assert.False(t, m.Temperature, "3.x models ignore temperature")
			case gemini.ThinkingBudget:
				assert.Empty(t, m.Levels)
				assert.Positive(t, m.BudgetMax)
			default:
				t.Errorf("no thinking control")
			}
			if m.Status == gemini.StatusRetired {
				assert.NotContains(t, gemini.CurrentModels(), m.ID)
				assert.NotEmpty(t, m.Shutdown)
			}
			got, ok := gemini.LookupModel("models/" + strings.ToUpper(m.ID))
			assert.True(t, ok)
			assert.Equal(t, m.ID, got.ID)
		})
	}
	retired, ok := gemini.LookupModel("gemini-2.5-flash")
	require.True(t, ok)
	assert.Equal(t, gemini.StatusRetired, retired.Status)
	assert.Equal(t, "gemini-3.5-flash-lite", retired.Serving().ID, "re-routed, and run under the new model's rules")
	flash38, _ := gemini.LookupModel("gemini-3.8-flash")
	assert.NotContains(t, flash38.Levels, "minimal", "3.8 Flash answers minimal with a 400")
}

// 3.8 Flash doubles its price on 2027-01-01: a request is priced by the
// date it is made, from the injected clock.
func Test38FlashPricedByDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		at      time.Time
		in, out float64
	}{
		{name: "last minute of 2026", at: time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC), in: 0.75, out: 3.75},
		{name: "first second of 2027", at: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), in: 1.50, out: 7.50},
		{name: "new year already in UTC, not yet in New York", at: time.Date(2026, 12, 31, 21, 0, 0, 0, time.FixedZone("EST", -5*3600)), in: 1.50, out: 7.50},
		{name: "months later", at: time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC), in: 1.50, out: 7.50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := inteltest.NewGemini(t, key)
			fake.Reply = func(inteltest.GeminiRequest, int) inteltest.GeminiReply {
				return inteltest.GeminiReply{PromptTokens: 2000, OutputTokens: 300, ThoughtTokens: 700}
			}
			c := newClassifier(t, fake, func(o *gemini.Options) {
				o.Model = "gemini-3.8-flash"
				o.Now = func() time.Time { return tt.at }
			})
			got, err := c.Classify(context.Background(), sampleCase("P"))
			require.NoError(t, err)
			assert.InDelta(t, 2000*tt.in/1e6+1000*tt.out/1e6, got.CostUSD, 1e-12)
			est := c.Estimate(sampleCase("P"), false)
			assert.InDelta(t, float64(est.PromptTokens)*tt.in/1e6+float64(est.OutputTokens+est.ThoughtTokens)*tt.out/1e6, est.CostUSD, 1e-12,
				"the dry run prices by the same date")
		})
	}
}

// The acceptance cases of issue 10: a level model gets thinkingLevel and
// never thinkingBudget, a budget model the opposite, an unknown model
// neither (with one warning); temperature only where it means something.
func TestThinkingPerModel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		model     string
		level     string
		budget    int
		want      map[string]any // thinkingConfig; nil: not sent
		wantTemp  bool
		wantWarn  string
		wantParam string
	}{
		{name: "happy path: the default model, default level", model: "gemini-3.5-flash-lite",
			want: map[string]any{"thinkingLevel": "LOW"}, wantParam: "|level=low"},
		{name: "happy path: level model, minimal", model: "gemini-3.5-flash-lite", level: "minimal",
			want: map[string]any{"thinkingLevel": "MINIMAL"}},
		{name: "happy path: 3.8 Flash, high", model: "gemini-3.8-flash", level: "HIGH",
			want: map[string]any{"thinkingLevel": "HIGH"}, wantParam: "|level=high"},
		{name: "level model ignores a budget, and says so", model: "gemini-3.6-flash", level: "medium", budget: 2048,
			want: map[string]any{"thinkingLevel": "MEDIUM"}, wantWarn: "gemini.thinking_budget is not used"},
		{name: "happy path: budget model, budget set", model: "gemini-2.5-flash-lite", level: "high", budget: 1024,
			want: map[string]any{"thinkingBudget": float64(1024)}, wantTemp: true, wantParam: "|budget=1024"},
		{name: "happy path: budget model, thinking off", model: "gemini-2.5-flash-lite",
			want: map[string]any{"thinkingBudget": float64(0)}, wantTemp: true},
		{name: "happy path: budget model, dynamic", model: "gemini-2.5-flash-lite", budget: -1,
			want: map[string]any{"thinkingBudget": float64(-1)}, wantTemp: true},
		{name: "retired 2.5 Flash runs under 3.5 Flash-Lite's rules", model: "gemini-2.5-flash", budget: 1024,
			want: map[string]any{"thinkingLevel": "LOW"}, wantWarn: "retired model configured"},
		{name: "unknown model gets neither", model: "gemini-9-ultra", level: "high", budget: 4096,
			wantWarn: "model not in verdict's table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs syncBuffer
			fake := inteltest.NewGemini(t, key)
			c := newClassifier(t, fake, func(o *gemini.Options) {
				o.Model, o.ThinkingLevel, o.ThinkingBudget = tt.model, tt.level, tt.budget
				o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			for i := 0; i < 3; i++ {
				_, err := c.Classify(context.Background(), sampleCase(fmt.Sprint(i)))
				require.NoError(t, err, "the fake answers 400 to a thinking setting the model does not take")
			}
			reqs := fake.Requests()
			require.Len(t, reqs, 3)
			for _, r := range reqs {
				if tt.want == nil {
					assert.NotContains(t, r.Config, "thinkingConfig")
				} else {
					assert.Equal(t, tt.want, r.Config["thinkingConfig"])
				}
				tc, _ := r.Config["thinkingConfig"].(map[string]any)
				assert.False(t, tc["thinkingLevel"] != nil && tc["thinkingBudget"] != nil, "never both")
				_, temp := r.Config["temperature"]
				assert.Equal(t, tt.wantTemp, temp, "temperature")
			}
			if tt.wantWarn != "" {
				assert.Equal(t, 1, strings.Count(logs.String(), tt.wantWarn), "warned once, not per request:\n%s", logs.String())
			} else {
				for _, w := range []string{"not used", "retired", "not in verdict's table"} {
					assert.NotContains(t, logs.String(), w)
				}
			}
			assert.Contains(t, c.CacheParams(), tt.wantParam)
		})
	}
}

// A value the model does not take is an error naming the key, before
// anything is sent.
func TestSettingsRejectedBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    gemini.Options
		wantKey string
		wantErr string
	}{
		{name: "sad path: 3.8 Flash has no minimal", opts: gemini.Options{Model: "gemini-3.8-flash", ThinkingLevel: "minimal"},
			wantKey: "gemini.thinking_level", wantErr: `gemini.thinking_level: gemini-3.8-flash does not take "minimal"; it takes low, medium, high`},
		{name: "sad path: retired model checked against its replacement's levels", opts: gemini.Options{Model: "gemini-2.5-flash", ThinkingLevel: "extreme"},
			wantKey: "gemini.thinking_level", wantErr: `"extreme" is not one of minimal, low, medium, high`},
		{name: "sad path: budget below 2.5 Flash-Lite's minimum", opts: gemini.Options{Model: "gemini-2.5-flash-lite", ThinkingBudget: 100},
			wantKey: "gemini.thinking_budget", wantErr: `gemini-2.5-flash-lite does not take "100"; it takes -1 (dynamic), 0 (off) or 512 to 24576 tokens`},
		{name: "sad path: budget above the maximum", opts: gemini.Options{Model: "gemini-2.5-flash-lite", ThinkingBudget: 50000},
			wantKey: "gemini.thinking_budget"},
		{name: "sad path: priority tier has no price", opts: gemini.Options{Model: "gemini-3.5-flash-lite", ServiceTier: "priority"},
			wantKey: "gemini.service_tier", wantErr: `gemini.service_tier: "priority" is not one of standard, flex`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := inteltest.NewGemini(t, key)
			o := tt.opts
			o.APIKey, o.BaseURL, o.Logger = key, fake.URL+"/", quiet
			_, err := gemini.New(context.Background(), o)
			var se *gemini.SettingError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.wantKey, se.Key)
			if tt.wantErr != "" {
				assert.Contains(t, err.Error(), tt.wantErr)
			}
			assert.Empty(t, fake.Requests())
			assert.Empty(t, fake.ModelGets())
		})
	}
}

// The fake holds the real API's line: a thinking setting a model does not
// take is a 400, so the tests above can fail.
func TestFakeRefusesWrongThinking(t *testing.T) {
	t.Parallel()
	fake := inteltest.NewGemini(t, key)
	// gemini.New refuses these settings, so the requests are built by hand.
	for _, tt := range []struct{ model, level string }{{"gemini-3.8-flash", "minimal"}, {"gemini-2.5-flash-lite", "low"}} {
		status := postGenerate(t, fake, tt.model, map[string]any{"thinkingConfig": map[string]any{"thinkingLevel": strings.ToUpper(tt.level)}})
		assert.Equal(t, 400, status, "%s with %s", tt.model, tt.level)
	}
	status := postGenerate(t, fake, "gemini-3.5-flash-lite", map[string]any{"thinkingConfig": map[string]any{"thinkingLevel": "LOW", "thinkingBudget": 0}})
	assert.Equal(t, 400, status, "a level and a budget together")
	status = postGenerate(t, fake, "gemini-3.5-flash-lite", map[string]any{"thinkingConfig": map[string]any{"thinkingLevel": "LOW"}})
	assert.Equal(t, 200, status)
}

// postGenerate sends a generateContent body by hand and returns the status.
func postGenerate(t *testing.T, fake *inteltest.Gemini, model string, cfg map[string]any) int {
	t.Helper()
	body, err := json.Marshal(map[string]any{"contents": []any{map[string]any{"role": "user", "parts": []any{map[string]any{"text": "hi"}}}}, "generationConfig": cfg})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, fake.URL+"/v1beta/models/"+model+":generateContent", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("x-goog-api-key", key)
	resp, err := fake.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// Flex bills half of standard for the same usage, and only flex requests
// carry serviceTier.
func TestFlexCostIsHalfOfStandard(t *testing.T) {
	t.Parallel()
	cost := map[string]float64{}
	for _, tier := range []string{"standard", "flex"} {
		fake := inteltest.NewGemini(t, key)
		fake.Reply = func(inteltest.GeminiRequest, int) inteltest.GeminiReply {
			return inteltest.GeminiReply{PromptTokens: 1200, OutputTokens: 150, ThoughtTokens: 250}
		}
		c := newClassifier(t, fake, func(o *gemini.Options) { o.ServiceTier = tier })
		r := runnerWith(t, c, cache.Nop{}, nil)
		res := classifyAll(t, r, []classify.Case{sampleCase("1"), sampleCase("2")})
		require.Equal(t, "gemini", res[0].Source)
		cost[tier] = r.Stats().CostUSD
		for _, req := range fake.Requests() {
			if tier == "flex" {
				assert.Equal(t, "flex", req.ServiceTier, "flex is asked for on every request")
			} else {
				assert.Empty(t, req.ServiceTier)
			}
		}
		assert.Equal(t, gemini.Tier(tier), c.Tier())
	}
	assert.InDelta(t, 1200*0.30/1e6+400*2.50/1e6, cost["standard"], 1e-12, "one request: alerts 1 and 2 differ only in ids")
	assert.InDelta(t, cost["standard"]/2, cost["flex"], 1e-12)
}

// The model check: once per run, from the cache for a day, and a 404
// stops the run before any generateContent with the current models named.
func TestModelCheck(t *testing.T) {
	t.Parallel()
	t.Run("sad path: 404 stops before any generateContent", func(t *testing.T) {
		t.Parallel()
		fake := inteltest.NewGemini(t, key)
		fake.ModelStatus = func(string) int { return 404 }
		r := runner(t, fake, "gemini-2.5-flash", cache.NewMemory(nil), nil)
		r.Add(sampleCase("1"))
		err := r.Run(context.Background(), classify.CasesOf(sampleCase("1")))
		require.ErrorIs(t, err, classify.ErrModelNotFound)
		assert.Contains(t, err.Error(), `gemini model "gemini-2.5-flash" does not exist (it was shut down on 2026-12-01)`)
		assert.Contains(t, err.Error(), "set gemini.model to a current model: gemini-3.5-flash-lite (the default), gemini-3.8-flash")
		assert.Empty(t, fake.Requests())
		assert.Equal(t, []string{"gemini-2.5-flash"}, fake.ModelGets())
		require.ErrorIs(t, r.Run(context.Background(), classify.CasesOf(sampleCase("1"))), classify.ErrModelNotFound, "and stays stopped")
		assert.Len(t, fake.ModelGets(), 1, "checked once per run")
	})
	t.Run("happy path: checked once, then cached for a day", func(t *testing.T) {
		t.Parallel()
		fake := inteltest.NewGemini(t, key)
		now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
		mem := cache.NewMemory(func() time.Time { return now })
		for i := 0; i < 3; i++ {
			r := runner(t, fake, gemini.DefaultModel, mem, nil)
			classifyAll(t, r, []classify.Case{sampleCase(fmt.Sprint(i))})
			require.NoError(t, r.Check(context.Background()))
		}
		assert.Equal(t, []string{gemini.DefaultModel}, fake.ModelGets(), "three runs within a day: one models.get")
		now = now.Add(gemini.ModelCheckTTL + time.Minute)
		classifyAll(t, runner(t, fake, gemini.DefaultModel, mem, nil), []classify.Case{sampleCase("later")})
		assert.Len(t, fake.ModelGets(), 2, "a day later it is checked again")
	})
	t.Run("a failing check is only a warning", func(t *testing.T) {
		t.Parallel()
		fake := inteltest.NewGemini(t, key)
		fake.ModelStatus = func(string) int { return 503 }
		res := classifyAll(t, runner(t, fake, gemini.DefaultModel, cache.Nop{}, nil), []classify.Case{sampleCase("1")})
		assert.Equal(t, "gemini", res[0].Source)
		assert.Len(t, fake.Requests(), 1)
	})
	t.Run("a 404 is never cached", func(t *testing.T) {
		t.Parallel()
		fake := inteltest.NewGemini(t, key)
		missing := true
		fake.ModelStatus = func(string) int {
			if missing {
				return 404
			}
			return 200
		}
		mem := cache.NewMemory(nil)
		r := runner(t, fake, "gemini-3.9-flash", mem, nil)
		require.ErrorIs(t, r.Check(context.Background()), classify.ErrModelNotFound)
		missing = false
		r = runner(t, fake, "gemini-3.9-flash", mem, nil)
		require.NoError(t, r.Check(context.Background()))
	})
}

// Technique ids from the model are checked against ATT&CK v18.1: a valid
// one is kept, a revoked one is mapped to its replacement, an unknown and a
// malformed one are dropped with a warning.
func TestTechniqueIDsAgainstTheMatrix(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	fake := inteltest.NewGemini(t, key)
	fake.Reply = func(inteltest.GeminiRequest, int) inteltest.GeminiReply {
		return inteltest.GeminiReply{Text: `{"classification":"TRUE_POSITIVE","confidence":80,"reasons":["a","b","c"],"next_step":"x",
			"mitre_techniques":["T1059.001","T1073","T9999","<script>alert(1)</script>\nlevel=ERROR msg=forged","t1059.001 ","T1043"]}`}
	}
	c := newClassifier(t, fake, func(o *gemini.Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	got, err := c.Classify(context.Background(), sampleCase("T"))
	require.NoError(t, err)
	replacement := attack.Resolve("T1073").Technique.ID
	require.Equal(t, "T1574.001", replacement, "T1073 DLL Side-Loading → T1574.002 → T1574.001 in v18.1")
	assert.Equal(t, []string{"T1059.001", replacement}, got.Techniques, "valid kept, revoked mapped, the rest dropped, no duplicates")
	out := logs.String()
	for _, want := range []string{"T1073 (DLL Side-Loading) is revoked; using T1574.001", "T9999 is not a technique in ATT&CK Enterprise v18.1; dropped",
		"is not an ATT&CK technique id; dropped", "T1043 (Commonly Used Port) is deprecated"} {
		assert.Contains(t, out, want)
	}
	assert.Equal(t, 4, strings.Count(out, "\n"), "four warnings, one line each: a model's id cannot forge a log line\n%s", out)
	assert.NotContains(t, out, "\nlevel=ERROR")
	_, err = c.Classify(context.Background(), sampleCase("T2"))
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(logs.String(), "T9999"), "each id is warned about once per run")
}

// --dry-run prices with the table, at the tier used.
func TestEstimate(t *testing.T) {
	t.Parallel()
	fake := inteltest.NewGemini(t, key)
	std := newClassifier(t, fake, nil)
	flex := newClassifier(t, fake, func(o *gemini.Options) { o.ServiceTier = "flex" })
	budget := newClassifier(t, fake, func(o *gemini.Options) { o.Model = "gemini-2.5-flash-lite"; o.ThinkingBudget = 2048 })
	unknown := newClassifier(t, fake, withModel("gemini-9-ultra"))
	c := sampleCase("E")
	e := std.Estimate(c, false)
	assert.Positive(t, e.PromptTokens)
	assert.Equal(t, 160, e.OutputTokens)
	assert.Equal(t, 256, e.ThoughtTokens, "level low")
	assert.InDelta(t, float64(e.PromptTokens)*0.30/1e6+float64(160+256)*2.50/1e6, e.CostUSD, 1e-12)
	assert.InDelta(t, e.CostUSD/2, flex.Estimate(c, false).CostUSD, 1e-12, "flex: half")
	assert.InDelta(t, e.CostUSD/2, std.Estimate(c, true).CostUSD, 1e-12, "batch: half")
	assert.Equal(t, 2048, budget.Estimate(c, false).ThoughtTokens)
	assert.Zero(t, unknown.Estimate(c, false).CostUSD, "no price known")
	assert.Empty(t, fake.Requests(), "an estimate sends nothing")
	assert.Empty(t, fake.ModelGets())

	r := runnerWith(t, std, cache.Nop{}, nil)
	r.Add(c)
	r.Add(sampleCase("E2")) // same fingerprint
	est := r.Estimate(context.Background(), classify.CasesOf(c, sampleCase("E2")))
	assert.Equal(t, 2, est.Alerts)
	assert.Equal(t, 1, est.Requests)
	assert.InDelta(t, e.CostUSD, est.CostUSD, 1e-12)
}

// The classifier satisfies the optional interfaces the runner looks for.
func TestClassifierInterfaces(t *testing.T) {
	t.Parallel()
	var cl classify.Classifier = newClassifier(t, inteltest.NewGemini(t, key), nil)
	for name, ok := range map[string]bool{
		"Checker": is[classify.Checker](cl), "Estimator": is[classify.Estimator](cl),
		"Noter": is[classify.Noter](cl), "BatchClassifier": is[classify.BatchClassifier](cl),
	} {
		assert.True(t, ok, name)
	}
	assert.Equal(t, "gemini", cl.Name())
	assert.True(t, strings.HasPrefix(cl.CacheParams(), gemini.DefaultModel+"|"+gemini.PromptVersion))
	assert.False(t, slices.Contains(strings.Split(cl.CacheParams(), "|"), key))
}

func is[T any](v any) bool {
	_, ok := v.(T)
	return ok
}
