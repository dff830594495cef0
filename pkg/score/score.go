// Package score computes an alert's risk: transparent, additive points from
// data-driven rules over the alert's enriched indicators. It is pure: no I/O,
// no clock.
package score

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

// Rule awards Points to each of an alert's indicators whose type is in Types
// and whose answer from Provider matches: status found and, when Field is
// set, the field's value within [Min, Max].
type Rule struct {
	Name        string   `mapstructure:"name" json:"name" yaml:"name"`
	Types       []string `mapstructure:"types" json:"types" yaml:"types"`
	Provider    string   `mapstructure:"provider" json:"provider" yaml:"provider"`
	Field       string   `mapstructure:"field" json:"field,omitempty" yaml:"field,omitempty"`
	Min         *float64 `mapstructure:"min" json:"min,omitempty" yaml:"min,omitempty"`
	Max         *float64 `mapstructure:"max" json:"max,omitempty" yaml:"max,omitempty"`
	Points      int      `mapstructure:"points" json:"points" yaml:"points"`
	Description string   `mapstructure:"description" json:"description,omitempty" yaml:"description,omitempty"`
}

// Band maps scores from Min upwards to a verdict (until the next band).
type Band struct {
	Min     int           `mapstructure:"min" json:"min" yaml:"min"`
	Verdict model.Verdict `mapstructure:"verdict" json:"verdict" yaml:"verdict"`
}

// Rules is a complete scoring configuration (config key `scoring`).
type Rules struct {
	Rules []Rule `mapstructure:"rules" json:"rules" yaml:"rules"`
	Bands []Band `mapstructure:"bands" json:"bands" yaml:"bands"`
	Cap   int    `mapstructure:"cap" json:"cap" yaml:"cap"`
	// Fields are the result fields rules may read besides the common ones
	// of model.Result (model.NumberFields): the providers' own, which this
	// package cannot know (it imports no provider). The caller that
	// composes the table fills it; it is not configuration.
	Fields []string `mapstructure:"-" json:"-" yaml:"-"`
}

func f(v float64) *float64 { return &v }

// DefaultCap is the highest risk score (CONTRACT.md).
const DefaultCap = 100

// DefaultBands map scores to verdicts (CONTRACT.md "Risk score").
func DefaultBands() []Band {
	return []Band{
		{Min: 0, Verdict: model.Clean},
		{Min: 10, Verdict: model.PotentiallySuspicious},
		{Min: 40, Verdict: model.Suspicious},
		{Min: 70, Verdict: model.Malicious},
	}
}

// FeedProvider is the name the local feeds answer under.
const FeedProvider = "feeds"

// FeedRules are the default rules for indicators listed in local feeds.
func FeedRules() []Rule {
	return []Rule{
		{Name: "local-feed", Types: []string{"any"}, Provider: FeedProvider, Points: 40,
			Description: "listed in local feed {feeds}"},
	}
}

// Default composes the built-in table: the given provider rules (each
// provider registers its own; the caller passes them in report order),
// then the local-feed rules, with the default bands and cap.
func Default(providerRules ...Rule) Rules {
	rules := make([]Rule, 0, len(providerRules)+len(FeedRules()))
	rules = append(rules, providerRules...)
	rules = append(rules, FeedRules()...)
	return Rules{Cap: DefaultCap, Rules: rules, Bands: DefaultBands()}
}

// Indicator is one of an alert's unique, non-skipped indicators with every
// provider's answer about it (keyed by provider name).
type Indicator struct {
	IOC     ioc.IOC
	Results map[string]*model.Result
}

type compiledRule struct {
	Rule
	types map[ioc.Type]bool
}

// Scorer applies validated Rules. It is safe for concurrent use.
type Scorer struct {
	rules []compiledRule
	bands []Band
	cap   int
}

// New validates rules and prepares them for scoring.
func New(r Rules) (*Scorer, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	s := &Scorer{cap: r.Cap, bands: append([]Band(nil), r.Bands...)}
	sort.SliceStable(s.bands, func(i, j int) bool { return s.bands[i].Min < s.bands[j].Min })
	for _, rule := range r.Rules {
		ts, _ := ioc.ExpandTypes(rule.Types)
		cr := compiledRule{Rule: rule, types: map[ioc.Type]bool{}}
		for _, t := range ts {
			cr.types[t] = true
		}
		s.rules = append(s.rules, cr)
	}
	return s, nil
}

