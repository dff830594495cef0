// Package score computes an alert's risk: transparent, additive points from
// data-driven rules over the alert's enriched indicators. It is pure: no I/O,
// no clock.
//
// Points add up per artifact, the one thing an alert points at (CONTRACT.md
// "Risk score"): each indicator is its own artifact, except that the hashes
// of one file are one. A rule counts once per artifact however many of its
// indicators match it, and of the rules of one group (the default table's
// feed categories) only the one with the most points counts: a file listed
// by two feeds, or by its MD5 and its SHA-256, is one signal, not two.
package score

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

// Rule awards Points to each of an alert's artifacts that holds an
// indicator whose type is in Types and whose answer from Provider matches:
// status found; when Category or Categories is set, listed by a feed of one
// of those categories; and, when Field is set, the field's value within
// [Min, Max].
type Rule struct {
	Name     string   `mapstructure:"name" json:"name" yaml:"name"`
	Types    []string `mapstructure:"types" json:"types" yaml:"types"`
	Provider string   `mapstructure:"provider" json:"provider" yaml:"provider"`
	// Category and Categories select feed listings by category
	// (model.FeedCategories: c2, malware, phishing, drop, compromised,
	// listed, anonymizer); either or both may be given.
	Category   string   `mapstructure:"category" json:"category,omitempty" yaml:"category,omitempty"`
	Categories []string `mapstructure:"categories" json:"categories,omitempty" yaml:"categories,omitempty"`
	Field      string   `mapstructure:"field" json:"field,omitempty" yaml:"field,omitempty"`
	Min        *float64 `mapstructure:"min" json:"min,omitempty" yaml:"min,omitempty"`
	Max        *float64 `mapstructure:"max" json:"max,omitempty" yaml:"max,omitempty"`
	// Points is what the rule adds (or, negative, takes away). A rule worth
	// 0 points is switched off: it adds no factor either.
	Points int `mapstructure:"points" json:"points" yaml:"points"`
	// Group makes rules exclusive: of the rules of one group that match one
	// artifact, only the one with the most points counts.
	Group string `mapstructure:"group" json:"group,omitempty" yaml:"group,omitempty"`
	// Description is the factor's text after the indicator: {n} is the
	// field's value, {s} "s" unless it is 1, {feeds} the listings,
	// {provider} the provider, {attr:NAME} an attr of the answer and
	// {date:NAME} an RFC 3339 attr as its UTC date.
	Description string `mapstructure:"description" json:"description,omitempty" yaml:"description,omitempty"`
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

// FeedRules are the default rules for indicators listed in local feeds, by
// what a listing means (CONTRACT.md "Risk score"). They form one group: an
// artifact listed by several feeds counts its highest feed signal once.
func FeedRules() []Rule {
	return []Rule{
		{Name: "feed-c2-malware-phishing", Types: []string{"any"}, Provider: FeedProvider, Group: "feeds", Points: 70,
			Categories:  []string{model.CategoryC2, model.CategoryMalware, model.CategoryPhishing},
			Description: "listed in {feeds}"},
		{Name: "feed-drop", Types: []string{"any"}, Provider: FeedProvider, Group: "feeds", Points: 50,
			Categories: []string{model.CategoryDrop}, Description: "listed in {feeds}"},
		{Name: "feed-compromised", Types: []string{"any"}, Provider: FeedProvider, Group: "feeds", Points: 40,
			Categories: []string{model.CategoryCompromised, model.CategoryListed}, Description: "listed in {feeds}"},
		{Name: "feed-anonymizer", Types: []string{"any"}, Provider: FeedProvider, Group: "feeds", Points: 20,
			Categories: []string{model.CategoryAnonymizer}, Description: "listed in {feeds}"},
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
	// Artifact names the artifact the indicator belongs to within its
	// alert: indicators with the same positive Artifact are one thing (the
	// hashes of one file). 0 means an artifact of its own.
	Artifact int
}

type compiledRule struct {
	Rule
	types map[ioc.Type]bool
	cats  map[string]bool // nil: any listing
	key   int             // rules with one key count once per artifact: the rule's index, or its group's id
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
	groups := map[string]int{}
	for i, rule := range r.Rules {
		ts, _ := ioc.ExpandTypes(rule.Types)
		cr := compiledRule{Rule: rule, types: map[ioc.Type]bool{}, key: i}
		for _, t := range ts {
			cr.types[t] = true
		}
		for _, c := range rule.categories() {
			if cr.cats == nil {
				cr.cats = map[string]bool{}
			}
			cr.cats[strings.ToLower(strings.TrimSpace(c))] = true
		}
		if g := strings.TrimSpace(rule.Group); g != "" {
			if _, ok := groups[g]; !ok {
				groups[g] = len(r.Rules) + len(groups)
			}
			cr.key = groups[g]
		}
		s.rules = append(s.rules, cr)
	}
	return s, nil
}

// categories returns Category and Categories together.
func (r Rule) categories() []string {
	if r.Category == "" {
		return r.Categories
	}
	return append([]string{r.Category}, r.Categories...)
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
		for _, c := range rule.categories() {
			if model.FeedCategoryRank(strings.ToLower(strings.TrimSpace(c))) < 0 {
				return fmt.Errorf("%s: unknown feed category %q (want one of %s)", where, c, strings.Join(model.FeedCategories, ", "))
			}
		}
	}
	return nil
}

// Factor is one rule that matched one indicator.
type Factor struct {
	Points int
	Text   string
	key    int // the rule's index, or its group's id: see compiledRule.key
	rule   int // the rule's index, for a stable order
	pref   int // within an artifact, the lowest wins: SHA-256 names a file best
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
		if r.Points == 0 || !r.types[in.IOC.Type] {
			continue
		}
		res := in.Results[r.Provider]
		if res == nil || res.Status != model.StatusFound {
			continue
		}
		var listed []model.FeedMatch // the listings the rule selects
		if r.cats != nil {
			for _, m := range res.Matches {
				if r.cats[categoryOf(m)] {
					listed = append(listed, m)
				}
			}
			if len(listed) == 0 {
				continue
			}
		} else {
			listed = res.Matches
		}
		n, ok := 0.0, true
		if r.Field != "" {
			n, ok = res.Number(r.Field)
			if r.Field == "matches" {
				n = float64(len(listed))
			}
			if !ok || (r.Min != nil && n < *r.Min) || (r.Max != nil && n > *r.Max) {
				continue
			}
		}
		c.Factors = append(c.Factors, Factor{Points: r.Points, Text: describe(r, in.IOC, res, listed, n),
			key: r.key, rule: i, pref: preference(in.IOC.Type)})
	}
	return c
}

