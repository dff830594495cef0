package gemini

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// DefaultModel is the model verdict asks when gemini.model is not set:
// Google's named replacement for the retired gemini-2.5-flash, and cheap
// enough for one request per alert.
const DefaultModel = "gemini-3.5-flash-lite"

// Thinking is how a model's thinking is set.
type Thinking string

// The thinking controls.
const (
	// ThinkingLevel models (3.x and later) take thinkingConfig.thinkingLevel.
	ThinkingLevel Thinking = "level"
	// ThinkingBudget models (2.5) take thinkingConfig.thinkingBudget.
	ThinkingBudget Thinking = "budget"
	// ThinkingUnknown is a model verdict has no row for: it is sent neither.
	ThinkingUnknown Thinking = ""
)

// Status is where a model is in its life.
type Status string

// The statuses of the table.
const (
	StatusGA      Status = "ga"      // generally available
	StatusRetired Status = "retired" // shut down; requests are re-routed (RoutedTo) or refused
)

// Levels are the thinking levels, in increasing order, as gemini.thinking_level
// spells them. The table holds its own copies.
var Levels = allLevels()

func allLevels() []string { return []string{"minimal", "low", "medium", "high"} }

// Rate is a list price in USD per million tokens, in effect from a date on.
// Thinking tokens bill as output.
type Rate struct {
	From   time.Time // zero: since the model's release
	Input  float64
	Output float64
}

// Cost prices one request's tokens at this rate.
func (r Rate) Cost(prompt, output, thought int) float64 {
	return float64(prompt)*r.Input/1e6 + float64(output+thought)*r.Output/1e6
}

// Model is one row of verdict's model table. Keep it in step with
// ../shared/reference/apis.md section 3.7 (current models) and Google's
// deprecations page; the prompt knows nothing of it.
type Model struct {
	ID       string
	Status   Status
	Released string // GA date, "2026-07-21"
	Shutdown string // announced or past shutdown date, "" if none
	// RoutedTo is, for a retired model, the model Google now answers its
	// requests with; they run under that model's parameter rules and bill
	// at its rates.
	RoutedTo string
	Thinking Thinking
	// Levels are the thinking levels the model takes (level models);
	// DefaultLevel is what it uses when none is sent.
	Levels       []string
	DefaultLevel string
	// BudgetMin and BudgetMax bound a budget model's thinking budget;
	// BudgetOff says whether 0 (no thinking) is allowed, and -1 (dynamic)
	// always is.
	BudgetMin, BudgetMax int
	BudgetOff            bool
	// Temperature says whether the model honours temperature; 3.x models
	// ignore it (deprecated 2026-07-21), so it is not sent to them.
	Temperature bool
	// Rates are the standard-tier list prices, oldest first.
	Rates []Rate
	// Source says where the row comes from.
	Source string
}

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err) // a typo in the table below; a test parses every row
	}
	return t
}

// models is the table (../shared/reference/apis.md 3.5 to 3.7, read
// 2026-12-03). The current models come first, default first.
var models = []Model{
	{ID: "gemini-3.5-flash-lite", Status: StatusGA, Released: "2026-07-21",
		Thinking: ThinkingLevel, Levels: allLevels(), DefaultLevel: "minimal",
		Rates:  []Rate{{Input: 0.30, Output: 2.50}},
		Source: "ai.google.dev 3.5 Flash-Lite model page; pricing page as transcribed 2026-10-07"},
	{ID: "gemini-3.8-flash", Status: StatusGA, Released: "2026-09-02",
		Thinking: ThinkingLevel, Levels: []string{"low", "medium", "high"}, DefaultLevel: "medium", // minimal is a 400
		Rates:  []Rate{{Input: 0.75, Output: 3.75}, {From: date("2027-01-01"), Input: 1.50, Output: 7.50}},
		Source: "pricing page as transcribed 2026-10-07; LiteLLM discussion #39357 (price change on 2027-01-01)"},
	{ID: "gemini-3.6-flash", Status: StatusGA, Released: "2026-07-21",
		Thinking: ThinkingLevel, Levels: allLevels(), DefaultLevel: "medium",
		Rates:  []Rate{{Input: 1.50, Output: 7.50}},
		Source: "ai.google.dev \"What's new in Gemini 3.6\"; pricing page as transcribed 2026-10-07"},
	{ID: "gemini-3.1-flash-lite", Status: StatusGA, Shutdown: "2027-05-07",
		Thinking: ThinkingLevel, Levels: allLevels(), DefaultLevel: "minimal",
		Rates:  []Rate{{Input: 0.25, Output: 1.50}},
		Source: "deprecations page (es-419); prices from third-party listings"},
	{ID: "gemini-2.5-flash-lite", Status: StatusGA, Released: "2025-07-22",
		Thinking: ThinkingBudget, BudgetMin: 512, BudgetMax: 24576, BudgetOff: true, Temperature: true,
		Rates:  []Rate{{Input: 0.10, Output: 0.40}},
		Source: "pricing page as transcribed 2026-09-20; \"available until further notice\" (sources conflict)"},
	{ID: "gemini-2.5-flash", Status: StatusRetired, Released: "2025-06-17", Shutdown: "2026-12-01",
		RoutedTo: "gemini-3.5-flash-lite", Thinking: ThinkingBudget, BudgetMin: 1, BudgetMax: 24576, BudgetOff: true, Temperature: true,
		Rates:  []Rate{{Input: 0.30, Output: 2.50}},
		Source: "deprecations page read 2026-11-10: shut down 2026-12-01, re-routed to gemini-3.5-flash-lite and billed at its rates"},
}

