package classify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/model"
)

// scripted is a Classifier that answers from a script: the runner must work
// with any model, so none of these tests touch Gemini.
type scripted struct {
	params   string
	checkErr error
	answer   func(n int, c Case) (model.Classification, error)

	mu     sync.Mutex
	calls  int
	checks int
}

func (s *scripted) Name() string        { return "scripted" }
func (s *scripted) Model() string       { return "script-1" }
func (s *scripted) CacheParams() string { return s.params }
func (s *scripted) Notes() []string     { return []string{"a note from the classifier"} }

func (s *scripted) Check(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks++
	return s.checkErr
}

func (s *scripted) Classify(_ context.Context, c Case) (model.Classification, error) {
	s.mu.Lock()
	s.calls++
	n := s.calls
	s.mu.Unlock()
	return s.answer(n, c)
}

func (s *scripted) Estimate(Case, bool) model.Classification {
	return model.Classification{PromptTokens: 100, OutputTokens: 10, CostUSD: 0.5}
}

func good(tokens int) model.Classification {
	return model.Classification{Label: TruePositive, Confidence: 80, Reasoning: []string{"a", "b", "c"}, Source: "scripted",
		Model: "script-1", ModelVersion: "script-1-002", PromptTokens: tokens, OutputTokens: 1, CostUSD: float64(tokens) / 1000}
}

func caseN(i int) Case {
	return Case{AlertID: fmt.Sprint(i), Pos: fmt.Sprintf("f#%d", i), Raw: json.RawMessage(fmt.Sprintf(`{"rule":"r%d"}`, i)), Risk: model.Risk{Verdict: model.Clean}}
}

func runAll(t *testing.T, r *Runner, cs ...Case) []*model.Classification {
	t.Helper()
	for _, c := range cs {
		r.Add(c)
	}
	require.NoError(t, r.Run(context.Background(), CasesOf(cs...)))
	var out []*model.Classification
	for _, c := range cs {
		out = append(out, r.Result(c))
	}
	return out
}

func newScripted(s *scripted, c cache.Cache, mutate func(*Options)) *Runner {
	o := Options{Classifier: s, Cache: c, Concurrency: 1, MaxRetries: 1, BackoffBase: time.Millisecond, KeyHint: "script.api_key",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mutate != nil {
		mutate(&o)
	}
	return NewRunner(o)
}

func TestRunnerWithAnyClassifier(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		answer    func(n int, c Case) (model.Classification, error)
		wantCalls int
		wantSrc   string
		wantWhy   string
		wantTok   int
	}{
		{name: "happy path", answer: func(int, Case) (model.Classification, error) { return good(10), nil },
			wantCalls: 1, wantSrc: "scripted", wantTok: 10},
		{name: "an answer error is asked once more, and both attempts are billed", answer: func(n int, _ Case) (model.Classification, error) {
			if n == 1 {
				return model.Classification{PromptTokens: 7, CostUSD: 0.007}, &AnswerError{Problem: "not JSON"}
			}
			return good(10), nil
		}, wantCalls: 2, wantSrc: "scripted", wantTok: 17},
		{name: "a final answer error is not asked again", answer: func(int, Case) (model.Classification, error) {
			return model.Classification{PromptTokens: 7}, &AnswerError{Problem: "refused", Final: true}
		}, wantCalls: 1, wantSrc: SourceHeuristic, wantWhy: "model_failed: refused", wantTok: 7},
		{name: "two answer errors fall back with the last problem", answer: func(n int, _ Case) (model.Classification, error) {
			return model.Classification{PromptTokens: 5}, &AnswerError{Problem: fmt.Sprintf("problem %d", n)}
		}, wantCalls: 2, wantSrc: SourceHeuristic, wantWhy: "model_failed: problem 2", wantTok: 10},
		{name: "a transient error is retried by the call policy", answer: func(n int, _ Case) (model.Classification, error) {
			if n == 1 {
				return model.Classification{}, &TransientError{Code: 503}
			}
			return good(3), nil
		}, wantCalls: 2, wantSrc: "scripted", wantTok: 3},
		{name: "a classifier's answer outside the schema is refused like a bad answer", answer: func(n int, _ Case) (model.Classification, error) {
			c := good(4)
			c.Label = "PROBABLY_FINE"
			return c, nil
		}, wantCalls: 2, wantSrc: SourceHeuristic, wantWhy: `model_failed: classification "PROBABLY_FINE" is not one of TRUE_POSITIVE, FALSE_POSITIVE, NEEDS_REVIEW`, wantTok: 8},
		{name: "any other error falls back at once", answer: func(int, Case) (model.Classification, error) {
			return model.Classification{}, errors.New("HTTP 400 INVALID_ARGUMENT")
		}, wantCalls: 1, wantSrc: SourceHeuristic, wantWhy: "model_failed: HTTP 400 INVALID_ARGUMENT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &scripted{params: "p1", answer: tt.answer}
			r := newScripted(s, cache.Nop{}, nil)
			res := runAll(t, r, caseN(1))
			assert.Equal(t, tt.wantCalls, s.calls)
			assert.Equal(t, tt.wantSrc, res[0].Source)
			assert.Equal(t, tt.wantWhy, res[0].Why)
			assert.Equal(t, tt.wantTok, res[0].PromptTokens)
			assert.Equal(t, tt.wantTok, r.Stats().PromptTokens)
			assert.Equal(t, 1, s.checks, "checked once before the first request")
			assert.Equal(t, "script-1", r.Stats().Model)
			assert.Contains(t, r.Notes(), "a note from the classifier")
		})
	}
}

