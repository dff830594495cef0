package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/verdict-dev/verdict/pkg/alert"
	"github.com/verdict-dev/verdict/pkg/attack"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

// View is the one model every human format renders: counts precomputed,
// alerts sorted most severe first and capped, every indicator defanged and
// every attacker-controlled string made safe for a terminal. Templates only
// format it.
type View struct {
	Tool        model.Tool
	GeneratedAt string
	Inputs      []string
	InputErrors []model.InputError
	Summary     model.Summary
	Notes       []string

	Verdicts        []Count // most severe first, all four, then UNCHECKED
	Classifications []Count // only when classified
	Providers       []ProviderRow
	Feeds           []FeedRow // the local feed files the run used, with their age
	Histogram       []Bucket  // scores in tens: 0-9 ... 90-100, of the alerts that were checked
	Unchecked       int       // alerts left out of the histogram: UNCHECKED has no score
	TopIOCs         []IOCCount
	HistogramMax    int
	TopIOCMax       int

	Rows           []*Row // the alert table, most severe first
	RowsOmitted    int
	Details        []*AlertView // alerts with a detail section, most severe first
	DetailsOmitted int

	Classified bool
	MaxDetails int
	MaxRows    int
	// Attribution is MITRE's copyright designation, set when a detail
	// section names ATT&CK techniques: MITRE's terms ask for it next to
	// any copy of ATT&CK.
	Attribution string
}

// Count is one bar of a distribution.
type Count struct {
	Name    string
	Count   int
	Percent int
}

// ProviderRow is one provider's line in the summary.
type ProviderRow struct {
	Name string
	model.ProviderStats
}

// Bucket is one bar of the score histogram.
type Bucket struct {
	Label string
	Count int
}

// IOCCount is one of the indicators seen in most alerts.
type IOCCount struct {
	Type     string
	Defanged string
	Alerts   int
	Verdict  string // the most severe verdict among those alerts
}

// Row is one alert in the table.
type Row struct {
	Seq        int    // order in the report (1-based)
	Anchor     string // HTML id of its detail section, "" if it has none
	ID         string // sanitised alert id
	Verdict    string
	Score      int
	Label      string // classification label, if any
	Confidence int
	Source     string
	IOCs       int
	Skipped    int
	TopFactor  string // defanged
	Title      string // a short description of the alert (rule or signature name), sanitised

	alert    *model.Alert // until Build finishes the row; only kept rows hold on to it
	finished bool
}

// finish makes a kept row fit to show. Only the rows that make the cut pay
// for defanging and finding a title, which matters with a million alerts.
func (r *Row) finish(a *model.Alert) {
	if r.finished || a == nil {
		return
	}
	r.finished = true
	r.ID, r.Source = shown(clip(r.ID, idLimit)), shown(r.Source)
	r.Title = shown(alertTitle(a.Alert))
	if len(a.Risk.Factors) > 0 {
		r.TopFactor = shown(clip(a.Risk.Factors[0], fieldLimit))
	}
	r.alert = nil
}

// AlertView is one alert's detail section.
type AlertView struct {
	*Row
	Factors        []string // defanged
	IOCs           []IOCView
	Classification *ClassificationView
	Raw            string // the original record, pretty-printed, defanged, sanitised
	Fields         []FieldView
}

// FieldView is a short key/value from the alert worth showing first.
type FieldView struct {
	Key   string
	Value string
}

// IOCView is one indicator of an alert, defanged, with each provider's answer.
type IOCView struct {
	Type     string
	Defanged string
	Fields   string
	Skipped  string
	Results  []ResultView
}

// ResultView is one provider's answer, summarised in words.
type ResultView struct {
	Provider string
	Status   string
	Detail   string
	Hit      bool // the answer counts against the indicator
	// Label is the answer's headline, shown apart: a domain's age,
	// GreyNoise's label. Tone is "bad", "good" or "" for its emphasis.
	Label string
	Tone  string
	// Summary is the label and the detail together, for text formats.
	Summary string
}

// ClassificationView is the label, defanged and sanitised.
type ClassificationView struct {
	Label        string
	Confidence   int
	Source       string
	Why          string
	Model        string
	ModelVersion string
	Reasoning    []string
	Techniques   []string        // the ids, sanitised
	Attack       []TechniqueView // the same, named from the embedded ATT&CK matrix
	NextStep     string
	Tokens       string
	CostUSD      float64
}

