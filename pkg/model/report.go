package model

import "encoding/json"

// SchemaVersion is the version of the JSON report layout.
const SchemaVersion = 1

// Report is the JSON report. Alerts is only filled when a whole report is
// held in memory (user templates, tests); writers stream alerts instead.
type Report struct {
	SchemaVersion int          `json:"schema_version"`
	Tool          Tool         `json:"tool"`
	GeneratedAt   string       `json:"generated_at"`
	Inputs        []string     `json:"inputs"`
	InputErrors   []InputError `json:"input_errors"`
	Summary       Summary      `json:"summary"`
	Alerts        []*Alert     `json:"alerts"`
}

// Tool names the program that wrote the report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// InputError is a malformed record that was reported and skipped.
type InputError struct {
	File   string `json:"file"`
	Record int    `json:"record"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// Summary holds the batch totals.
type Summary struct {
	Alerts           int                      `json:"alerts"`
	ByVerdict        ByVerdict                `json:"by_verdict"`
	ByClassification *ByClassification        `json:"by_classification,omitempty"`
	IOCs             IOCCounts                `json:"iocs"`
	Providers        map[string]ProviderStats `json:"providers"`
	Classification   *ClassificationStats     `json:"classification,omitempty"`
	// Notes are run-level facts a reader must not miss (a quota ran out,
	// the run was offline, a provider's key was rejected).
	Notes []string `json:"notes,omitempty"`
	// Feeds are the local feed files the run loaded, with their age.
	Feeds []FeedStatus `json:"feeds,omitempty"`
}

// ByVerdict counts alerts per risk verdict, most severe first, then the
// alerts nobody could check.
type ByVerdict struct {
	Malicious             int `json:"MALICIOUS"`
	Suspicious            int `json:"SUSPICIOUS"`
	PotentiallySuspicious int `json:"POTENTIALLY_SUSPICIOUS"`
	Clean                 int `json:"CLEAN"`
	Unchecked             int `json:"UNCHECKED"`
}

// Add counts one alert.
func (b *ByVerdict) Add(v Verdict) {
	switch v {
	case Malicious:
		b.Malicious++
	case Suspicious:
		b.Suspicious++
	case PotentiallySuspicious:
		b.PotentiallySuspicious++
	case Unchecked:
		b.Unchecked++
	default:
		b.Clean++
	}
}

// Get returns the count for v.
func (b ByVerdict) Get(v Verdict) int {
	switch v {
	case Malicious:
		return b.Malicious
	case Suspicious:
		return b.Suspicious
	case PotentiallySuspicious:
		return b.PotentiallySuspicious
	case Unchecked:
		return b.Unchecked
	}
	return b.Clean
}

// ByClassification counts alerts per model label.
type ByClassification struct {
	TruePositive  int `json:"TRUE_POSITIVE"`
	FalsePositive int `json:"FALSE_POSITIVE"`
	NeedsReview   int `json:"NEEDS_REVIEW"`
}

// IOCCounts counts distinct indicator values in the batch.
type IOCCounts struct {
	Unique  int `json:"unique"`
	Skipped int `json:"skipped"`
}

// ProviderStats is one provider's work in this run.
type ProviderStats struct {
	Lookups   int `json:"lookups"`    // distinct IOCs asked this run (cache hits excluded)
	Requests  int `json:"requests"`   // HTTP requests sent, retries included
	CacheHits int `json:"cache_hits"` // answers taken from the on-disk cache
	Errors    int `json:"errors"`     // distinct IOCs that ended in error
	Skipped   int `json:"skipped"`    // distinct IOCs not looked up (offline, no key, quota)
}

// ClassificationStats is the model's work in this run; cached verdicts cost 0.
type ClassificationStats struct {
	Requests      int     `json:"requests"`
	CacheHits     int     `json:"cache_hits"`
	Heuristic     int     `json:"heuristic"`
	PromptTokens  int     `json:"prompt_tokens"`
	OutputTokens  int     `json:"output_tokens"`
	ThoughtTokens int     `json:"thought_tokens"`
	CostUSD       float64 `json:"cost_usd"`
	Model         string  `json:"model,omitempty"`
	ModelVersion  string  `json:"model_version,omitempty"`
}

// Alert is one alert with everything verdict found out about it.
type Alert struct {
	ID             string                        `json:"id"`
	Source         Source                        `json:"source"`
	Alert          json.RawMessage               `json:"alert"`
	IOCs           []IOC                         `json:"iocs"`
	Enrichment     map[string]map[string]*Result `json:"enrichment"`
	Risk           Risk                          `json:"risk"`
	Classification *Classification               `json:"classification,omitempty"`

	// Encoded is set by a report sink that encodes alerts ahead of writing
	// them (the JSON writer's Prepare, on a worker): the alert's JSON line,
	// from a pool. Not part of the report.
	Encoded *[]byte `json:"-"`
	// SharedEnrichment declares that the Enrichment maps are shared by every
	// alert of the batch and never modified, so a writer may encode each one
	// once. Not part of the report.
	SharedEnrichment bool `json:"-"`
}

// Source is where an alert was read.
type Source struct {
	File   string `json:"file"`
	Record int    `json:"record"`
	Line   int    `json:"line,omitempty"`
}

// IOC is one of an alert's indicators, with the fields it was found in.
type IOC struct {
	Type    string   `json:"type"`
	Value   string   `json:"value"`
	Fields  []string `json:"fields"`
	Skipped string   `json:"skipped,omitempty"`

	// Ref numbers the unique indicators of one stream from 1 (the same
	// (Type, Value) has the same Ref in every alert), or is 0 when the
	// source does not number them (a report read back). Sinks that count
	// per unique indicator use it to index a slice instead of hashing the
	// value into a map: with a million unique indicators that is the
	// difference between 24 and 170 bytes each. Not part of the report.
	Ref int32 `json:"-"`
}

// Classification is the model's (or the heuristic's) label for an alert.
type Classification struct {
	Label         string   `json:"label"`
	Confidence    int      `json:"confidence"`
	Reasoning     []string `json:"reasoning"`
	Source        string   `json:"source"`          // gemini, cache or heuristic
	Why           string   `json:"why,omitempty"`   // why the heuristic was used
	Model         string   `json:"model,omitempty"` // requested model
	ModelVersion  string   `json:"model_version,omitempty"`
	Techniques    []string `json:"mitre_techniques,omitempty"`
	NextStep      string   `json:"recommended_next_step,omitempty"`
	PromptTokens  int      `json:"prompt_tokens"`
	OutputTokens  int      `json:"output_tokens"`
	ThoughtTokens int      `json:"thought_tokens"`
	CostUSD       float64  `json:"cost_usd"`
}
