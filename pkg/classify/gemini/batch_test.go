package gemini_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/classify"
	"github.com/verdict-dev/verdict/pkg/classify/gemini"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
)

// batchCases are n alerts in n groups, plus one that differs from the first
// only in its id and timestamp.
func batchCases(n int) []classify.Case {
	var cs []classify.Case
	for i := 0; i < n; i++ {
		c := sampleCase(fmt.Sprint(i))
		c.Raw = json.RawMessage(fmt.Sprintf(`{"id":"B%d","@timestamp":"2026-12-03T01:00:00Z","rule":"rule %d","dst":"185.220.101.45"}`, i, i))
		cs = append(cs, c)
	}
	dup := sampleCase("dup")
	dup.Raw = json.RawMessage(`{"id":"B-dup","@timestamp":"2026-12-03T05:00:00Z","rule":"rule 0","dst":"185.220.101.45"}`)
	return append(cs, dup)
}

func batchRunner(t *testing.T, fake *inteltest.Gemini, c cache.Cache, mutate func(*classify.Options)) *classify.Runner {
	t.Helper()
	cl := newClassifier(t, fake, func(o *gemini.Options) {
		o.Cache = c
		o.Now = func() time.Time { return time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC) }
	})
	return runnerWith(t, cl, c, func(o *classify.Options) {
		o.Batch = true
		if mutate != nil {
			mutate(o)
		}
	})
}

func TestBatchHappyPath(t *testing.T) {
	t.Parallel()
	fake := inteltest.NewGemini(t, key)
	fake.BatchPolls = 2
	fake.Reply = func(inteltest.GeminiRequest, int) inteltest.GeminiReply {
		return inteltest.GeminiReply{Text: inteltest.ValidAnswer("NEEDS_REVIEW", 60), PromptTokens: 1000, OutputTokens: 100, ThoughtTokens: 100}
	}
	mem := cache.NewMemory(nil)
	r := batchRunner(t, fake, mem, nil)
	require.True(t, r.Batch())
	cases := batchCases(3)
	res := classifyAll(t, r, cases)

	assert.Equal(t, []string{"create batches/fake1 (3 requests)", "get batches/fake1", "get batches/fake1", "get batches/fake1"}, fake.BatchCalls(),
		"one job with one inline request per distinct alert, polled until it ends")
	reqs := fake.Requests()
	require.Len(t, reqs, 3)
	for _, req := range reqs {
		assert.Equal(t, "batches/fake1", req.Batch)
		assert.Equal(t, gemini.DefaultModel, req.Model)
		assert.Contains(t, req.System, "untrusted data", "the system instruction travels inside each request")
		assert.Equal(t, map[string]any{"thinkingLevel": "LOW"}, req.Config["thinkingConfig"])
		assert.Empty(t, req.ServiceTier, "a batch is its own tier")
	}
	perRequest := (1000*0.30/1e6 + 200*2.50/1e6) / 2
	st := r.Stats()
	assert.Equal(t, 3, st.Requests)
	assert.InDelta(t, 3*perRequest, st.CostUSD, 1e-12, "batch bills half the list price")
	sum := 0.0
	for i, c := range res {
		assert.Equal(t, "gemini", c.Source, "alert %d", i)
		assert.Equal(t, classify.NeedsReview, c.Label)
		assert.Equal(t, []string{"T1071.001"}, c.Techniques)
		sum += c.CostUSD
	}
	assert.InDelta(t, st.CostUSD, sum, 1e-12, "per-alert costs add up; the duplicate shares its group's answer at no cost")
	assert.Zero(t, res[3].CostUSD)

	r2 := batchRunner(t, fake, mem, nil)
	res2 := classifyAll(t, r2, cases)
	assert.Len(t, fake.BatchCalls(), 4, "a rerun is answered from the cache: no new job")
	assert.Equal(t, "cache", res2[0].Source)
	assert.Equal(t, 3, r2.Stats().CacheHits)
}

func TestBatchFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		end       string
		reply     func(n int) inteltest.GeminiReply
		wantSrc   []string
		wantWhy   string
		wantNote  string
		wantCalls int
	}{
		{name: "sad path: the job fails", end: "BATCH_STATE_FAILED", wantSrc: []string{"heuristic", "heuristic", "heuristic"},
			wantWhy: "model_failed: batch job batches/fake1 ended JOB_STATE_FAILED", wantNote: "batch job failed"},
		{name: "sad path: the job expires", end: "BATCH_STATE_EXPIRED", wantSrc: []string{"heuristic", "heuristic", "heuristic"},
			wantWhy: "JOB_STATE_EXPIRED"},
		{name: "one request fails, the others stand", reply: func(n int) inteltest.GeminiReply {
			if n == 2 {
				return inteltest.GeminiReply{Status: 500, ErrStatus: "INTERNAL"}
			}
			return inteltest.GeminiReply{}
		}, wantSrc: []string{"gemini", "heuristic", "gemini"}, wantWhy: "model_failed: batch request failed (code 500)"},
		{name: "an answer that does not validate falls back, not retried at full price", reply: func(n int) inteltest.GeminiReply {
			if n == 3 {
				return inteltest.GeminiReply{Text: `{"classification":"MAYBE"}`}
			}
			return inteltest.GeminiReply{}
		}, wantSrc: []string{"gemini", "gemini", "heuristic"}, wantWhy: `classification "MAYBE" is not one of`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := inteltest.NewGemini(t, key)
			fake.BatchEnd = tt.end
			if tt.reply != nil {
				fake.Reply = func(_ inteltest.GeminiRequest, n int) inteltest.GeminiReply { return tt.reply(n) }
			}
			r := batchRunner(t, fake, cache.Nop{}, nil)
			res := classifyAll(t, r, batchCases(3)[:3])
			var why []string
			for i, c := range res {
				assert.Equal(t, tt.wantSrc[i], c.Source, "alert %d", i)
				assert.Len(t, c.Reasoning, 3)
				why = append(why, c.Why)
			}
			assert.Contains(t, strings.Join(why, " | "), tt.wantWhy)
			if tt.wantNote != "" {
				assert.Contains(t, strings.Join(r.Notes(), " "), tt.wantNote)
			}
			assert.Len(t, fake.Requests(), 3, "nothing is asked again outside the batch")
		})
	}
}

// Ctrl-C while the job runs cancels it: its answers would be lost anyway.
func TestBatchCancelledOnInterrupt(t *testing.T) {
	t.Parallel()
	fake := inteltest.NewGemini(t, key)
	fake.BatchPolls = 1 << 30 // never ends by itself
	ctx, cancel := context.WithCancel(context.Background())
	r := batchRunner(t, fake, cache.Nop{}, nil)
	cases := batchCases(2)
	for _, c := range cases {
		r.Add(c)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, classify.CasesOf(cases...)) }()
	require.Eventually(t, func() bool { return len(fake.BatchCalls()) >= 3 }, 5*time.Second, time.Millisecond, "created and polled")
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	calls := fake.BatchCalls()
	assert.Equal(t, "cancel batches/fake1", calls[len(calls)-1])
}

// The budget decides what goes into the batch, by estimate: a job cannot be
// stopped half way.
func TestBatchWithinBudget(t *testing.T) {
	t.Parallel()
	fake := inteltest.NewGemini(t, key)
	cl := newClassifier(t, fake, nil)
	cases := batchCases(4)[:4]
	perCase := cl.Estimate(cases[0], true).CostUSD
	require.Positive(t, perCase)
	r := batchRunner(t, fake, cache.Nop{}, func(o *classify.Options) { o.MaxCostUSD = 2.5 * perCase })
	res := classifyAll(t, r, cases)
	assert.Equal(t, []string{"create batches/fake1 (2 requests)", "get batches/fake1", "get batches/fake1"}, fake.BatchCalls())
	srcs := []string{res[0].Source, res[1].Source, res[2].Source, res[3].Source}
	assert.Equal(t, []string{"gemini", "gemini", "heuristic", "heuristic"}, srcs)
	assert.Equal(t, classify.WhyBudget, res[3].Why)
	assert.Contains(t, strings.Join(r.Notes(), " "), "gemini.max_cost_usd")
}

// A model that does not exist stops a batch run before the job is created.
func TestBatchModelCheckFirst(t *testing.T) {
	t.Parallel()
	fake := inteltest.NewGemini(t, key)
	fake.ModelStatus = func(string) int { return 404 }
	r := batchRunner(t, fake, cache.Nop{}, nil)
	r.Add(sampleCase("1"))
	require.ErrorIs(t, r.Run(context.Background(), classify.CasesOf(sampleCase("1"))), classify.ErrModelNotFound)
	assert.Empty(t, fake.BatchCalls())
}
