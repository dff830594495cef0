package eval

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"
)

// short names the labels in the matrix header.
var short = map[string]string{TruePositive: "TP", FalsePositive: "FP", NeedsReview: "NR"}

// WriteTable prints the metrics as the text table `make eval` shows. title
// names the run (classifier, mode). Ids come from alert files, which
// attackers write, so every id is escaped before it reaches a terminal.
func WriteTable(w io.Writer, title string, m Metrics) error {
	ew := &errWriter{w: w}
	ew.printf("%s\n", title)
	ew.printf("%s\n", strings.Repeat("=", utf8.RuneCountInString(title)))
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "alerts\t%d\t(truth: %d TRUE_POSITIVE, %d FALSE_POSITIVE, %d NEEDS_REVIEW)\n",
		m.Alerts, m.Truth[TruePositive], m.Truth[FalsePositive], m.Truth[NeedsReview])
	fmt.Fprintf(tw, "accuracy\t%.3f\t(%d of %d alerts got their true label)\n", m.Accuracy, m.Correct, m.Alerts)
	fmt.Fprintf(tw, "accuracy on decided alerts\t%.3f\t(%d of %d whose truth and prediction are both TP or FP)\n", m.DecidedAccuracy, m.DecidedCorrect, m.Decided)
	fmt.Fprintf(tw, "NEEDS_REVIEW rate\t%.3f\t(%d of %d alerts sent to a person)\n", m.NeedsReviewRate, m.NeedsReview, m.Alerts)
	fmt.Fprintf(tw, "dangerous errors\t%d\t(truth TRUE_POSITIVE, predicted FALSE_POSITIVE)\n", len(m.Dangerous))
	_ = tw.Flush()

	ew.printf("\nconfusion matrix (rows: truth, columns: predicted)\n")
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "truth \\ predicted\tTRUE_POSITIVE\tFALSE_POSITIVE\tNEEDS_REVIEW\ttotal\n")
	for _, t := range []string{TruePositive, FalsePositive} {
		row := m.Confusion[t]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", t, row[TruePositive], row[FalsePositive], row[NeedsReview], m.Truth[t])
	}
	_ = tw.Flush()
	if n := m.Truth[NeedsReview]; n > 0 {
		row := m.Confusion[NeedsReview]
		ew.printf("(alerts whose truth is NEEDS_REVIEW: %d; predicted TP %d, FP %d, NR %d)\n", n, row[TruePositive], row[FalsePositive], row[NeedsReview])
	}

	if len(m.Dangerous) > 0 {
		ew.printf("\ndangerous errors (a true positive classified FALSE_POSITIVE):\n")
		for _, k := range m.Dangerous {
			ew.printf("  %s\n", Sanitize(k))
		}
	}

	prompt, output, thought, cost := m.PerAlert()
	ew.printf("\nclassification sources: %s\n", sources(m.Sources))
	ew.printf("tokens per alert: %.1f prompt, %.1f output, %.1f thinking (run total %d, %d, %d)\n",
		prompt, output, thought, m.PromptTokens, m.OutputTokens, m.ThoughtTokens)
	ew.printf("cost per alert: $%.6f (run total $%.4f)\n", cost, m.CostUSD)
	return ew.err
}

// WriteOutcomes lists outcomes, one per line: the wrong ones only, unless
// all is set. Each line gives the truth, the prediction, the classifier's
// first reason and the label's rationale, escaped for a terminal.
func WriteOutcomes(w io.Writer, outcomes []Outcome, all bool) error {
	ew := &errWriter{w: w}
	for _, o := range outcomes {
		if o.Correct() && !all {
			continue
		}
		mark := "ok   "
		switch {
		case o.Dangerous():
			mark = "DANGER"
		case !o.Correct():
			mark = "wrong"
		}
		ew.printf("%-6s %s: truth %s, predicted %s (%s, confidence %d, risk %s %d)\n", mark, describe(o),
			short[o.Label.Truth], short[o.Predicted], Sanitize(o.Source), o.Confidence, Sanitize(o.RiskVerdict), o.RiskScore)
		if o.Reason != "" {
			ew.printf("         classifier: %s\n", Sanitize(o.Reason))
		}
		ew.printf("         truth:      %s\n", Sanitize(o.Label.Rationale))
	}
	return ew.err
}

func sources(s map[string]int) string {
	if len(s) == 0 {
		return "none"
	}
	names := make([]string, 0, len(s))
	for k := range s {
		names = append(names, k)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, k := range names {
		name := k
		if name == "" {
			name = "(none)"
		}
		parts[i] = fmt.Sprintf("%s %d", Sanitize(name), s[k])
	}
	return strings.Join(parts, ", ")
}

// maxShown caps how much of one attacker-written value a table shows.
const maxShown = 300

// Sanitize makes a string safe to print on a terminal: control characters,
// bidirectional overrides and other invisible format characters become
// visible \u escapes, invalid UTF-8 becomes U+FFFD, and long values are cut.
// Alert ids and reasons are attacker-written; an ANSI escape in an id must
// not repaint the analyst's screen.
func Sanitize(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if n == maxShown {
			b.WriteString("…")
			break
		}
		n++
		switch {
		case r == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// errWriter keeps the first write error so a table is written without
// checking every line.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	fmt.Fprintf(e, format, args...)
}
