package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/verdict-dev/verdict/pkg/report"
)

// SchemaVersion is the version of `verdict doctor --json`'s layout. Fields
// may be added; none is renamed or removed without a new version.
const SchemaVersion = 1

// Status is one check's outcome.
type Status string

// The statuses, best first. Only StatusFail makes doctor exit 1.
const (
	StatusOK   Status = "ok"
	StatusSkip Status = "skip" // not checked: --offline, or no way to check without spending quota
	StatusWarn Status = "warn" // works, degraded: no key, a stale feed, a read-only cache, little disk
	StatusFail Status = "fail" // the nightly run would fail, or do nothing useful, here
)

func (s Status) rank() int {
	switch s {
	case StatusWarn:
		return 2
	case StatusFail:
		return 3
	case StatusSkip:
		return 1
	}
	return 0
}

// worse returns whichever of a and b is worse.
func worse(a, b Status) Status {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// Sections, in report order.
const (
	SectionConfig    = "configuration"
	SectionProviders = "providers"
	SectionGemini    = "gemini"
	SectionCache     = "cache"
	SectionFeeds     = "feeds"
	SectionAttack    = "attack"
)

// Result is the whole of `verdict doctor --json`.
type Result struct {
	SchemaVersion int    `json:"schema_version"`
	Tool          Tool   `json:"tool"`
	GeneratedAt   string `json:"generated_at"`
	// Offline says the network checks were skipped (--offline).
	Offline bool `json:"offline"`
	// Status is the worst of the checks' (skip counts as ok): ok, warn or
	// fail. Exit status 1 goes with fail.
	Status Status         `json:"status"`
	Counts map[Status]int `json:"counts"`
	Checks []Check        `json:"checks"`
}

// Tool names the program, as in the JSON report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Check is one line of the doctor's table.
type Check struct {
	// ID is stable: "config.file", "provider.virustotal", "gemini.model",
	// "cache.database", "cache.disk", "feed.<file name>", "attack.matrix".
	ID      string `json:"id"`
	Section string `json:"section"`
	Name    string `json:"name"`
	Status  Status `json:"status"`
	// Message is one line for people; Details add lines; Fix says what to
	// do about a warning or failure.
	Message string   `json:"message"`
	Details []string `json:"details,omitempty"`
	Fix     string   `json:"fix,omitempty"`
	// LatencyMS is the network check's round trip, when one was made.
	LatencyMS *int64 `json:"latency_ms,omitempty"`

	// At most one of these holds the check's facts for scripts.
	Config *ConfigFacts `json:"config,omitempty"`
	Key    *KeyFacts    `json:"key,omitempty"`
	Quota  *QuotaFacts  `json:"quota,omitempty"`
	Model  *ModelFacts  `json:"model,omitempty"`
	Cache  *CacheFacts  `json:"cache,omitempty"`
	Feed   *FeedFacts   `json:"feed,omitempty"`
}

// ConfigFacts: which file was read and what set a value: names only, never
// a value.
type ConfigFacts struct {
	File string `json:"file"` // "" when none was read
	// KeysInFile are the known keys the file sets; Environment the
	// variables set, as "NAME (key)"; Flags the flags given, as "--flag
	// (key)"; Unknown the keys and variables that refuse every run.
	KeysInFile  []string `json:"keys_in_file"`
	Environment []string `json:"environment"`
	Flags       []string `json:"flags"`
	Unknown     []string `json:"unknown"`
}

// KeyFacts: an API key's presence, and whether the service accepted it
// (null when not asked: offline, no key, or no free way to ask).
type KeyFacts struct {
	Present  bool  `json:"present"`
	Accepted *bool `json:"accepted"`
}

// QuotaFacts: requests counted today (UTC) in the cache against the
// configured daily quota (0: none).
type QuotaFacts struct {
	UsedToday  int `json:"used_today"`
	DailyQuota int `json:"daily_quota"`
}

// ModelFacts: the configured Gemini model as verdict's table and Google
// know it.
type ModelFacts struct {
	ID string `json:"id"`
	// Exists is models.get's answer; null when not asked.
	Exists   *bool  `json:"exists"`
	Known    bool   `json:"known"` // in verdict's model table
	Status   string `json:"status,omitempty"`
	Serving  string `json:"serving,omitempty"` // the model that answers (a retired one is re-routed)
	Thinking string `json:"thinking"`
	Tier     string `json:"tier"`
	// Prices are USD per million tokens at the configured tier; null when
	// unknown.
	PriceInput  *float64 `json:"price_input_per_mtok"`
	PriceOutput *float64 `json:"price_output_per_mtok"`
}

// CacheFacts: the cache store.
type CacheFacts struct {
	Backend   string `json:"backend"`  // sqlite or postgres
	Location  string `json:"location"` // the file, or the URL without its password
	Exists    bool   `json:"exists"`
	ReadOnly  bool   `json:"read_only,omitempty"`
	Entries   int64  `json:"entries"`
	SizeBytes int64  `json:"size_bytes"`
	// FreeBytes is the free space where the SQLite file lives (null for
	// PostgreSQL, or where the system cannot tell).
	FreeBytes *uint64 `json:"free_bytes"`
	// Connection is a PostgreSQL cache's connection, as the server reports
	// it (absent for SQLite, or when the server could not be reached).
	Connection *ConnectionFacts `json:"connection,omitempty"`
}

// ConnectionFacts: a PostgreSQL cache's connection. None of it is secret.
type ConnectionFacts struct {
	// SSLMode is what cache.url or PGSSLMODE asks for ("" when neither
	// does: prefer).
	SSLMode string `json:"sslmode"`
	// TLS reports whether the connection is encrypted.
	TLS bool `json:"tls"`
	// Local reports whether the server is on this machine (a Unix socket
	// or a loopback address).
	Local         bool   `json:"local"`
	ServerVersion string `json:"server_version"`
	Database      string `json:"database"`
	User          string `json:"user"`
	// SchemaVersion is the cache schema the database holds; SchemaLatest
	// the one this verdict applies.
	SchemaVersion int `json:"schema_version"`
	SchemaLatest  int `json:"schema_latest"`
}

// FeedFacts: one loaded feed file.
type FeedFacts struct {
	Path        string `json:"path"`
	Format      string `json:"format"`
	Category    string `json:"category"`
	Entries     int    `json:"entries"`
	Updated     string `json:"updated,omitempty"`
	UpdatedFrom string `json:"updated_from,omitempty"`
	AgeSeconds  int64  `json:"age_seconds"`
	Stale       bool   `json:"stale"`
}

// add appends a check and keeps the totals.
func (r *Result) add(c Check) {
	r.Checks = append(r.Checks, c)
	r.Counts[c.Status]++
	if c.Status != StatusSkip && c.Status.rank() > r.Status.rank() {
		r.Status = c.Status
	}
}

// failures lists the failing checks' names.
func (r *Result) failures() []string {
	var out []string
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			out = append(out, c.Name)
		}
	}
	return out
}

