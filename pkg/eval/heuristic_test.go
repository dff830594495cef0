package eval_test

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cmd/root"
	"github.com/verdict-dev/verdict/pkg/eval"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/iostreams"
)

// The set and the feeds are committed with the repository, so this test
// needs nothing from outside it.
var (
	set   = eval.Set{Dir: filepath.Join("..", "..", "samples", "eval")}
	feeds = filepath.Join("..", "..", "samples", "feeds")
)

// inProcess runs verdict through its public entry point, root.Main, as
// cmd/verdict does, with buffered streams.
func inProcess(ctx context.Context, args []string, stderr io.Writer) (int, error) {
	ios, _, _, _ := iostreams.Test()
	ios.ErrOut = stderr
	return root.Main(ctx, args, ios), nil
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// TestHeuristicBaseline pins the heuristic's figures on the labelled set: it
// classifies the set offline in-process, exactly as `make eval` does, and
// fails when accuracy falls below samples/eval/baseline.json or a dangerous
// error (a true positive called FALSE_POSITIVE) appears that the baseline
// does not have. It fails too when the set is broken: a label with no
// alert, an alert with no label, a duplicate id. After a reviewed change
// (to the heuristic or to the set), rewrite the baseline with
//
//	go test ./pkg/eval -run TestHeuristicBaseline -update
func TestHeuristicBaseline(t *testing.T) {
	var stderr bytes.Buffer
	r := eval.Run{Verdict: inProcess, Set: set, Feeds: []string{feeds}, WorkDir: t.TempDir(), Stderr: &stderr}
	report, err := r.Offline(context.Background())
	require.NoError(t, err, "verdict classify failed:\n%s", stderr.String())
	outcomes, err := set.Evaluate(report)
	require.NoError(t, err, "the labelled set is broken")
	m := eval.Compute(outcomes)
	require.Equal(t, m.Alerts, m.Sources["heuristic"], "offline, every classification must come from the heuristic: %v", m.Sources)
	assert.Zero(t, m.PromptTokens+m.OutputTokens+m.ThoughtTokens, "the heuristic spends no tokens")
	assert.Zero(t, m.CostUSD, "the heuristic costs nothing")

	var table bytes.Buffer
	require.NoError(t, eval.WriteTable(&table, "heuristic", m))
	t.Logf("\n%s", table.String())

	if updating() {
		require.NoError(t, eval.WriteBaseline(set.BaselineFile(), eval.Baseline{Classifier: "heuristic", Metrics: m}))
		t.Logf("wrote %s", set.BaselineFile())
		return
	}
	base, err := eval.LoadBaseline(set.BaselineFile())
	require.NoError(t, err, "run go test ./pkg/eval -run TestHeuristicBaseline -update to create it")
	for _, imp := range base.Improvements(m) {
		t.Logf("better than the baseline: %s (raise the bar with -update)", imp)
	}
	if worse := base.Regressions(m); len(worse) > 0 {
		var list bytes.Buffer
		_ = eval.WriteOutcomes(&list, outcomes, false)
		t.Fatalf("the heuristic got worse on the labelled set:\n  - %s\n\nwrong alerts now:\n%s\nIf the change is intended (a safer NEEDS_REVIEW, a new case), review it and rerun with -update.",
			strings.Join(worse, "\n  - "), list.String())
	}
}

// TestSetFiles checks the set's own hygiene: every alert file has labels,
// every label names a file that exists, and every licence is one the set
// may redistribute (samples/eval/README.md).
func TestSetFiles(t *testing.T) {
	t.Parallel()
	labels, err := eval.LoadLabelsFile(set.LabelsFile())
	require.NoError(t, err)
	files, err := set.AlertFiles()
	require.NoError(t, err)
	labelled := map[string]int{}
	for _, l := range labels {
		labelled[l.File]++
	}
	for _, f := range files {
		name := filepath.Base(f)
		assert.NotZero(t, labelled[name], "alert file %s has no labels", name)
		delete(labelled, name)
	}
	assert.Empty(t, labelled, "labels name files that are not in %s", set.AlertsDir())

	allowed := map[string]bool{"verdict": true, "MIT": true, "BSD-2-Clause": true, "Elastic-2.0": true, "CC-BY-SA-4.0": true, "GPL-2.0": true}
	truth := map[string]int{}
	for _, l := range labels {
		assert.True(t, allowed[l.Licence], "labels line %d: licence %q is not one the set may redistribute", l.Line, l.Licence)
		if l.Licence != "verdict" {
			assert.NotEqual(t, "written for verdict", l.Source, "labels line %d: a copied alert names its upstream source", l.Line)
		}
		truth[l.Truth]++
	}
	assert.GreaterOrEqual(t, len(labels), 60, "the set holds at least 60 alerts")
	assert.NotZero(t, truth[eval.TruePositive])
	assert.NotZero(t, truth[eval.FalsePositive])

	// The labels must never be inside the records the model reads.
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, l := range labels {
			if len(l.Rationale) > 20 {
				assert.NotContains(t, string(data), l.Rationale, "%s holds a label's rationale", f)
			}
		}
		assert.NotContains(t, string(data), "ground truth", f)
	}
}

