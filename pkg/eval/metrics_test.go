package eval

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// outcomes builds one outcome per (truth, predicted) pair, in order, with
// ids a.json #1, #2, ...
func outcomes(pairs ...[2]string) []Outcome {
	out := make([]Outcome, len(pairs))
	for i, p := range pairs {
		out[i] = Outcome{Label: lbl(i+2, "a.json", fmt.Sprintf("#%d", i+1), p[0]), Record: i + 1, Predicted: p[1], Source: "heuristic"}
	}
	return out
}

var (
	tpTP = [2]string{TruePositive, TruePositive}
	tpFP = [2]string{TruePositive, FalsePositive}
	tpNR = [2]string{TruePositive, NeedsReview}
	fpFP = [2]string{FalsePositive, FalsePositive}
	fpTP = [2]string{FalsePositive, TruePositive}
	fpNR = [2]string{FalsePositive, NeedsReview}
	nrNR = [2]string{NeedsReview, NeedsReview}
	nrFP = [2]string{NeedsReview, FalsePositive}
)

func TestCompute(t *testing.T) {
	t.Parallel()
	outs := outcomes(tpTP, tpTP, tpFP, tpNR, fpFP, fpFP, fpFP, fpTP, fpNR, nrNR, nrFP)
	outs[0].Source, outs[0].PromptTokens, outs[0].OutputTokens, outs[0].ThoughtTokens, outs[0].CostUSD = "gemini", 800, 150, 50, 0.0008
	outs[1].Source, outs[1].PromptTokens, outs[1].OutputTokens, outs[1].CostUSD = "gemini", 700, 130, 0.0007
	outs[2].Source = "cache"
	m := Compute(outs)

	assert.Equal(t, 11, m.Alerts)
	assert.Equal(t, map[string]int{TruePositive: 4, FalsePositive: 5, NeedsReview: 2}, m.Truth)
	assert.Equal(t, 6, m.Correct, "2 TP, 3 FP, 1 NR right")
	assert.InDelta(t, 6.0/11, m.Accuracy, 0.0001)
	assert.Equal(t, 7, m.Decided, "truth and prediction both TP or FP: 2+1 TP rows, 3+1 FP rows")
	assert.Equal(t, 5, m.DecidedCorrect)
	assert.InDelta(t, 5.0/7, m.DecidedAccuracy, 0.0001)
	assert.Equal(t, 3, m.NeedsReview)
	assert.InDelta(t, 3.0/11, m.NeedsReviewRate, 0.0001)
	assert.Equal(t, map[string]map[string]int{
		TruePositive:  {TruePositive: 2, FalsePositive: 1, NeedsReview: 1},
		FalsePositive: {TruePositive: 1, FalsePositive: 3, NeedsReview: 1},
		NeedsReview:   {TruePositive: 0, FalsePositive: 1, NeedsReview: 1},
	}, m.Confusion)
	assert.Equal(t, []string{"a.json #3"}, m.Dangerous, "only truth TP predicted FP is dangerous; truth NR predicted FP is not")
	assert.Equal(t, map[string]int{"gemini": 2, "cache": 1, "heuristic": 8}, m.Sources)
	assert.Equal(t, 1500, m.PromptTokens)
	assert.Equal(t, 280, m.OutputTokens)
	assert.Equal(t, 50, m.ThoughtTokens)
	assert.InDelta(t, 0.0015, m.CostUSD, 1e-12)
	p, o, th, c := m.PerAlert()
	assert.InDelta(t, 1500.0/11, p, 1e-9)
	assert.InDelta(t, 280.0/11, o, 1e-9)
	assert.InDelta(t, 50.0/11, th, 1e-9)
	assert.InDelta(t, 0.0015/11, c, 1e-12)
}

