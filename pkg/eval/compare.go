package eval

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Outcome is one labelled alert with verdict's classification of it.
type Outcome struct {
	Label       Label
	AlertID     string // the id verdict gave the alert
	Record      int    // verdict's source.record
	Predicted   string // the classification's label
	Confidence  int
	Source      string // gemini, cache or heuristic
	Why         string // why the heuristic was used, if it was
	Reason      string // the classification's first reason
	RiskVerdict string
	RiskScore   int

	PromptTokens  int
	OutputTokens  int
	ThoughtTokens int
	CostUSD       float64
}

// Correct reports whether the prediction is the truth.
func (o Outcome) Correct() bool { return o.Predicted == o.Label.Truth }

// Dangerous reports a true positive classified as a false positive: the
// error that closes a real intrusion.
func (o Outcome) Dangerous() bool {
	return o.Label.Truth == TruePositive && o.Predicted == FalsePositive
}

// Compare matches every alert of a report written by `verdict classify`
// with its label and returns the outcomes ordered by file and record.
// alertsDir is the directory the alert files were read from; a report's
// source.file is taken relative to it.
//
// A label finds its alert by file and id, or by file and record for "#N".
// The set is broken, and Compare returns a *SetError listing every problem,
// when a label has no alert, an alert has no label, an alert is labelled
// twice, two alerts of one file share an id, a record was malformed, or an
// alert has no valid classification.
func Compare(labels []Label, rep *Report, alertsDir string) ([]Outcome, error) {
	var p problems
	for _, e := range rep.InputErrors {
		p.addf("%s record %d (line %d) is malformed: %s; an evaluation set must load cleanly",
			Sanitize(relFile(alertsDir, e.File)), e.Record, e.Line, Sanitize(e.Reason))
	}
	type key struct {
		file string
		id   string
	}
	type pos struct {
		file   string
		record int
	}
	byID := map[key][]int{}
	byPos := map[pos]int{}
	files := make([]string, len(rep.Alerts))
	for i, a := range rep.Alerts {
		f := relFile(alertsDir, a.Source.File)
		files[i] = f
		byID[key{f, a.ID}] = append(byID[key{f, a.ID}], i)
		byPos[pos{f, a.Source.Record}] = i
	}
	var dups []string
	for k, idx := range byID {
		if len(idx) > 1 {
			recs := make([]string, len(idx))
			for j, i := range idx {
				recs[j] = strconv.Itoa(rep.Alerts[i].Source.Record)
			}
			dups = append(dups, fmt.Sprintf("%s: records %s share the id %q (duplicate id): label them by a unique id", Sanitize(k.file), strings.Join(recs, ", "), Sanitize(k.id)))
		}
	}
	slices.Sort(dups) // map order is random; messages are not
	p = append(p, dups...)
	labelOf := make([]int, len(rep.Alerts)) // label index + 1; 0: none
	var outcomes []Outcome
	for li, l := range labels {
		ai := -1
		if n, ok := l.Position(); ok {
			if i, found := byPos[pos{l.File, n}]; found {
				ai = i
			}
		} else if idx := byID[key{l.File, l.ID}]; len(idx) == 1 {
			ai = idx[0]
		} else if len(idx) > 1 {
			continue // reported above as a duplicate id
		}
		if ai < 0 {
			p.addf("labels line %d: label with no alert: %s", l.Line, Sanitize(l.Key()))
			continue
		}
		if prev := labelOf[ai]; prev != 0 {
			p.addf("labels line %d: %s labels the same alert (record %d) as line %d", l.Line, Sanitize(l.Key()), rep.Alerts[ai].Source.Record, labels[prev-1].Line)
			continue
		}
		labelOf[ai] = li + 1
		a := rep.Alerts[ai]
		c := a.Classification
		if c == nil {
			p.addf("%s record %d (id %q): no classification in the report (was it written by verdict classify?)", Sanitize(files[ai]), a.Source.Record, Sanitize(a.ID))
			continue
		}
		if !validLabel(c.Label) {
			p.addf("%s record %d (id %q): unknown classification label %q", Sanitize(files[ai]), a.Source.Record, Sanitize(a.ID), Sanitize(c.Label))
			continue
		}
		o := Outcome{Label: l, AlertID: a.ID, Record: a.Source.Record, Predicted: c.Label, Confidence: c.Confidence,
			Source: c.Source, Why: c.Why, RiskVerdict: a.Risk.Verdict, RiskScore: a.Risk.Score,
			PromptTokens: c.PromptTokens, OutputTokens: c.OutputTokens, ThoughtTokens: c.ThoughtTokens, CostUSD: c.CostUSD}
		if len(c.Reasoning) > 0 {
			o.Reason = c.Reasoning[0]
		}
		outcomes = append(outcomes, o)
	}
	for i, a := range rep.Alerts {
		if labelOf[i] == 0 && len(byID[key{files[i], a.ID}]) == 1 {
			p.addf("alert with no label: %s record %d (id %q)", Sanitize(files[i]), a.Source.Record, Sanitize(a.ID))
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	slices.SortFunc(outcomes, func(a, b Outcome) int {
		return cmp.Or(strings.Compare(a.Label.File, b.Label.File), cmp.Compare(a.Record, b.Record))
	})
	return outcomes, nil
}

// relFile names a report's source.file relative to the alerts directory,
// with forward slashes, as labels do. A file outside it keeps its path.
func relFile(alertsDir, file string) string {
	if alertsDir != "" {
		dir, err1 := filepath.Abs(alertsDir)
		f, err2 := filepath.Abs(file)
		if err1 == nil && err2 == nil {
			if rel, err := filepath.Rel(dir, f); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return filepath.ToSlash(rel)
			}
		}
	}
	return filepath.ToSlash(file)
}

// describe names an outcome's alert for people: the label's key, plus the
// record when the label uses an id.
func describe(o Outcome) string {
	if _, ok := o.Label.Position(); ok {
		return Sanitize(o.Label.Key())
	}
	return fmt.Sprintf("%s (record %d)", Sanitize(o.Label.Key()), o.Record)
}