// TestModelRunAgainstFakeGemini runs the model half of `make eval`
// in-process against the httptest fake of the Gemini API: the offline report
// is classified again with no lookup, the model's labels are what is
// measured, and the tokens and cost summed over the alerts are what the fake
// billed, at the configured prices.
func TestModelRunAgainstFakeGemini(t *testing.T) {
	const key = "AIza-eval-fake-key-0123456789abcdef"
	g := inteltest.NewGemini(t, key)
	t.Setenv("GEMINI_API_KEY", key)
	t.Setenv("VERDICT_GEMINI_BASE_URL", g.URL+"/")
	t.Setenv("VERDICT_GEMINI_RATE", "0")
	t.Setenv("VERDICT_GEMINI_PRICE_INPUT_PER_MTOK", "0.5")
	t.Setenv("VERDICT_GEMINI_PRICE_OUTPUT_PER_MTOK", "2")
	// A model that calls every certificate notice benign and everything
	// else malicious.
	g.Reply = func(req inteltest.GeminiRequest, _ int) inteltest.GeminiReply {
		label := eval.TruePositive
		if strings.Contains(req.User, "SSL certificate validation failed") {
			label = eval.FalsePositive
		}
		return inteltest.GeminiReply{Text: inteltest.ValidAnswer(label, 80), PromptTokens: 900, OutputTokens: 120, ThoughtTokens: 30}
	}

	var stderr bytes.Buffer
	r := eval.Run{Verdict: inProcess, Set: set, Feeds: []string{feeds}, WorkDir: t.TempDir(), Stderr: &stderr}
	offline, err := r.Offline(context.Background())
	require.NoError(t, err, stderr.String())
	require.Empty(t, g.Requests(), "the offline run never calls the model")
	online, err := r.Online(context.Background(), offline, false, false)
	require.NoError(t, err, stderr.String())
	assert.NotContains(t, stderr.String(), key, "the key never reaches a message")

	outcomes, err := set.Evaluate(online)
	require.NoError(t, err)
	m := eval.Compute(outcomes)
	require.NotEmpty(t, g.Requests())
	assert.Equal(t, m.Alerts, m.Sources["gemini"], "every alert was classified by the model: %v", m.Sources)
	p, o, th := g.Usage()
	assert.Equal(t, [3]int{p, o, th}, [3]int{m.PromptTokens, m.OutputTokens, m.ThoughtTokens}, "tokens per alert add up to what was billed")
	assert.InDelta(t, float64(p)*0.5/1e6+float64(o+th)*2/1e6, m.CostUSD, 1e-9)

	// The fake's answers are what is measured: the copied certificate
	// notices (all CLEAN, so no guard applies) came back FALSE_POSITIVE,
	// which makes the APT29 and WRCCDC red-team C2 certificates dangerous
	// errors, and the benign ones correct.
	for _, o := range outcomes {
		if strings.HasPrefix(o.Label.File, "zeek-notice.otrf") || strings.HasPrefix(o.Label.File, "zeek-notice.wrccdc") {
			assert.Equal(t, eval.FalsePositive, o.Predicted, o.Label.Key())
		}
	}
	assert.Subset(t, m.Dangerous, []string{"zeek-notice.otrf-apt29.ndjson #1", "zeek-notice.otrf-apt29.ndjson #2",
		"zeek-notice.otrf-apt29.ndjson #3", "zeek-notice.wrccdc2018.subset.ndjson #12"})
	assert.Equal(t, 10, m.Confusion[eval.FalsePositive][eval.FalsePositive],
		"the ten benign WRCCDC notices are the only benign alerts the fake calls FALSE_POSITIVE")
}