// TechniqueView is one ATT&CK technique of a classification, with its name
// and tactics from the embedded matrix (pkg/attack). An id the matrix does
// not know as an active technique (a report from another ATT&CK release,
// or edited by hand) keeps its id alone.
type TechniqueView struct {
	ID      string // sanitised
	Name    string // "Brute Force: Password Guessing"; "" when unknown
	Tactics string // "Credential Access"; "" when unknown
}

// String is "T1110.001 Brute Force: Password Guessing (Credential Access)".
func (t TechniqueView) String() string {
	s := t.ID
	if t.Name != "" {
		s += " " + t.Name
	}
	if t.Tactics != "" {
		s += " (" + t.Tactics + ")"
	}
	return s
}

// AttackLine is the techniques on one line, for the text formats.
func (c *ClassificationView) AttackLine() string {
	parts := make([]string, len(c.Attack))
	for i, t := range c.Attack {
		parts[i] = t.String()
	}
	return strings.Join(parts, "; ")
}

// techniqueViews names technique ids through the embedded matrix.
func techniqueViews(ids []string) []TechniqueView {
	out := make([]TechniqueView, 0, len(ids))
	for _, id := range ids {
		tv := TechniqueView{ID: shown(id)}
		if t, ok := attack.Lookup(id); ok {
			tv.ID, tv.Name, tv.Tactics = t.ID, t.Name, strings.Join(t.TacticNames(), ", ")
		}
		out = append(out, tv)
	}
	return out
}

// ViewOptions caps the parts of a view that grow with the batch.
type ViewOptions struct {
	MaxDetails int // 0 = 200
	MaxRows    int // 0 = 2000
}

// ViewBuilder is a Sink that aggregates a report into a View while keeping
// only the most severe alerts: memory is bounded by the caps plus one
// counter per unique indicator.
type ViewBuilder struct {
	opts    ViewOptions
	header  *model.Report
	seq     int
	rows    []*Row
	details []*detailCandidate
	// rowCut and detailCut are the least severe row and detail kept at the
	// last trim: an alert that is not more severe can never make the cut
	// (it also comes later), so it costs no allocation at all.
	rowCut, detailCut *Row
	hist              [10]int
	// Indicators are counted by model.IOC.Ref in dense when the stream
	// numbers them, else by value in iocCount.
	iocCount map[iocKey]*iocTally
	dense    []denseTally
	types    []string // type names of dense tallies, by code
	classes  map[string]int
	// What the builder saw itself: the view's counts come from the alerts,
	// not from a header that a hand-made report could get wrong.
	byVerdict  model.ByVerdict
	classified bool
}

type detailCandidate struct {
	row   *Row
	alert *model.Alert
}

type iocKey struct{ typ, value string }

type iocTally struct {
	typ, value string
	alerts     int
	worst      model.Verdict
}

// denseTally is iocTally for numbered indicators, in 24 bytes.
type denseTally struct {
	value  string
	alerts uint32
	worst  int8  // verdict rank + 1; 0 none yet
	typ    uint8 // into ViewBuilder.types
}

// typeCode returns the code of an indicator type name.
func (vb *ViewBuilder) typeCode(t string) uint8 {
	for i, n := range vb.types {
		if n == t {
			return uint8(i)
		}
	}
	if len(vb.types) == 255 {
		return 255 // hostile input only: the type shows as the last one
	}
	vb.types = append(vb.types, t)
	return uint8(len(vb.types) - 1)
}

// NewViewBuilder returns an empty builder.
func NewViewBuilder(opts ViewOptions) *ViewBuilder {
	if opts.MaxDetails <= 0 {
		opts.MaxDetails = 200
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = 2000
	}
	return &ViewBuilder{opts: opts, iocCount: map[iocKey]*iocTally{}, classes: map[string]int{}}
}

// Begin implements Sink.
func (vb *ViewBuilder) Begin(r *model.Report) error { vb.header = r; return nil }

