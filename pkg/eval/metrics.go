package eval

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
)

// Metrics are a classifier's figures on the labelled set.
type Metrics struct {
	// Alerts is the number of labelled alerts; Truth counts them per label.
	Alerts int            `json:"alerts"`
	Truth  map[string]int `json:"truth"`

	// Correct alerts got their true label (NEEDS_REVIEW for an alert whose
	// truth is NEEDS_REVIEW counts as correct).
	Correct  int     `json:"correct"`
	Accuracy float64 `json:"accuracy"`

	// Decided alerts are those whose truth and prediction are both
	// TRUE_POSITIVE or FALSE_POSITIVE: how often a decision, when the
	// classifier makes one on a decidable alert, is right.
	Decided         int     `json:"decided"`
	DecidedCorrect  int     `json:"decided_correct"`
	DecidedAccuracy float64 `json:"decided_accuracy"`

	// NeedsReview counts the alerts the classifier sent to a person.
	NeedsReview     int     `json:"needs_review"`
	NeedsReviewRate float64 `json:"needs_review_rate"`

	// Confusion counts alerts by truth, then by prediction; every cell of
	// the 3x3 matrix is present.
	Confusion map[string]map[string]int `json:"confusion"`

	// Dangerous lists the true positives classified FALSE_POSITIVE (label
	// keys, "FILE ID"), sorted.
	Dangerous []string `json:"dangerous_errors"`

	// Sources counts classifications by source (gemini, cache, heuristic).
	Sources map[string]int `json:"sources"`

	// Tokens and cost billed in the run, summed over the alerts.
	PromptTokens  int     `json:"prompt_tokens"`
	OutputTokens  int     `json:"output_tokens"`
	ThoughtTokens int     `json:"thought_tokens"`
	CostUSD       float64 `json:"cost_usd"`
}

// Compute derives the metrics from outcomes.
func Compute(outcomes []Outcome) Metrics {
	m := Metrics{Alerts: len(outcomes), Truth: map[string]int{}, Confusion: map[string]map[string]int{},
		Sources: map[string]int{}, Dangerous: []string{}}
	for _, t := range Labels {
		m.Truth[t] = 0
		m.Confusion[t] = map[string]int{}
		for _, p := range Labels {
			m.Confusion[t][p] = 0
		}
	}
	for _, o := range outcomes {
		t, p := o.Label.Truth, o.Predicted
		m.Truth[t]++
		m.Confusion[t][p]++
		if o.Correct() {
			m.Correct++
		}
		if t != NeedsReview && p != NeedsReview {
			m.Decided++
			if o.Correct() {
				m.DecidedCorrect++
			}
		}
		if p == NeedsReview {
			m.NeedsReview++
		}
		if o.Dangerous() {
			m.Dangerous = append(m.Dangerous, o.Label.Key())
		}
		m.Sources[o.Source]++
		m.PromptTokens += o.PromptTokens
		m.OutputTokens += o.OutputTokens
		m.ThoughtTokens += o.ThoughtTokens
		m.CostUSD += o.CostUSD
	}
	slices.Sort(m.Dangerous)
	m.Accuracy = ratio(m.Correct, m.Alerts)
	m.DecidedAccuracy = ratio(m.DecidedCorrect, m.Decided)
	m.NeedsReviewRate = ratio(m.NeedsReview, m.Alerts)
	return m
}

// PerAlert returns the mean tokens (prompt, output, thinking) and cost in
// USD per alert.
func (m Metrics) PerAlert() (prompt, output, thought, costUSD float64) {
	if m.Alerts == 0 {
		return 0, 0, 0, 0
	}
	n := float64(m.Alerts)
	return float64(m.PromptTokens) / n, float64(m.OutputTokens) / n, float64(m.ThoughtTokens) / n, m.CostUSD / n
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	// Rounded to 4 places so a baseline file diffs cleanly.
	return float64(int(float64(a)/float64(b)*10000+0.5)) / 10000
}

// Baseline is a committed record of a classifier's figures on the set, which
// a test holds the classifier to.
type Baseline struct {
	Classifier string `json:"classifier"`
	Metrics
}

// LoadBaseline reads a baseline file.
func LoadBaseline(name string) (Baseline, error) {
	var b Baseline
	data, err := os.ReadFile(name)
	if err != nil {
		return b, fmt.Errorf("read baseline: %w", err)
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return b, fmt.Errorf("decode baseline %s: %w", name, err)
	}
	return b, nil
}

// WriteBaseline writes a baseline file, indented, with a final newline.
func WriteBaseline(name string, b Baseline) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return fmt.Errorf("encode baseline: %w", err)
	}
	if err := os.WriteFile(name, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write baseline: %w", err)
	}
	return nil
}

// Regressions lists how m is worse than the baseline: fewer correct alerts
// (lower accuracy), more dangerous errors, or a dangerous error the
// baseline did not have. A different number of alerts means the set itself
// changed, and the baseline must be rewritten after review.
func (b Baseline) Regressions(m Metrics) []string {
	if m.Alerts != b.Alerts {
		return []string{fmt.Sprintf("the set has %d alerts, the baseline %d: the set changed, so review the figures and rewrite the baseline", m.Alerts, b.Alerts)}
	}
	var out []string
	if m.Correct < b.Correct {
		out = append(out, fmt.Sprintf("accuracy fell from %.4f (%d/%d) to %.4f (%d/%d)", b.Accuracy, b.Correct, b.Alerts, m.Accuracy, m.Correct, m.Alerts))
	}
	if len(m.Dangerous) > len(b.Dangerous) {
		out = append(out, fmt.Sprintf("dangerous errors rose from %d to %d", len(b.Dangerous), len(m.Dangerous)))
	}
	for _, k := range m.Dangerous {
		if !slices.Contains(b.Dangerous, k) {
			out = append(out, fmt.Sprintf("new dangerous error (a true positive classified FALSE_POSITIVE): %s", Sanitize(k)))
		}
	}
	return out
}

// Improvements lists how m is better than the baseline, so a reviewer knows
// to raise the bar with -update.
func (b Baseline) Improvements(m Metrics) []string {
	if m.Alerts != b.Alerts {
		return nil
	}
	var out []string
	if m.Correct > b.Correct {
		out = append(out, fmt.Sprintf("accuracy rose from %.4f to %.4f", b.Accuracy, m.Accuracy))
	}
	for _, k := range b.Dangerous {
		if !slices.Contains(m.Dangerous, k) {
			out = append(out, fmt.Sprintf("no longer a dangerous error: %s", Sanitize(k)))
		}
	}
	return out
}