// Models returns verdict's model table: current models first, the default
// first of all, then retired ones.
func Models() []Model {
	out := make([]Model, len(models))
	for i, m := range models {
		out[i] = m.clone()
	}
	return out
}

// clone returns m sharing no slice with the table, so callers cannot
// change it.
func (m Model) clone() Model {
	m.Levels = slices.Clone(m.Levels)
	m.Rates = slices.Clone(m.Rates)
	return m
}

// LookupModel returns the table's row for a model id ("models/" prefix and
// case ignored).
func LookupModel(id string) (Model, bool) {
	id = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(id), "models/"))
	for _, m := range models {
		if m.ID == id {
			return m.clone(), true
		}
	}
	return Model{}, false
}

// billedModel names the table row a modelVersion bills as: the exact id, or
// the longest id it starts with ("gemini-3.5-flash-lite-001").
func billedModel(version string) (Model, bool) {
	if m, ok := LookupModel(version); ok {
		return m, true
	}
	v := strings.ToLower(strings.TrimPrefix(version, "models/"))
	var best Model
	for _, m := range models {
		if strings.HasPrefix(v, m.ID+"-") && len(m.ID) > len(best.ID) {
			best = m
		}
	}
	return best, best.ID != ""
}

// CurrentModels lists the ids of the models in service, the default first:
// what a message about a missing model suggests instead.
func CurrentModels() []string {
	var ids []string
	for _, m := range models {
		if m.Status != StatusRetired {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// Serving returns the row whose rules and rates apply to requests for m:
// m itself, or for a retired, re-routed model the model that now answers.
func (m Model) Serving() Model {
	if m.Status == StatusRetired && m.RoutedTo != "" {
		if to, ok := LookupModel(m.RoutedTo); ok {
			return to
		}
	}
	return m
}

// RateAt returns the standard-tier list price in effect at t (UTC dates).
func (m Model) RateAt(t time.Time) Rate {
	if len(m.Rates) == 0 {
		return Rate{}
	}
	r := m.Rates[0]
	for _, x := range m.Rates[1:] {
		if !t.UTC().Before(x.From) {
			r = x
		}
	}
	return r
}

// checkLevel says whether a level model takes level.
func (m Model) checkLevel(level string) error {
	if slices.Contains(m.Levels, level) {
		return nil
	}
	return &SettingError{Key: "gemini.thinking_level", Value: level, Model: m.ID,
		Allowed: strings.Join(m.Levels, ", ")}
}

// checkBudget says whether a budget model takes budget.
func (m Model) checkBudget(budget int) error {
	switch {
	case budget == -1:
		return nil
	case budget == 0 && m.BudgetOff:
		return nil
	case budget >= m.BudgetMin && budget <= m.BudgetMax && budget > 0:
		return nil
	}
	allowed := "-1 (dynamic)"
	if m.BudgetOff {
		allowed += ", 0 (off)"
	}
	allowed += fmt.Sprintf(" or %d to %d tokens", m.BudgetMin, m.BudgetMax)
	return &SettingError{Key: "gemini.thinking_budget", Value: fmt.Sprint(budget), Model: m.ID, Allowed: allowed}
}

// SettingError is a setting the configured model does not take, found
// before any request is sent. Key is the configuration key to change.
type SettingError struct {
	Key     string // "gemini.thinking_level"
	Value   string
	Model   string
	Allowed string
}

func (e *SettingError) Error() string {
	if e.Model == "" {
		return fmt.Sprintf("%s: %q is not one of %s", e.Key, e.Value, e.Allowed)
	}
	return fmt.Sprintf("%s: %s does not take %q; it takes %s", e.Key, e.Model, e.Value, e.Allowed)
}

// Tier is the service tier a request is billed at.
type Tier string

// The tiers. Flex and the Batch API bill at half the standard price.
const (
	TierStandard Tier = "standard"
	TierFlex     Tier = "flex"
	TierBatch    Tier = "batch"
)

// Discount is the share of the standard price a tier bills.
func (t Tier) Discount() float64 {
	switch t {
	case TierFlex, TierBatch:
		return 0.5
	}
	return 1
}

// ParseTier reads gemini.service_tier: standard (or empty) and flex.
// Priority is refused: its price is not in the table.
func ParseTier(s string) (Tier, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "standard":
		return TierStandard, nil
	case "flex":
		return TierFlex, nil
	}
	return "", &SettingError{Key: "gemini.service_tier", Value: s, Allowed: "standard, flex"}
}