// Alert implements Sink.
func (vb *ViewBuilder) Alert(a *model.Alert) error {
	vb.seq++
	vb.byVerdict.Add(a.Risk.Verdict)
	if a.Risk.Verdict != model.Unchecked {
		vb.hist[min(max(a.Risk.Score, 0)/10, 9)]++
	}
	rank := a.Risk.Verdict.Rank()
	for _, i := range a.IOCs {
		if i.Skipped != "" {
			continue
		}
		if i.Ref > 0 {
			vb.countDense(i, rank)
			continue
		}
		k := iocKey{i.Type, i.Value}
		t := vb.iocCount[k]
		if t == nil {
			t = &iocTally{typ: i.Type, value: i.Value}
			vb.iocCount[k] = t
		}
		t.alerts++
		if rank > t.worst.Rank() {
			t.worst = a.Risk.Verdict
		}
	}
	if a.Classification != nil {
		vb.classified = true
		vb.classes[a.Classification.Label]++
	}
	probe := Row{Seq: vb.seq, Verdict: string(a.Risk.Verdict), Score: a.Risk.Score}
	if c := a.Classification; c != nil {
		probe.Label = c.Label
	}
	keepRow := vb.rowCut == nil || less(&probe, vb.rowCut)
	keepDetail := vb.detailCut == nil || less(&probe, vb.detailCut)
	if !keepRow && !keepDetail {
		return nil
	}
	row := vb.row(a)
	if keepRow {
		vb.rows = append(vb.rows, row)
		if len(vb.rows) >= 2*vb.opts.MaxRows {
			sortRows(vb.rows)
			for _, r := range vb.rows[vb.opts.MaxRows:] {
				r.alert = nil
			}
			vb.rows = vb.rows[:vb.opts.MaxRows]
			vb.rowCut = vb.rows[len(vb.rows)-1]
		}
	}
	if keepDetail {
		vb.details = append(vb.details, &detailCandidate{row: row, alert: a})
		if len(vb.details) >= 2*vb.opts.MaxDetails {
			sortDetails(vb.details)
			clear(vb.details[vb.opts.MaxDetails:])
			vb.details = vb.details[:vb.opts.MaxDetails]
			vb.detailCut = vb.details[len(vb.details)-1].row
		}
	}
	return nil
}

// countDense counts a numbered indicator for an alert of verdict rank.
func (vb *ViewBuilder) countDense(i model.IOC, rank int) {
	n := int(i.Ref)
	if n > len(vb.dense) {
		vb.dense = slices.Grow(vb.dense, n-len(vb.dense))[:n]
	}
	t := &vb.dense[n-1]
	if t.alerts == 0 {
		t.value, t.typ = i.Value, vb.typeCode(i.Type)
	}
	t.alerts++
	if int8(rank+1) > t.worst {
		t.worst = int8(rank + 1)
	}
}

// End implements Sink.
func (vb *ViewBuilder) End(r *model.Report) error {
	vb.header = r
	return nil
}

// less orders most severe first: verdict (UNCHECKED above CLEAN: nobody
// has looked at it), score, classification weight, report order.
func less(a, b *Row) bool {
	if sa, sb := severity(a.Verdict), severity(b.Verdict); sa != sb {
		return sa > sb
	}
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	if la, lb := labelRank(a.Label), labelRank(b.Label); la != lb {
		return la > lb
	}
	return a.Seq < b.Seq
}

// severity ranks a verdict for display.
func severity(v string) int {
	switch model.Verdict(v) {
	case model.Malicious:
		return 4
	case model.Suspicious:
		return 3
	case model.PotentiallySuspicious:
		return 2
	case model.Unchecked:
		return 1
	}
	return 0
}

func labelRank(l string) int {
	switch l {
	case "TRUE_POSITIVE":
		return 2
	case "NEEDS_REVIEW":
		return 1
	}
	return 0
}

func sortRows(rows []*Row) {
	sort.SliceStable(rows, func(i, j int) bool { return less(rows[i], rows[j]) })
}

func sortDetails(d []*detailCandidate) {
	sort.SliceStable(d, func(i, j int) bool { return less(d[i].row, d[j].row) })
}

func (vb *ViewBuilder) row(a *model.Alert) *Row {
	r := &Row{
		Seq:     vb.seq,
		ID:      a.ID, // made fit to show in Build, for the rows that make the cut
		Verdict: token(string(a.Risk.Verdict)),
		Score:   a.Risk.Score,
		Source:  clip(a.Source.File, fieldLimit) + "#" + itoa(a.Source.Record),
		alert:   a,
	}
	for _, i := range a.IOCs {
		if i.Skipped != "" {
			r.Skipped++
		} else {
			r.IOCs++
		}
	}
	if c := a.Classification; c != nil {
		r.Label, r.Confidence = token(c.Label), c.Confidence
	}
	return r
}

