package model

import "fmt"

// Classification labels (CONTRACT.md).
const (
	LabelTruePositive  = "TRUE_POSITIVE"
	LabelFalsePositive = "FALSE_POSITIVE"
	LabelNeedsReview   = "NEEDS_REVIEW"
)

// Labels lists every classification label.
var Labels = []string{LabelTruePositive, LabelFalsePositive, LabelNeedsReview}

// ConflictPrefix starts the reasoning line the guard adds.
const ConflictPrefix = "Conflict:"

// Guard applies CONTRACT.md's one rule in code, never in a prompt: a
// FALSE_POSITIVE on an alert whose risk verdict is MALICIOUS becomes
// NEEDS_REVIEW (confidence at most 50), with the conflict named first in
// the reasoning. Alert text is written by attackers and reports can be made
// by hand, so hard evidence outranks any label, wherever the label came
// from: the classifier calls it on every answer, and reading a JSON report
// back calls it again. It reports whether it changed c; a nil c is left
// alone.
func (c *Classification) Guard(risk Risk) bool {
	if c == nil || c.Label != LabelFalsePositive || risk.Verdict != Malicious {
		return false
	}
	evidence := fmt.Sprintf("risk score %d", risk.Score)
	if len(risk.Factors) > 0 {
		evidence += " (" + risk.Factors[0] + ")"
	}
	c.Label = LabelNeedsReview
	c.Reasoning = append([]string{fmt.Sprintf("%s the %s classification said FALSE_POSITIVE, but the risk verdict is MALICIOUS with %s; hard evidence wins, so a person must review it.",
		ConflictPrefix, c.Source, evidence)}, c.Reasoning...)
	if c.Confidence > 50 {
		c.Confidence = 50
	}
	return true
}