// categoryOf is a listing's category; a feed match from before categories
// existed (an old report) is "listed".
func categoryOf(m model.FeedMatch) string {
	if m.Category == "" {
		return model.CategoryListed
	}
	return m.Category
}

// preference orders the hashes of one file for naming it in a factor.
func preference(t ioc.Type) int {
	switch t {
	case ioc.SHA256:
		return 0
	case ioc.SHA1:
		return 1
	case ioc.MD5:
		return 2
	}
	return 3
}

// Combine adds up the contributions of an alert's unique, non-skipped
// indicators. artifact[i] names the artifact of cs[i] (see
// Indicator.Artifact; a nil artifact makes every indicator its own). Within
// an artifact each rule counts once, and of the rules of one group only the
// one with the most points; the factor shown is the best-named indicator's
// (SHA-256, then SHA-1, then MD5). The sum is capped, and factors come most
// points first, then in indicator order. Nil contributions are skipped.
func (s *Scorer) Combine(cs []*Contribution, artifact []int) model.Risk {
	var buf [16]combined
	es := buf[:0]
	for i, c := range cs {
		if c == nil {
			continue
		}
		art := -1 - i // an artifact of its own
		if i < len(artifact) && artifact[i] > 0 {
			art = artifact[i]
		}
		for k := range c.Factors {
			es = append(es, combined{art: art, ind: i, f: &c.Factors[k]})
		}
	}
	// Group the entries by (artifact, rule or group); in each group the
	// first after sorting is the one that counts.
	slices.SortStableFunc(es, func(a, b combined) int {
		if c := cmp.Compare(a.art, b.art); c != 0 {
			return c
		}
		if c := cmp.Compare(a.f.key, b.f.key); c != 0 {
			return c
		}
		if c := cmp.Compare(b.f.Points, a.f.Points); c != 0 {
			return c
		}
		if c := cmp.Compare(a.f.pref, b.f.pref); c != 0 {
			return c
		}
		return cmp.Compare(a.ind, b.ind)
	})
	kept := es[:0]
	for i, e := range es {
		if i > 0 && e.art == es[i-1].art && e.f.key == es[i-1].f.key {
			continue
		}
		kept = append(kept, e)
	}
	// Most points first; then in indicator order, then rule order.
	slices.SortStableFunc(kept, func(a, b combined) int {
		if c := cmp.Compare(b.f.Points, a.f.Points); c != 0 {
			return c
		}
		if c := cmp.Compare(a.ind, b.ind); c != 0 {
			return c
		}
		return cmp.Compare(a.f.rule, b.f.rule)
	})
	total := 0
	risk := model.Risk{Factors: make([]string, len(kept))}
	for i, e := range kept {
		total += e.f.Points
		risk.Factors[i] = e.f.Text
	}
	risk.Score = min(max(total, 0), s.cap)
	risk.Verdict = s.Verdict(risk.Score)
	return risk
}