// Build finishes the view. It may be called once, after End.
func (vb *ViewBuilder) Build() *View {
	h := vb.header
	if h == nil {
		h = &model.Report{}
	}
	sum := h.Summary
	sum.Alerts, sum.ByVerdict = vb.seq, vb.byVerdict
	if vb.classified || sum.ByClassification != nil {
		sum.ByClassification = &model.ByClassification{
			TruePositive: vb.classes[model.LabelTruePositive], FalsePositive: vb.classes[model.LabelFalsePositive],
			NeedsReview: vb.classes[model.LabelNeedsReview],
		}
	}
	v := &View{
		Tool:        model.Tool{Name: shown(clip(h.Tool.Name, 64)), Version: shown(clip(h.Tool.Version, 128))},
		GeneratedAt: shown(clip(h.GeneratedAt, 64)),
		Inputs:      sanitizeAll(h.Inputs), InputErrors: sanitizeErrors(h.InputErrors),
		Summary: sum, Notes: sanitizeAll(h.Summary.Notes),
		MaxDetails: vb.opts.MaxDetails, MaxRows: vb.opts.MaxRows,
	}
	v.Summary.Notes = v.Notes
	if c := sum.Classification; c != nil {
		cp := *c
		cp.Model, cp.ModelVersion = shown(clip(cp.Model, 256)), shown(clip(cp.ModelVersion, 256))
		v.Summary.Classification = &cp
	}
	total := sum.Alerts
	for i := len(model.AllVerdicts) - 1; i >= 0; i-- {
		name := model.AllVerdicts[i]
		n := sum.ByVerdict.Get(name)
		v.Verdicts = append(v.Verdicts, Count{Name: string(name), Count: n, Percent: percent(n, total)})
	}
	v.Verdicts = append(v.Verdicts, Count{Name: string(model.Unchecked), Count: sum.ByVerdict.Unchecked, Percent: percent(sum.ByVerdict.Unchecked, total)})
	v.Unchecked = sum.ByVerdict.Unchecked
	if bc := sum.ByClassification; bc != nil {
		v.Classified = true
		for _, c := range []Count{{Name: model.LabelTruePositive, Count: bc.TruePositive}, {Name: model.LabelNeedsReview, Count: bc.NeedsReview}, {Name: model.LabelFalsePositive, Count: bc.FalsePositive}} {
			c.Percent = percent(c.Count, total)
			v.Classifications = append(v.Classifications, c)
		}
	}
	names := make([]string, 0, len(sum.Providers))
	for n := range sum.Providers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v.Providers = append(v.Providers, ProviderRow{Name: shown(clip(n, 64)), ProviderStats: sum.Providers[n]})
	}
	v.Summary.Providers = nil // shown through v.Providers, with the names made safe
	v.Feeds = feedRows(sum.Feeds)
	v.Summary.Feeds = nil // shown through v.Feeds, likewise
	for i, n := range vb.hist {
		label := fmt.Sprintf("%d-%d", i*10, i*10+9)
		if i == 9 {
			label = "90-100"
		}
		v.Histogram = append(v.Histogram, Bucket{Label: label, Count: n})
		v.HistogramMax = max(v.HistogramMax, n)
	}
	for _, t := range vb.topIOCs(10) {
		v.TopIOCs = append(v.TopIOCs, IOCCount{Type: token(t.typ), Defanged: shownIOC(t.typ, t.value), Alerts: t.alerts, Verdict: token(string(t.worst))})
		v.TopIOCMax = max(v.TopIOCMax, t.alerts)
	}

	sortRows(vb.rows)
	if len(vb.rows) > vb.opts.MaxRows {
		vb.rows = vb.rows[:vb.opts.MaxRows]
	}
	for _, r := range vb.rows {
		r.finish(r.alert)
	}
	v.Rows = vb.rows
	v.RowsOmitted = total - len(v.Rows)
	sortDetails(vb.details)
	if len(vb.details) > vb.opts.MaxDetails {
		vb.details = vb.details[:vb.opts.MaxDetails]
	}
	for _, d := range vb.details {
		d.row.finish(d.alert)
		d.row.Anchor = fmt.Sprintf("alert-%d", d.row.Seq)
		av := detailView(d.row, d.alert)
		if av.Classification != nil && len(av.Classification.Attack) > 0 {
			v.Attribution = attack.Attribution()
		}
		v.Details = append(v.Details, av)
	}
	v.DetailsOmitted = total - len(v.Details)
	if v.RowsOmitted < 0 {
		v.RowsOmitted = 0
	}
	if v.DetailsOmitted < 0 {
		v.DetailsOmitted = 0
	}
	return v
}

