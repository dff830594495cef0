package model

// LookupReport is what `verdict lookup --json` writes: every indicator
// given, with every configured source's normalised answer and the risk the
// scoring rules give it alone. The field names are fixed like the JSON
// report's (schema_version 1); more fields may be added.
type LookupReport struct {
	SchemaVersion int               `json:"schema_version"`
	Tool          Tool              `json:"tool"`
	GeneratedAt   string            `json:"generated_at"`
	Indicators    []LookupIndicator `json:"indicators"`
	Summary       LookupSummary     `json:"summary"`
}

// LookupIndicator is one indicator of a lookup.
type LookupIndicator struct {
	// Input is the argument as given (it may be defanged: hxxp, [.]).
	Input string `json:"input"`
	// Type and Value are the indicator typed and normalised as the
	// pipeline does (CONTRACT.md "Input").
	Type  string `json:"type"`
	Value string `json:"value"`
	// Skipped is why it was sent to no source (private, reserved,
	// allowlisted, ...); empty when it was looked up.
	Skipped string `json:"skipped,omitempty"`
	// Enrichment holds each source's answer, by source name, as in the
	// JSON report; a source that does not take the type is absent.
	Enrichment map[string]*Result `json:"enrichment"`
	// Risk is the score the rules give the indicator alone: UNCHECKED
	// when no source answered, CLEAN with no factor when it was skipped.
	Risk Risk `json:"risk"`
}

// LookupSummary holds a lookup's totals.
type LookupSummary struct {
	Indicators int                      `json:"indicators"`
	ByVerdict  ByVerdict                `json:"by_verdict"`
	Providers  map[string]ProviderStats `json:"providers"`
	Notes      []string                 `json:"notes,omitempty"`
}
