package model

import (
	"fmt"
	"strings"
)

// Verdict is the risk outcome of an alert.
type Verdict string

// Risk verdicts, in ascending severity.
const (
	Clean                 Verdict = "CLEAN"
	PotentiallySuspicious Verdict = "POTENTIALLY_SUSPICIOUS"
	Suspicious            Verdict = "SUSPICIOUS"
	Malicious             Verdict = "MALICIOUS"
	// Unchecked is not a severity: the alert has indicators to check and no
	// source answered for any of them (CONTRACT.md "Risk score"). It sits
	// outside the CLEAN..MALICIOUS order, so --fail-on never matches it;
	// --fail-on-unchecked does.
	Unchecked Verdict = "UNCHECKED"
)

// AllVerdicts lists every verdict from least to most severe.
var AllVerdicts = []Verdict{Clean, PotentiallySuspicious, Suspicious, Malicious}

// ParseVerdict reads a verdict name, case-insensitively, with '-' or ' ' for '_'.
func ParseVerdict(s string) (Verdict, error) {
	n := strings.ToUpper(strings.NewReplacer("-", "_", " ", "_").Replace(strings.TrimSpace(s)))
	for _, v := range AllVerdicts {
		if string(v) == n {
			return v, nil
		}
	}
	return "", fmt.Errorf("unknown verdict %q (want one of %s)", s, VerdictNames())
}

// VerdictNames returns the verdicts as a comma-separated list, for help texts.
func VerdictNames() string {
	s := make([]string, len(AllVerdicts))
	for i, v := range AllVerdicts {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// Rank orders verdicts by severity: CLEAN is 0, MALICIOUS 3; UNCHECKED and
// unknown are -1.
func (v Verdict) Rank() int {
	for i, k := range AllVerdicts {
		if k == v {
			return i
		}
	}
	return -1
}

// AtLeast reports whether v is as severe as min or worse.
func (v Verdict) AtLeast(min Verdict) bool { return v.Rank() >= min.Rank() && min.Rank() >= 0 }

// Risk is an alert's score, its verdict and the factors that produced it.
type Risk struct {
	Score   int      `json:"score"`
	Verdict Verdict  `json:"verdict"`
	Factors []string `json:"factors"`
	// CheckedBy lists the sources that answered (found or not found) for at
	// least one of the alert's indicators, in provider order. Empty for an
	// UNCHECKED alert and for one with nothing to check.
	CheckedBy []string `json:"checked_by"`
}