// topIOCs returns the n indicators seen in most alerts: most alerts first,
// then the most severe, then by value. It selects instead of sorting every
// tally: there may be a million.
func (vb *ViewBuilder) topIOCs(n int) []iocTally {
	before := func(a, b *iocTally) bool {
		if a.alerts != b.alerts {
			return a.alerts > b.alerts
		}
		if ra, rb := a.worst.Rank(), b.worst.Rank(); ra != rb {
			return ra > rb
		}
		return a.value < b.value
	}
	top := make([]iocTally, 0, n+1)
	offer := func(t iocTally) {
		if len(top) == n && !before(&t, &top[n-1]) {
			return
		}
		i := sort.Search(len(top), func(i int) bool { return before(&t, &top[i]) })
		top = slices.Insert(top, i, t)
		if len(top) > n {
			top = top[:n]
		}
	}
	for _, t := range vb.iocCount {
		offer(*t)
	}
	for _, d := range vb.dense {
		if d.alerts == 0 {
			continue
		}
		t := iocTally{typ: vb.types[d.typ], value: d.value, alerts: int(d.alerts), worst: verdictOfRank(int(d.worst) - 1)}
		if len(top) == n && t.alerts < top[n-1].alerts {
			continue // the common case, decided without building the verdict
		}
		offer(t)
	}
	return top
}

// verdictOfRank inverts model.Verdict.Rank for the severity verdicts. An
// indicator seen only in UNCHECKED alerts has no worst verdict (""), as in
// iocTally.
func verdictOfRank(r int) model.Verdict {
	if r >= 0 && r < len(model.AllVerdicts) {
		return model.AllVerdicts[r]
	}
	return ""
}

func percent(n, total int) int {
	if total == 0 {
		return 0
	}
	return (n*100 + total/2) / total
}

func detailView(row *Row, a *model.Alert) *AlertView {
	av := &AlertView{Row: row}
	for _, f := range a.Risk.Factors {
		av.Factors = append(av.Factors, shownText(clip(f, fieldLimit)))
	}
	for _, i := range a.IOCs {
		iv := IOCView{Type: token(i.Type), Defanged: shownIOC(i.Type, i.Value), Fields: shown(clip(strings.Join(i.Fields, ", "), fieldLimit)), Skipped: token(i.Skipped)}
		res := a.Enrichment[i.Value]
		providers := make([]string, 0, len(res))
		for p := range res {
			providers = append(providers, p)
		}
		sort.Strings(providers)
		for _, p := range providers {
			if res[p] != nil {
				iv.Results = append(iv.Results, resultView(p, res[p]))
			}
		}
		av.IOCs = append(av.IOCs, iv)
	}
	if c := a.Classification; c != nil {
		cv := &ClassificationView{Label: token(c.Label), Confidence: c.Confidence, Source: token(c.Source), Why: shown(clip(c.Why, fieldLimit)),
			Model: shown(clip(c.Model, 256)), ModelVersion: shown(clip(c.ModelVersion, 256)), NextStep: shownText(clip(c.NextStep, fieldLimit)), CostUSD: c.CostUSD}
		for _, r := range c.Reasoning {
			cv.Reasoning = append(cv.Reasoning, shownText(clip(r, fieldLimit)))
		}
		cv.Techniques = sanitizeAll(c.Techniques)
		cv.Attack = techniqueViews(c.Techniques)
		if c.PromptTokens+c.OutputTokens+c.ThoughtTokens > 0 {
			cv.Tokens = fmt.Sprintf("%d prompt, %d output, %d thinking", c.PromptTokens, c.OutputTokens, c.ThoughtTokens)
		}
		av.Classification = cv
	}
	av.Raw = shownText(displayRaw(a.Alert))
	return av
}

