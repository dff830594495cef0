package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Report is the part of verdict's JSON report (schema_version 1,
// CONTRACT.md) that evaluation reads. It is decoded on its own, not through
// verdict's internal types, so evaluation depends on the contract only.
type Report struct {
	SchemaVersion int          `json:"schema_version"`
	Inputs        []string     `json:"inputs"`
	InputErrors   []InputError `json:"input_errors"`
	Summary       Summary      `json:"summary"`
	Alerts        []Alert      `json:"alerts"`
}

// Summary is the part of the report's summary evaluation shows.
type Summary struct {
	Alerts int      `json:"alerts"`
	Notes  []string `json:"notes"`
}

// InputError is a malformed record verdict reported and skipped.
type InputError struct {
	File   string `json:"file"`
	Record int    `json:"record"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// Alert is one alert of the report: where it was read, its id, its risk
// verdict and its classification. The alert record itself is not kept.
type Alert struct {
	ID             string          `json:"id"`
	Source         AlertSource     `json:"source"`
	Risk           Risk            `json:"risk"`
	Classification *Classification `json:"classification"`
}

// AlertSource is where verdict read an alert.
type AlertSource struct {
	File   string `json:"file"`
	Record int    `json:"record"`
}

// Risk is the alert's additive risk score and verdict.
type Risk struct {
	Score   int    `json:"score"`
	Verdict string `json:"verdict"`
}

// Classification is the label verdict gave an alert, with what it cost.
type Classification struct {
	Label         string   `json:"label"`
	Confidence    int      `json:"confidence"`
	Reasoning     []string `json:"reasoning"`
	Source        string   `json:"source"` // gemini, cache or heuristic
	Why           string   `json:"why"`    // why the heuristic was used
	Model         string   `json:"model"`
	PromptTokens  int      `json:"prompt_tokens"`
	OutputTokens  int      `json:"output_tokens"`
	ThoughtTokens int      `json:"thought_tokens"`
	CostUSD       float64  `json:"cost_usd"`
}

// ReadReportFile reads a JSON report from a file.
func ReadReportFile(name string) (*Report, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open report: %w", err)
	}
	defer f.Close()
	r, err := ReadReport(f)
	if err != nil {
		return nil, fmt.Errorf("read report %s: %w", name, err)
	}
	return r, nil
}

// ReadReport decodes a JSON report and checks its schema version.
func ReadReport(r io.Reader) (*Report, error) {
	var rep Report
	dec := json.NewDecoder(r)
	if err := dec.Decode(&rep); err != nil {
		return nil, fmt.Errorf("decode report: %w", err)
	}
	if rep.SchemaVersion != 1 {
		return nil, fmt.Errorf("decode report: schema_version %d, want 1", rep.SchemaVersion)
	}
	return &rep, nil
}