func TestComputeEmpty(t *testing.T) {
	t.Parallel()
	m := Compute(nil)
	assert.Zero(t, m.Accuracy)
	assert.Zero(t, m.DecidedAccuracy)
	assert.Zero(t, m.NeedsReviewRate)
	assert.Equal(t, []string{}, m.Dangerous, "an empty list, so a baseline says [] and not null")
	assert.Len(t, m.Confusion, 3)
	p, o, th, c := m.PerAlert()
	assert.Zero(t, p+o+th+c)
}

func TestDangerousSorted(t *testing.T) {
	t.Parallel()
	outs := []Outcome{
		{Label: lbl(2, "z.json", "9", TruePositive), Predicted: FalsePositive},
		{Label: lbl(3, "a.json", "#2", TruePositive), Predicted: FalsePositive},
		{Label: lbl(4, "a.json", "#10", TruePositive), Predicted: FalsePositive},
	}
	assert.Equal(t, []string{"a.json #10", "a.json #2", "z.json 9"}, Compute(outs).Dangerous)
}

func TestBaselineRegressions(t *testing.T) {
	t.Parallel()
	base := Baseline{Classifier: "heuristic", Metrics: Compute(outcomes(tpTP, tpFP, fpFP, fpFP, nrNR))}
	tests := []struct {
		name       string
		now        []Outcome
		worse      []string
		better     []string
		wantNoDiff bool
	}{
		{name: "happy path: the same figures", now: outcomes(tpTP, tpFP, fpFP, fpFP, nrNR), wantNoDiff: true},
		{name: "happy path: fewer dangerous errors, more correct", now: outcomes(tpTP, tpTP, fpFP, fpFP, nrNR),
			better: []string{"accuracy rose from 0.8000 to 1.0000", "no longer a dangerous error: a.json #2"}},
		{name: "happy path: a safe miss instead of a dangerous one keeps accuracy", now: outcomes(tpTP, tpNR, fpFP, fpFP, nrNR),
			better: []string{"no longer a dangerous error: a.json #2"}},
		{name: "sad path: accuracy fell", now: outcomes(tpTP, tpFP, fpNR, fpFP, nrNR),
			worse: []string{"accuracy fell from 0.8000 (4/5) to 0.6000 (3/5)"}},
		{name: "sad path: a new dangerous error at the same accuracy", now: outcomes(tpFP, tpTP, fpFP, fpFP, nrNR),
			worse:  []string{"new dangerous error (a true positive classified FALSE_POSITIVE): a.json #1"},
			better: []string{"no longer a dangerous error: a.json #2"}},
		{name: "sad path: more dangerous errors", now: outcomes(tpFP, tpFP, fpFP, fpFP, nrNR),
			worse: []string{"accuracy fell", "dangerous errors rose from 1 to 2", "new dangerous error (a true positive classified FALSE_POSITIVE): a.json #1"}},
		{name: "sad path: the set changed", now: outcomes(tpTP, tpFP, fpFP, fpFP),
			worse: []string{"the set has 4 alerts, the baseline 5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := Compute(tt.now)
			worse, better := base.Regressions(m), base.Improvements(m)
			if tt.wantNoDiff {
				assert.Empty(t, worse)
				assert.Empty(t, better)
				return
			}
			require.Len(t, worse, len(tt.worse), "%q", worse)
			for i, w := range tt.worse {
				assert.Contains(t, worse[i], w)
			}
			assert.Equal(t, tt.better, better)
		})
	}
}

func TestBaselineRoundTrip(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "baseline.json")
	b := Baseline{Classifier: "heuristic", Metrics: Compute(outcomes(tpTP, tpFP, fpNR, nrFP))}
	require.NoError(t, WriteBaseline(path, b))
	got, err := LoadBaseline(path)
	require.NoError(t, err)
	assert.Equal(t, b, got)
	assert.Empty(t, got.Regressions(b.Metrics))

	_, err = LoadBaseline(filepath.Join(t.TempDir(), "none.json"))
	assert.Error(t, err)
}
