package report

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/verdict-dev/verdict/pkg/model"
)

// ErrInvalidReport means the input claims to be a verdict JSON report of a
// supported schema version but breaks that schema. Reports read back are
// untrusted (anyone can write one by hand): every field with a fixed form
// is checked before anything is rendered from it.
var ErrInvalidReport = errors.New("invalid verdict JSON report")

// ValidationError names what is wrong and where.
type ValidationError struct {
	Where string // "alert 3 (id \"x\"): risk.verdict"
	What  string // `"PWNED" is not a risk verdict (want ...)`
}

func (e *ValidationError) Error() string { return e.Where + ": " + e.What }

// Is makes errors.Is(err, ErrInvalidReport) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidReport }

func invalid(where, format string, args ...any) error {
	return &ValidationError{Where: where, What: fmt.Sprintf(format, args...)}
}

// quoted shows a value from a report in an error message: quoted, escaped
// and short.
func quoted(s string) string { return fmt.Sprintf("%q", clip(s, 80)) }

var (
	verdictNames = []string{string(model.Malicious), string(model.Suspicious), string(model.PotentiallySuspicious), string(model.Clean), string(model.Unchecked)}
	statusNames  = []string{string(model.StatusFound), string(model.StatusNotFound), string(model.StatusError), string(model.StatusSkipped)}
	iocTypeNames = []string{"ipv4", "ipv6", "domain", "url", "md5", "sha1", "sha256"}
)

// checkHeader validates everything of a report but its alerts.
func checkHeader(r *model.Report) error {
	if r.GeneratedAt != "" {
		if _, err := time.Parse(time.RFC3339, r.GeneratedAt); err != nil {
			return invalid("generated_at", "%s is not an RFC 3339 time", quoted(r.GeneratedAt))
		}
	}
	for i, e := range r.InputErrors {
		if e.Record < 0 || e.Line < 0 {
			return invalid(fmt.Sprintf("input_errors[%d]", i), "negative record or line")
		}
	}
	s := r.Summary
	bv := s.ByVerdict
	if s.Alerts < 0 || bv.Malicious < 0 || bv.Suspicious < 0 || bv.PotentiallySuspicious < 0 || bv.Clean < 0 || bv.Unchecked < 0 ||
		s.IOCs.Unique < 0 || s.IOCs.Skipped < 0 {
		return invalid("summary", "negative count")
	}
	if bc := s.ByClassification; bc != nil && (bc.TruePositive < 0 || bc.FalsePositive < 0 || bc.NeedsReview < 0) {
		return invalid("summary.by_classification", "negative count")
	}
	for name, p := range s.Providers {
		if err := checkName(name); err != nil {
			return invalid("summary.providers", "provider %s: %v", quoted(name), err)
		}
		if p.Lookups < 0 || p.Requests < 0 || p.CacheHits < 0 || p.Errors < 0 || p.Skipped < 0 {
			return invalid("summary.providers."+name, "negative count")
		}
	}
	return nil
}

// checkAlert validates one alert; n is its 1-based position in the report.
func checkAlert(a *model.Alert, n int) error {
	where := fmt.Sprintf("alert %d", n)
	if a.ID == "" {
		return invalid(where, "id is missing")
	}
	where += " (id " + quoted(a.ID) + ")"
	if a.Source.Record < 0 || a.Source.Line < 0 {
		return invalid(where+": source", "negative record or line")
	}
	if len(a.Alert) > 0 && a.Alert[0] != '{' && string(a.Alert) != "null" {
		return invalid(where+": alert", "the original record is not a JSON object")
	}
	for i, x := range a.IOCs {
		w := fmt.Sprintf("%s: iocs[%d]", where, i)
		if !contains(iocTypeNames, x.Type) {
			return invalid(w+".type", "%s is not an IOC type (want one of %s)", quoted(x.Type), strings.Join(iocTypeNames, ", "))
		}
		if err := checkIOCValue(x.Type, x.Value); err != nil {
			return invalid(w+".value", "%s: %v", quoted(x.Value), err)
		}
		if x.Skipped != "" {
			if err := checkName(x.Skipped); err != nil {
				return invalid(w+".skipped", "%s: %v", quoted(x.Skipped), err)
			}
		}
	}
	for value, byProvider := range a.Enrichment {
		for name, r := range byProvider {
			w := where + ": enrichment[" + quoted(value) + "][" + quoted(name) + "]"
			if err := checkName(name); err != nil {
				return invalid(w, "provider name: %v", err)
			}
			if r == nil {
				continue
			}
			if !contains(statusNames, string(r.Status)) {
				return invalid(w+".status", "%s is not a lookup status (want one of %s)", quoted(string(r.Status)), strings.Join(statusNames, ", "))
			}
			for _, c := range []*int{r.Malicious, r.Suspicious, r.Harmless, r.Undetected, r.TotalReports, r.NumDistinctUsers} {
				if c != nil && *c < 0 {
					return invalid(w, "negative count")
				}
			}
			if c := r.AbuseConfidenceScore; c != nil && (*c < 0 || *c > 100) {
				return invalid(w+".abuse_confidence_score", "%d is not in 0-100", *c)
			}
		}
	}
	if a.Risk.Score < 0 || a.Risk.Score > 100 {
		return invalid(where+": risk.score", "%d is not in 0-100", a.Risk.Score)
	}
	if !contains(verdictNames, string(a.Risk.Verdict)) {
		return invalid(where+": risk.verdict", "%s is not a risk verdict (want one of %s)", quoted(string(a.Risk.Verdict)), strings.Join(verdictNames, ", "))
	}
	if c := a.Classification; c != nil {
		if !contains(model.Labels, c.Label) {
			return invalid(where+": classification.label", "%s is not a classification (want one of %s)", quoted(c.Label), strings.Join(model.Labels, ", "))
		}
		if c.Confidence < 0 || c.Confidence > 100 {
			return invalid(where+": classification.confidence", "%d is not in 0-100", c.Confidence)
		}
		if err := checkName(c.Source); err != nil {
			return invalid(where+": classification.source", "%s: %v", quoted(c.Source), err)
		}
		if c.PromptTokens < 0 || c.OutputTokens < 0 || c.ThoughtTokens < 0 || c.CostUSD < 0 {
			return invalid(where+": classification", "negative tokens or cost")
		}
	}
	return nil
}