// Validate checks a scoring configuration and says what is wrong in words.
func (r Rules) Validate() error {
	if r.Cap <= 0 {
		return fmt.Errorf("scoring.cap must be positive, got %d", r.Cap)
	}
	if len(r.Bands) == 0 {
		return fmt.Errorf("scoring.bands is empty")
	}
	lowest := math.MaxInt
	seen := map[model.Verdict]bool{}
	for i, b := range r.Bands {
		if b.Verdict.Rank() < 0 {
			return fmt.Errorf("scoring.bands[%d]: unknown verdict %q (want one of %s)", i, b.Verdict, model.VerdictNames())
		}
		if seen[b.Verdict] {
			return fmt.Errorf("scoring.bands[%d]: verdict %s appears twice", i, b.Verdict)
		}
		seen[b.Verdict] = true
		lowest = min(lowest, b.Min)
	}
	if lowest > 0 {
		return fmt.Errorf("scoring.bands: no band starts at 0, so low scores would have no verdict")
	}
	fieldOK := map[string]bool{}
	fields := append(append([]string(nil), model.NumberFields...), r.Fields...)
	for _, n := range fields {
		fieldOK[n] = true
	}
	for i, rule := range r.Rules {
		where := fmt.Sprintf("scoring.rules[%d]", i)
		if rule.Name != "" {
			where += " (" + rule.Name + ")"
		}
		if rule.Provider == "" {
			return fmt.Errorf("%s: provider is required", where)
		}
		if len(rule.Types) == 0 {
			return fmt.Errorf("%s: types is required (ipv4, ipv6, domain, url, md5, sha1, sha256, ip, hash or any)", where)
		}
		if _, err := ioc.ExpandTypes(rule.Types); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if rule.Field != "" && !fieldOK[rule.Field] {
			return fmt.Errorf("%s: unknown field %q (want one of %s)", where, rule.Field, strings.Join(fields, ", "))
		}
		if rule.Field == "" && (rule.Min != nil || rule.Max != nil) {
			return fmt.Errorf("%s: min/max need a field", where)
		}
		if rule.Min != nil && rule.Max != nil && *rule.Min > *rule.Max {
			return fmt.Errorf("%s: min %v is above max %v", where, *rule.Min, *rule.Max)
		}
	}
	return nil
}

// Factor is one rule that matched one indicator.
type Factor struct {
	Points int
	Text   string
}

// Contribution is what one indicator adds to any alert that holds it. It
// depends only on the indicator and its answers, so a batch computes it once
// per unique indicator, not once per alert.
type Contribution struct {
	Factors []Factor // in rule order
}

// Contribute applies every rule to one indicator.
func (s *Scorer) Contribute(in Indicator) Contribution {
	var c Contribution
	for i := range s.rules {
		r := &s.rules[i]
		if !r.types[in.IOC.Type] {
			continue
		}
		res := in.Results[r.Provider]
		if res == nil || res.Status != model.StatusFound {
			continue
		}
		n, ok := 0.0, true
		if r.Field != "" {
			n, ok = res.Number(r.Field)
			if !ok || (r.Min != nil && n < *r.Min) || (r.Max != nil && n > *r.Max) {
				continue
			}
		}
		c.Factors = append(c.Factors, Factor{Points: r.Points, Text: describe(r, in.IOC, res, n)})
	}
	return c
}

// Combine adds up the contributions of an alert's unique, non-skipped
// indicators: the sum is capped, and factors come most points first, then in
// indicator order. Nil contributions are skipped.
func (s *Scorer) Combine(cs []*Contribution) model.Risk {
	n, total := 0, 0
	for _, c := range cs {
		if c != nil {
			n += len(c.Factors)
		}
	}
	fs := make([]Factor, 0, n)
	for _, c := range cs {
		if c == nil {
			continue
		}
		for _, f := range c.Factors {
			total += f.Points
			fs = append(fs, f)
		}
	}
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Points > fs[j].Points })
	risk := model.Risk{Score: min(max(total, 0), s.cap), Factors: make([]string, len(fs))}
	for i, f := range fs {
		risk.Factors[i] = f.Text
	}
	risk.Verdict = s.Verdict(risk.Score)
	return risk
}

// Score rates one alert from its unique, non-skipped indicators.
func (s *Scorer) Score(inds []Indicator) model.Risk {
	cs := make([]*Contribution, len(inds))
	for i, in := range inds {
		c := s.Contribute(in)
		cs[i] = &c
	}
	return s.Combine(cs)
}

// Verdict maps a score to its band.
func (s *Scorer) Verdict(score int) model.Verdict {
	v := s.bands[0].Verdict
	for _, b := range s.bands {
		if score >= b.Min {
			v = b.Verdict
		}
	}
	return v
}

// describe writes one factor in words: "IP 185.220.101.45: 15 VirusTotal
// malicious detections (+40)".
func describe(r *compiledRule, i ioc.IOC, res *model.Result, n float64) string {
	d := r.Description
	if d == "" {
		if r.Field != "" {
			d = r.Provider + " " + r.Field + " {n}"
		} else {
			d = "found by " + r.Provider
		}
	}
	num := strconv.FormatFloat(n, 'f', -1, 64)
	plural := "s"
	if n == 1 {
		plural = ""
	}
	feeds := make([]string, 0, len(res.Matches))
	for _, m := range res.Matches {
		name := m.Feed
		if m.Entry != "" {
			name += " (" + m.Entry + ")"
		}
		feeds = append(feeds, name)
	}
	d = strings.NewReplacer("{n}", num, "{s}", plural, "{feeds}", strings.Join(feeds, ", "), "{provider}", r.Provider).Replace(d)
	return fmt.Sprintf("%s %s: %s (+%d)", i.Type.Label(), i.Value, d, r.Points)
}