// resultView writes one provider answer in words.
func resultView(provider string, r *model.Result) ResultView {
	rv := ResultView{Provider: shown(clip(provider, 64)), Status: token(string(r.Status))}
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	switch r.Status {
	case model.StatusSkipped:
		rv.Detail = clip(r.Reason, fieldLimit)
	case model.StatusError:
		rv.Detail = clip(r.Error, fieldLimit)
	case model.StatusNotFound:
		rv.Detail = "not found"
	case model.StatusFound:
		if r.Malicious != nil {
			add("%d malicious", *r.Malicious)
			rv.Hit = rv.Hit || *r.Malicious > 0
		}
		if r.Suspicious != nil && *r.Suspicious > 0 {
			add("%d suspicious", *r.Suspicious)
		}
		if r.Reputation != nil {
			add("reputation %d", *r.Reputation)
		}
		if r.AbuseConfidenceScore != nil {
			add("confidence %d%%", *r.AbuseConfidenceScore)
			rv.Hit = rv.Hit || *r.AbuseConfidenceScore >= 25
		}
		if r.TotalReports != nil {
			add("%d reports", *r.TotalReports)
		}
		if r.IsTor != nil && *r.IsTor {
			add("Tor exit")
		}
		if r.UsageType != "" {
			add("%s", r.UsageType)
		}
		if r.ThreatLabel != "" {
			add("%s", r.ThreatLabel)
		}
		if r.Country != "" {
			add("%s", r.Country)
		}
		if r.ASOwner != "" {
			add("%s", r.ASOwner)
		}
		if len(r.Tags) > 0 {
			add("tags: %s", strings.Join(r.Tags, ", "))
		}
		if len(r.Hostnames) > 0 {
			add("hosts: %s", strings.Join(r.Hostnames, ", "))
		}
		var shownAttrs []string
		rv.Label, rv.Tone, shownAttrs = headline(provider, r)
		parts = append(parts, model.AttrWords(without(r.Attrs, shownAttrs))...)
		for _, m := range r.Matches {
			rv.Hit = true
			s := "listed in " + m.Feed
			if m.Entry != "" {
				s += " as " + m.Entry
			}
			if m.Info != "" {
				s += " (" + m.Info + ")"
			}
			parts = append(parts, s)
		}
		if r.Cached {
			add("cached")
		}
		rv.Detail = strings.Join(parts, "; ")
	}
	rv.Detail = shownText(clip(rv.Detail, fieldLimit))
	rv.Label = shown(clip(rv.Label, 256))
	rv.Summary = rv.Detail
	if rv.Label != "" {
		rv.Summary = rv.Label
		if rv.Detail != "" {
			rv.Summary += "; " + rv.Detail
		}
	}
	return rv
}

// youngDays is how young a domain is shown as a warning: the default
// rules' longest window.
const youngDays = 30

// headline is the fact of an answer that people look for first, and the
// attrs it already says: when a domain was registered (RDAP), what
// GreyNoise calls an address. Tone "bad" marks a young domain or a
// malicious label, "good" a benign one or a known service.
func headline(provider string, r *model.Result) (label, tone string, said []string) {
	if provider == "rdap" {
		said = []string{"registered", "domain_age_days"}
		reg, _ := r.Attrs["registered"].(string)
		t, err := time.Parse(time.RFC3339, reg)
		if err != nil {
			return "registration date unknown", "", said
		}
		label = "registered " + t.UTC().Format("2006-01-02")
		if days, ok := r.Number("domain_age_days"); ok {
			label += fmt.Sprintf(" (%s ago)", plural(int(days), "day"))
			if days <= youngDays {
				tone = "bad"
			}
		}
		return label, tone, said
	}
	if provider == "internetdb" {
		return portsHeadline(r)
	}
	if r.Classification == "" && r.RIOT == nil {
		return "", "", nil
	}
	var parts []string
	if r.Classification != "" {
		parts = append(parts, r.Classification)
	}
	name, _ := r.Attrs["name"].(string)
	riot := r.RIOT != nil && *r.RIOT
	switch {
	case riot && name != "":
		parts = append(parts, "known service (RIOT): "+name)
		said = append(said, "name")
	case riot:
		parts = append(parts, "known service (RIOT)")
	}
	if noise, ok := r.Attrs["noise"].(bool); ok {
		said = append(said, "noise")
		if noise {
			parts = append(parts, "internet scanner")
		}
	}
	switch {
	case riot || strings.EqualFold(r.Classification, "benign"):
		tone = "good"
	case strings.EqualFold(r.Classification, "malicious"):
		tone = "bad"
	}
	return strings.Join(parts, ", "), tone, said
}