func writeJSON(w io.Writer, r *Result) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

var sectionTitles = map[string]string{
	SectionConfig: "Configuration", SectionProviders: "Providers", SectionGemini: "Gemini",
	SectionCache: "Cache", SectionFeeds: "Feeds", SectionAttack: "ATT&CK",
}

// writeTable prints the checks grouped by section: status, name, message,
// then details and the fix indented under the message. Everything a server
// or a file said is sanitised: it may hold terminal escapes.
func writeTable(w io.Writer, r *Result) error {
	fmt.Fprintf(w, "verdict doctor: %s\n", summaryLine(r))
	if r.Offline {
		fmt.Fprintln(w, "--offline: nothing was sent; providers and Gemini were not contacted")
	}
	width := 0
	for _, c := range r.Checks {
		width = max(width, utf8.RuneCountInString(report.SanitizeLine(c.Name)))
	}
	indent := strings.Repeat(" ", 2+4+2+width+2)
	section := ""
	for _, c := range r.Checks {
		if c.Section != section {
			section = c.Section
			fmt.Fprintf(w, "\n%s\n", sectionTitles[section])
		}
		name := report.SanitizeLine(c.Name)
		msg := report.SanitizeLine(c.Message)
		if c.LatencyMS != nil {
			msg += fmt.Sprintf(" (%d ms)", *c.LatencyMS)
		}
		pad := strings.Repeat(" ", width-utf8.RuneCountInString(name))
		fmt.Fprintf(w, "  %-4s  %s%s  %s\n", strings.ToUpper(string(c.Status)), name, pad, msg)
		for _, d := range c.Details {
			fmt.Fprintf(w, "%s%s\n", indent, report.SanitizeLine(d))
		}
		if c.Fix != "" {
			fmt.Fprintf(w, "%sfix: %s\n", indent, report.SanitizeLine(c.Fix))
		}
	}
	return nil
}

func summaryLine(r *Result) string {
	plural := func(n int, one, many string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, one)
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	s := fmt.Sprintf("%s, %s, %s", plural(r.Counts[StatusOK], "ok", "ok"),
		plural(r.Counts[StatusWarn], "warning", "warnings"), plural(r.Counts[StatusFail], "failure", "failures"))
	if n := r.Counts[StatusSkip]; n > 0 {
		s += fmt.Sprintf(", %d not checked", n)
	}
	return s
}