func TestRunnerCheck(t *testing.T) {
	t.Parallel()
	t.Run("sad path: model not found stops the run", func(t *testing.T) {
		t.Parallel()
		s := &scripted{checkErr: fmt.Errorf("%w: no such model", ErrModelNotFound), answer: func(int, Case) (model.Classification, error) { return good(1), nil }}
		r := newScripted(s, cache.Nop{}, nil)
		r.Add(caseN(1))
		require.ErrorIs(t, r.Run(context.Background(), CasesOf(caseN(1))), ErrModelNotFound)
		require.ErrorIs(t, r.Check(context.Background()), ErrModelNotFound)
		assert.Zero(t, s.calls)
		assert.Equal(t, 1, s.checks)
	})
	t.Run("sad path: a rejected key turns the model off", func(t *testing.T) {
		t.Parallel()
		s := &scripted{checkErr: fmt.Errorf("x: %w", ErrKeyRejected), answer: func(int, Case) (model.Classification, error) { return good(1), nil }}
		r := newScripted(s, cache.Nop{}, nil)
		res := runAll(t, r, caseN(1), caseN(2))
		assert.Zero(t, s.calls)
		for _, c := range res {
			assert.Equal(t, SourceHeuristic, c.Source)
			assert.Contains(t, c.Why, "check script.api_key")
		}
		assert.Contains(t, strings.Join(r.Notes(), " "), "scripted rejected the API key; check script.api_key")
	})
	t.Run("a failing check is a warning", func(t *testing.T) {
		t.Parallel()
		s := &scripted{checkErr: errors.New("connection reset"), answer: func(int, Case) (model.Classification, error) { return good(1), nil }}
		res := runAll(t, newScripted(s, cache.Nop{}, nil), caseN(1))
		assert.Equal(t, "scripted", res[0].Source)
	})
	t.Run("nothing to ask, nothing checked", func(t *testing.T) {
		t.Parallel()
		s := &scripted{answer: func(int, Case) (model.Classification, error) { return good(1), nil }}
		require.NoError(t, newScripted(s, cache.Nop{}, nil).Run(context.Background(), CasesOf()))
		assert.Zero(t, s.checks)
	})
}

// The cache key is the classifier's: a different model or setting is a
// different question, and a cached answer costs nothing.
func TestRunnerCachesUnderTheClassifiersParams(t *testing.T) {
	t.Parallel()
	mem := cache.NewMemory(nil)
	a := &scripted{params: "model-a|p1", answer: func(int, Case) (model.Classification, error) { return good(10), nil }}
	runAll(t, newScripted(a, mem, nil), caseN(1))
	again := &scripted{params: "model-a|p1", answer: func(int, Case) (model.Classification, error) { return good(10), nil }}
	res := runAll(t, newScripted(again, mem, nil), caseN(1))
	assert.Zero(t, again.calls)
	assert.Equal(t, SourceCache, res[0].Source)
	assert.Zero(t, res[0].CostUSD)
	assert.Equal(t, "script-1-002", res[0].ModelVersion)
	other := &scripted{params: "model-b|p1", answer: func(int, Case) (model.Classification, error) { return good(10), nil }}
	runAll(t, newScripted(other, mem, nil), caseN(1))
	assert.Equal(t, 1, other.calls)
}

func TestRunnerEstimateUsesTheClassifier(t *testing.T) {
	t.Parallel()
	s := &scripted{answer: func(int, Case) (model.Classification, error) { return good(1), nil }}
	r := newScripted(s, cache.Nop{}, nil)
	for i := 0; i < 3; i++ {
		r.Add(caseN(i))
	}
	e := r.Estimate(context.Background(), CasesOf(caseN(0), caseN(1), caseN(2)))
	assert.Equal(t, Estimate{Alerts: 3, Groups: 3, Requests: 3, PromptTokens: 300, OutputTokens: 30, CostUSD: 1.5}, e)
	assert.Zero(t, s.calls)
	assert.False(t, r.Batch(), "batch only with a BatchClassifier")
	heur := NewRunner(Options{Why: WhyNoKey})
	heur.Add(caseN(1))
	assert.Equal(t, Estimate{Alerts: 1, Groups: 1}, heur.Estimate(context.Background(), CasesOf(caseN(1))))
}