// checkName accepts a name verdict itself writes (a provider, a skip
// reason, a classification source): 1 to 64 of a-z, 0-9, '_', '-', '.'.
func checkName(s string) error {
	if s == "" || len(s) > 64 {
		return errors.New("want 1 to 64 characters")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return errors.New("want only a-z, 0-9, '_', '-' and '.'")
		}
	}
	return nil
}

// checkIOCValue checks that an indicator value has its type's form: one
// clean token, safe to hand to a firewall list or to print. It checks form,
// not meaning (whether a domain is under a public suffix is the extractor's
// call, and a skipped ".test" name is not), so reports from older versions
// still read.
func checkIOCValue(typ, v string) error {
	if v == "" {
		return errors.New("empty")
	}
	switch typ {
	case "ipv4", "ipv6":
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" || a.Is4() != (typ == "ipv4") && !a.Is4In6() {
			return fmt.Errorf("not an %s address", typ)
		}
		return nil
	case "md5", "sha1", "sha256":
		want := map[string]int{"md5": 32, "sha1": 40, "sha256": 64}[typ]
		if len(v) != want {
			return fmt.Errorf("not a %s hash (want %d hex digits)", typ, want)
		}
		for i := 0; i < len(v); i++ {
			if !isHexDigit(v[i]) {
				return fmt.Errorf("not a %s hash (want %d hex digits)", typ, want)
			}
		}
		return nil
	case "domain":
		if len(v) > 1024 || v[0] == '-' || v[0] == '.' {
			return errors.New("not a domain name")
		}
		for _, r := range v {
			ok := r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') ||
				r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r))
			if !ok {
				return errors.New("not a domain name")
			}
		}
		return nil
	case "url":
		if len(v) > 64<<10 || !strings.Contains(v, "://") {
			return errors.New("not a URL")
		}
		for _, r := range v {
			if r <= ' ' || r == 0x7f || strings.ContainsRune("<>\"`", r) || unicode.IsSpace(r) || unsafeRune(r, true) || r == utf8.RuneError {
				return errors.New("not a URL (it holds a space, a quote, an angle bracket or a control character)")
			}
		}
		return nil
	}
	return fmt.Errorf("unknown type %s", quoted(typ))
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// tally recounts a report's summary from its alerts, after the guard.
type tally struct {
	alerts     int
	byVerdict  model.ByVerdict
	byLabel    model.ByClassification
	classified bool
	guarded    int
}

func (t *tally) add(a *model.Alert) {
	t.alerts++
	t.byVerdict.Add(a.Risk.Verdict)
	if c := a.Classification; c != nil {
		t.classified = true
		switch c.Label {
		case model.LabelTruePositive:
			t.byLabel.TruePositive++
		case model.LabelFalsePositive:
			t.byLabel.FalsePositive++
		case model.LabelNeedsReview:
			t.byLabel.NeedsReview++
		}
	}
}

// reconcile makes the summary say what the alerts say, with a note when it
// did not: a report read back must not claim counts its alerts contradict.
func (t *tally) reconcile(r *model.Report) {
	s := &r.Summary
	if t.guarded > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("%d FALSE_POSITIVE classification(s) on MALICIOUS alerts were changed to NEEDS_REVIEW when this report was read back (CONTRACT.md guard)", t.guarded))
	}
	mismatch := s.Alerts != t.alerts || s.ByVerdict != t.byVerdict
	if t.classified || s.ByClassification != nil {
		bc := t.byLabel
		if s.ByClassification == nil || *s.ByClassification != bc {
			// A change the guard made is already explained above.
			mismatch = mismatch || t.guarded == 0
			s.ByClassification = &bc
		}
	}
	if mismatch {
		s.Notes = append(s.Notes, "the summary counts of this report did not match its alerts; they are recounted from the alerts")
	}
	s.Alerts, s.ByVerdict = t.alerts, t.byVerdict
}
