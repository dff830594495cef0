package classify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/ratelimit"
)

// fakeModel is a Classifier whose answers come from a script; it records
// when each request started.
type fakeModel struct {
	mu     sync.Mutex
	starts []time.Time
	delay  time.Duration
	answer func(n int) (model.Classification, error) // n counts calls from 1
}

func (f *fakeModel) Name() string        { return "gemini" }
func (f *fakeModel) Model() string       { return "gemini-test" }
func (f *fakeModel) CacheParams() string { return "gemini-test" }

func (f *fakeModel) Classify(ctx context.Context, _ Case) (model.Classification, error) {
	f.mu.Lock()
	f.starts = append(f.starts, time.Now())
	n := len(f.starts)
	f.mu.Unlock()
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return model.Classification{}, ctx.Err()
		}
	}
	if f.answer != nil {
		return f.answer(n)
	}
	return validAnswer(), nil
}

func (f *fakeModel) calls() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.starts...)
}

func validAnswer() model.Classification {
	return model.Classification{Label: TruePositive, Confidence: 80, Reasoning: []string{"a", "b", "c"}, NextStep: "isolate",
		Source: "gemini", PromptTokens: 100, OutputTokens: 20}
}

func policyRunner(g Classifier, o Options) *Runner {
	o.Classifier = g
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	o.KeyHint = "gemini.api_key (VERDICT_GEMINI_API_KEY)"
	return NewRunner(o)
}

// classifyCases adds n distinct alerts, runs the runner, and returns their
// classifications.
func classifyCases(t *testing.T, r *Runner, n int) []*model.Classification {
	t.Helper()
	cases := make([]Case, n)
	for i := range cases {
		cases[i] = Case{AlertID: fmt.Sprint(i), Pos: fmt.Sprintf("f#%d", i), Raw: json.RawMessage(fmt.Sprintf(`{"rule":"r%d"}`, i))}
		r.Add(cases[i])
	}
	require.NoError(t, r.Run(context.Background(), CasesOf(cases...)))
	out := make([]*model.Classification, n)
	for i, c := range cases {
		out[i] = r.Result(c)
	}
	return out
}

// A 429 pauses every request to the model, not only the one that got it
// (issue 8 item 11: the classifier now shares the engine's policy).
func TestRunner429PausesTheWholeModel(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var limitedAt time.Time
		g := &fakeModel{delay: 100 * time.Millisecond}
		g.answer = func(n int) (model.Classification, error) {
			if n == 2 {
				limitedAt = time.Now()
				return model.Classification{}, &RateLimitError{RetryAfter: 26 * time.Second, Detail: "RESOURCE_EXHAUSTED"}
			}
			return validAnswer(), nil
		}
		r := policyRunner(g, Options{Concurrency: 4})
		res := classifyCases(t, r, 8)
		for _, c := range res {
			assert.Equal(t, "gemini", c.Source)
		}
		end := limitedAt.Add(26 * time.Second)
		for _, at := range g.calls() {
			assert.False(t, at.After(limitedAt) && at.Before(end), "a request started %s into the pause", at.Sub(limitedAt))
		}
		assert.Contains(t, g.calls(), end, "requests resume when RetryInfo's delay ends")
		assert.Equal(t, 9, r.Stats().Requests)
	})
}

// Three 429s in a row despite waiting, counted across requests: the model
// is out of quota for the run and the rest get the heuristic.
func TestRunnerThree429sInARowAcrossRequests(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		g := &fakeModel{answer: func(int) (model.Classification, error) {
			return model.Classification{}, &RateLimitError{Detail: "RESOURCE_EXHAUSTED"}
		}}
		r := policyRunner(g, Options{Concurrency: 1, Rate: ratelimit.Rate{N: 10, Per: time.Minute}})
		start := time.Now()
		res := classifyCases(t, r, 5)
		assert.Len(t, g.calls(), 3, "three in a row, not three per alert")
		assert.Equal(t, 2*time.Minute, time.Since(start), "no RetryInfo: one window of 10/m per pause")
		for _, c := range res {
			assert.Equal(t, SourceHeuristic, c.Source)
			assert.Contains(t, c.Why, "three 429 answers in a row despite waiting")
		}
		notes := strings.Join(r.Notes(), "\n")
		assert.Contains(t, notes, "gemini is out of quota for this run")
		assert.Equal(t, 1, strings.Count(notes, "out of quota"), "one note")
	})
}

func TestRunnerUnreachableModel(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		g := &fakeModel{answer: func(int) (model.Classification, error) {
			return model.Classification{}, fmt.Errorf("gemini: %w", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)})
		}}
		r := policyRunner(g, Options{Concurrency: 2, MaxRetries: 3})
		start := time.Now()
		res := classifyCases(t, r, 20)
		assert.Less(t, time.Since(start), 10*time.Second)
		assert.Len(t, g.calls(), 3)
		for _, c := range res {
			assert.Equal(t, SourceHeuristic, c.Source)
			assert.Contains(t, c.Why, "gemini unreachable")
		}
		assert.Contains(t, strings.Join(r.Notes(), "\n"), "gemini could not be reached")
		assert.Zero(t, r.Stats().Requests, "none reached the server")
	})
}

func TestRunnerTransientRetriesWithCappedBackoff(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		g := &fakeModel{answer: func(n int) (model.Classification, error) {
			if n <= 6 {
				return model.Classification{}, &TransientError{Code: 503, Detail: "UNAVAILABLE"}
			}
			return validAnswer(), nil
		}}
		r := policyRunner(g, Options{MaxRetries: 6, BackoffBase: 10 * time.Second})
		res := classifyCases(t, r, 1)
		assert.Equal(t, "gemini", res[0].Source)
		calls := g.calls()
		require.Len(t, calls, 7)
		for i := 1; i < len(calls); i++ {
			assert.LessOrEqual(t, calls[i].Sub(calls[i-1]), 30*time.Second, "retry %d waited past the ceiling", i)
		}
		assert.Equal(t, 7, r.Stats().Requests)
	})
}

func TestRunnerKeyRejected(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		g := &fakeModel{answer: func(int) (model.Classification, error) {
			return model.Classification{}, fmt.Errorf("gemini rejected the API key (400 INVALID_ARGUMENT): %w", ErrKeyRejected)
		}}
		r := policyRunner(g, Options{Concurrency: 1, MaxRetries: 3})
		res := classifyCases(t, r, 3)
		assert.Len(t, g.calls(), 1)
		for _, c := range res {
			assert.Contains(t, c.Why, "API key rejected")
		}
		assert.Contains(t, res[2].Why, "gemini.api_key (VERDICT_GEMINI_API_KEY)")
		assert.Contains(t, strings.Join(r.Notes(), "\n"), "gemini rejected the API key; check gemini.api_key")
	})
}