// portsHeadline is what Shodan saw open on an address, and how many known
// CVEs (the ids stay in the detail).
func portsHeadline(r *model.Result) (label, tone string, said []string) {
	ports, _ := r.Attrs["ports"].([]any)
	if ps, ok := r.Attrs["ports"].([]int); ok {
		for _, p := range ps {
			ports = append(ports, p)
		}
	}
	var parts []string
	if len(ports) > 0 {
		said = append(said, "ports")
		shown := make([]string, 0, min(len(ports), 12))
		for _, p := range ports[:min(len(ports), 12)] {
			shown = append(shown, fmt.Sprint(p))
		}
		s := "open ports " + strings.Join(shown, ", ")
		if len(ports) > len(shown) {
			s += fmt.Sprintf(" (+%d more)", len(ports)-len(shown))
		}
		parts = append(parts, s)
	}
	n := 0
	switch v := r.Attrs["vulns"].(type) {
	case []any:
		n = len(v)
	case []string:
		n = len(v)
	}
	if n > 0 {
		parts = append(parts, plural(n, "known CVE"))
	}
	return strings.Join(parts, "; "), "", said
}

// without is attrs less the given keys (the ones a headline already says).
func without(attrs map[string]any, keys []string) map[string]any {
	if len(keys) == 0 || len(attrs) == 0 {
		return attrs
	}
	out := make(map[string]any, len(attrs))
	for k, v := range attrs {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// defang renders an indicator for people.
func defang(typ, value string) string {
	return ioc.Defang(ioc.IOC{Type: ioc.Type(typ), Value: value})
}

// titleKeys are normalised field paths (lower case, '_' and '-' as '.')
// that name an alert, most specific first.
var titleKeys = []string{
	"kibana.alert.rule.name", "rule.name", "alert.signature", "signature", "alertname", "alert.name",
	"rule.description", "rulename", "title", "name", "msg", "message", "description", "note",
	"event.action", "actiontype",
}

var titleRank = func() map[string]int {
	m := make(map[string]int, len(titleKeys))
	for i, k := range titleKeys {
		m[k] = i
	}
	return m
}()

// alertTitle finds a short human description in a record.
func alertTitle(raw json.RawMessage) string {
	best, rank := "", len(titleKeys)
	_ = alert.Walk(raw, func(p *alert.Path, kind alert.Kind, v string) {
		if kind != alert.KindString {
			return
		}
		if r, ok := titleRank[p.Normalized()]; ok && r < rank && strings.TrimSpace(v) != "" {
			best, rank = v, r
		}
	})
	// A title is a line: read no more of a long field than it can show.
	best = best[:cutPoint(best, titleLimit)]
	best = strings.Join(strings.Fields(best), " ")
	if r := []rune(best); len(r) > 120 {
		best = string(r[:119]) + "…"
	}
	return best
}

// shown makes attacker-controlled text fit to show on one line: every
// indicator in it defanged, terminal control and bidi characters escaped.
func shown(s string) string { return SanitizeLine(ioc.DefangText(s)) }

// shownText is shown for multi-line text (raw records, reasoning).
func shownText(s string) string { return sanitizeText(ioc.DefangText(s)) }

// shownIOC is an indicator as people see it: defanged, clipped, sanitised.
func shownIOC(typ, value string) string {
	return SanitizeLine(clip(defang(typ, clip(value, 2*fieldLimit)), fieldLimit))
}

func sanitizeAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = shown(clip(x, fieldLimit))
	}
	return out
}

func sanitizeErrors(errs []model.InputError) []model.InputError {
	out := make([]model.InputError, len(errs))
	for i, e := range errs {
		out[i] = model.InputError{File: shown(clip(e.File, fieldLimit)), Record: e.Record, Line: e.Line, Reason: shown(clip(e.Reason, fieldLimit))}
	}
	return out
}

// token makes an enumeration value (a verdict, a label, a status, an IOC
// type) fit for any output: ASCII letters, digits, '_', '-' and '.', at
// most 64 bytes. The pipeline and the report decoder only ever produce
// known values; this is the last line of defence for anything else.
func token(s string) string {
	ok := len(s) <= 64
	for i := 0; ok && i < len(s); i++ {
		ok = isTokenByte(s[i])
	}
	if ok {
		return s
	}
	b := make([]byte, 0, min(len(s), 64))
	for i := 0; i < len(s) && len(b) < 64; i++ {
		if isTokenByte(s[i]) {
			b = append(b, s[i])
		}
	}
	return string(b)
}

func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}
