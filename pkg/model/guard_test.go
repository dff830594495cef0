package model

import (
	"strings"
	"testing"
)

func TestGuard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		label   string
		verdict Verdict
		want    string
	}{
		{name: "FP on MALICIOUS becomes NEEDS_REVIEW", label: LabelFalsePositive, verdict: Malicious, want: LabelNeedsReview},
		{name: "FP on SUSPICIOUS stands", label: LabelFalsePositive, verdict: Suspicious, want: LabelFalsePositive},
		{name: "FP on UNCHECKED stands (the heuristic's own rule, not the guard's)", label: LabelFalsePositive, verdict: Unchecked, want: LabelFalsePositive},
		{name: "TP on MALICIOUS stands", label: LabelTruePositive, verdict: Malicious, want: LabelTruePositive},
		{name: "NEEDS_REVIEW on MALICIOUS stands", label: LabelNeedsReview, verdict: Malicious, want: LabelNeedsReview},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &Classification{Label: tt.label, Confidence: 95, Reasoning: []string{"a", "b", "c"}, Source: "gemini"}
			changed := c.Guard(Risk{Score: 80, Verdict: tt.verdict, Factors: []string{"IP 1.2.3.4: listed (+40)"}})
			if c.Label != tt.want {
				t.Fatalf("label %s, want %s", c.Label, tt.want)
			}
			if changed != (tt.want != tt.label) {
				t.Errorf("Guard reported changed=%v", changed)
			}
			if !changed {
				if len(c.Reasoning) != 3 || c.Confidence != 95 {
					t.Errorf("an unchanged classification was touched: %+v", c)
				}
				return
			}
			if !strings.HasPrefix(c.Reasoning[0], ConflictPrefix) || !strings.Contains(c.Reasoning[0], "IP 1.2.3.4") || len(c.Reasoning) != 4 {
				t.Errorf("reasoning %q", c.Reasoning)
			}
			if c.Confidence > 50 {
				t.Errorf("confidence %d", c.Confidence)
			}
			if c.Guard(Risk{Score: 80, Verdict: tt.verdict}) {
				t.Error("the guard is not idempotent")
			}
		})
	}
	var nilC *Classification
	if nilC.Guard(Risk{Verdict: Malicious}) {
		t.Error("nil classification changed")
	}
}
