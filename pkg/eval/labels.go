// Package eval measures verdict's classifier (the heuristic, or the model)
// against a labelled set of alerts: it reads the labels, matches them with
// the alerts of a JSON report written by `verdict classify`, and computes
// accuracy, a confusion matrix, the NEEDS_REVIEW rate, the dangerous errors
// (a true positive called a false positive), and tokens and cost per alert.
//
// It drives verdict only through its public surface, the CLI and the JSON
// report (CONTRACT.md), so it measures whatever the classifier does today.
package eval

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
)

// The labels of CONTRACT.md's classification, used as ground truth too.
const (
	TruePositive  = "TRUE_POSITIVE"
	FalsePositive = "FALSE_POSITIVE"
	NeedsReview   = "NEEDS_REVIEW"
)

// Labels lists the labels in the order tables show them.
var Labels = []string{TruePositive, FalsePositive, NeedsReview}

func validLabel(s string) bool {
	return s == TruePositive || s == FalsePositive || s == NeedsReview
}

// ErrBrokenSet is matched (errors.Is) by every *SetError.
var ErrBrokenSet = errors.New("labelled set is broken")

// SetError lists everything wrong with a labelled set at once, so one run
// shows every problem instead of the first.
type SetError struct {
	Problems []string
}

// Error lists the problems, one per line.
func (e *SetError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s)", ErrBrokenSet, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrBrokenSet) true.
func (e *SetError) Is(target error) bool { return target == ErrBrokenSet }

// problems collects set problems; err returns nil when there are none.
type problems []string

func (p *problems) addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &SetError{Problems: p}
}

// Label is the ground truth for one alert of the set. Labels live in their
// own file, never inside the alert records, because the model reads the
// records.
type Label struct {
	// File is the alert file, relative to the set's alerts directory, with
	// forward slashes.
	File string
	// ID is the record's own id (the first of alert_id, id, event.id, _id,
	// SystemAlertId, as verdict reads it), or "#N" for the Nth record of File
	// (1-based, verdict's source.record) when the record has none.
	ID        string
	Truth     string // TRUE_POSITIVE, FALSE_POSITIVE or NEEDS_REVIEW
	Rationale string // one line: why that is the truth
	Source    string // where the alert comes from
	Licence   string // the licence it is used under
	Line      int    // line of the labels file, for messages
}

// Key names the labelled alert in messages and baselines: "FILE ID".
func (l Label) Key() string { return l.File + " " + l.ID }

// Position returns N for an id of the form "#N".
func (l Label) Position() (int, bool) {
	rest, ok := strings.CutPrefix(l.ID, "#")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 || strconv.Itoa(n) != rest {
		return 0, false
	}
	return n, true
}

// LabelColumns are the columns of labels.csv, in the order written.
var LabelColumns = []string{"file", "id", "label", "rationale", "source", "licence"}

// LoadLabelsFile reads a labels CSV file (see LoadLabels).
func LoadLabelsFile(name string) ([]Label, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open labels: %w", err)
	}
	defer f.Close()
	labels, err := LoadLabels(f)
	if err != nil {
		return nil, fmt.Errorf("read labels %s: %w", name, err)
	}
	return labels, nil
}

// LoadLabels reads labels CSV with a header naming LabelColumns (in any
// order; other columns are ignored). It checks every row and reports all
// problems at once as a *SetError: a missing value, a label other than the
// three, a rationale over several lines, a file path that leaves the alerts
// directory, a malformed "#N", or the same alert labelled twice.
func LoadLabels(r io.Reader) ([]Label, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked below, with a better message
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &SetError{Problems: []string{"labels file is empty: it needs a header " + strings.Join(LabelColumns, ",")}}
	}
	if err != nil {
		return nil, fmt.Errorf("read labels header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	var p problems
	for _, c := range LabelColumns {
		if _, ok := col[c]; !ok {
			p.addf("labels header lacks the column %q (want %s)", c, strings.Join(LabelColumns, ","))
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	var labels []Label
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				// The rest of a file the CSV reader choked on cannot be
				// trusted; report where it broke.
				p.addf("labels line %d: %v", pe.Line, pe.Err)
				break
			}
			return nil, fmt.Errorf("read labels: %w", err)
		}
		line, _ := cr.FieldPos(0)
		get := func(c string) string {
			if i := col[c]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		l := Label{File: get("file"), ID: get("id"), Truth: get("label"), Rationale: get("rationale"),
			Source: get("source"), Licence: get("licence"), Line: line}
		where := fmt.Sprintf("labels line %d", line)
		for _, c := range LabelColumns {
			if get(c) == "" {
				p.addf("%s: empty %s", where, c)
			}
		}
		if l.Truth != "" && !validLabel(l.Truth) {
			p.addf("%s: bad label %q (want %s)", where, l.Truth, strings.Join(Labels, ", "))
		}
		if strings.ContainsAny(l.Rationale, "\r\n") {
			p.addf("%s: the rationale must be one line", where)
		}
		if l.File != "" && (strings.Contains(l.File, `\`) || path.IsAbs(l.File) || path.Clean(l.File) != l.File || strings.HasPrefix(l.File, "../")) {
			p.addf("%s: file %q must be a clean path relative to the alerts directory, with forward slashes", where, l.File)
		}
		if strings.HasPrefix(l.ID, "#") {
			if _, ok := l.Position(); !ok {
				p.addf("%s: id %q: a position is #N with N a record number from 1", where, l.ID)
			}
		}
		if l.File != "" && l.ID != "" {
			if first, dup := seen[l.Key()]; dup {
				p.addf("%s: %s is already labelled on line %d (duplicate id)", where, l.Key(), first)
			} else {
				seen[l.Key()] = line
			}
		}
		labels = append(labels, l)
	}
	if len(labels) == 0 {
		p.addf("labels file has a header but no labels")
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return labels, nil
}