// combined is one factor on its way through Combine.
type combined struct {
	art, ind int
	f        *Factor
}

// Score rates one alert from its unique, non-skipped indicators.
func (s *Scorer) Score(inds []Indicator) model.Risk {
	cs := make([]*Contribution, len(inds))
	arts := make([]int, len(inds))
	for i, in := range inds {
		c := s.Contribute(in)
		cs[i] = &c
		arts[i] = in.Artifact
	}
	return s.Combine(cs, arts)
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
// malicious detections (+40)", "IP 192.9.135.73: listed in
// abusech-feodo-ipblocklist.csv (c2) (+70)". listed are the feed listings
// the rule counted, each named with its category, and the listed CIDR or
// parent domain when that is what matched.
func describe(r *compiledRule, i ioc.IOC, res *model.Result, listed []model.FeedMatch, n float64) string {
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
	feeds := make([]string, 0, len(listed))
	for _, m := range listed {
		name := m.Feed + " (" + categoryOf(m)
		if m.Entry != "" {
			name += ", " + m.Entry
		}
		feeds = append(feeds, name+")")
	}
	d = strings.NewReplacer("{n}", num, "{s}", plural, "{feeds}", strings.Join(feeds, ", "), "{provider}", r.Provider).Replace(d)
	d = expandAttrs(d, res)
	return fmt.Sprintf("%s %s: %s (%+d)", i.Type.Label(), i.Value, d, r.Points)
}

// expandAttrs fills {attr:NAME} and {date:NAME} from the answer's attrs.
// A missing attr reads "unknown"; values are clipped to one short line.
func expandAttrs(d string, res *model.Result) string {
	if !strings.Contains(d, "{attr:") && !strings.Contains(d, "{date:") {
		return d
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(d, '{')
		if i < 0 {
			break
		}
		end := strings.IndexByte(d[i:], '}')
		if end < 0 {
			break
		}
		kind, name, ok := strings.Cut(d[i+1:i+end], ":")
		if !ok || (kind != "attr" && kind != "date") {
			b.WriteString(d[:i+1])
			d = d[i+1:]
			continue
		}
		b.WriteString(d[:i])
		b.WriteString(attrValue(res, kind, name))
		d = d[i+end+1:]
	}
	b.WriteString(d)
	return b.String()
}

func attrValue(res *model.Result, kind, name string) string {
	var v any
	if res != nil {
		v = res.Attrs[name]
	}
	s := ""
	switch x := v.(type) {
	case string:
		s = x
	case bool:
		s = strconv.FormatBool(x)
	case nil:
	default:
		if f, ok := res.Number(name); ok {
			s = strconv.FormatFloat(f, 'f', -1, 64)
		}
	}
	if kind == "date" {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			s = t.UTC().Format("2006-01-02")
		}
	}
	s = strings.Map(func(c rune) rune {
		if unicode.IsControl(c) || unicode.Is(unicode.Cf, c) {
			return ' '
		}
		return c
	}, strings.ToValidUTF8(s, ""))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:64], "")
	}
	if s == "" {
		return "unknown"
	}
	return s
}
