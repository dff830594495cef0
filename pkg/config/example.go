package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/score"
)

const exampleHeader = `# verdict configuration: every key, with its default.
#
# This file is generated from the key table (pkg/config) and the provider
# registrations (pkg/intel/*): do not edit it by hand; run
# "go test ./pkg/config -run TestExampleConfig -update" (or make update-golden).
#
# verdict reads --config FILE, otherwise ./verdict.yaml, otherwise
# $XDG_CONFIG_HOME/verdict/config.yaml (~/.config/verdict/config.yaml).
# Every key can also be set in the environment as VERDICT_ + the key in upper
# case with "." as "_" (virustotal.rate is VERDICT_VIRUSTOTAL_RATE); flags win
# over the environment, which wins over this file. An unknown key here, or an
# unknown VERDICT_* variable, is an error (exit 2) that names the nearest
# valid one. VERDICT_REQUIRE_* and VERDICT_TEST_* are switches of the test
# suite and CI, not configuration.
#
# A rate is N/s, N/m, N/h or N/d (at most N requests in any window of that
# length, evenly paced), or 0 for no limit. A duration is a Go duration
# (90s, 30m, 24h) or days (7d).
`

// sectionDocs introduce the sections that are not providers'.
var sectionDocs = map[string][]string{
	"gemini": {"Classification by Gemini (verdict classify). Without a key, offline, past",
		"max_cost_usd or when the model fails, a heuristic classifies and says why."},
	"input": {"Alert loading."},
	"ioc":   {"Indicator extraction."},
	"feeds": {"Local blocklists: plain lists, CIDR lists, abuse.ch CSVs, Spamhaus DROP, Tor exit",
		"lists, Zeek intel, MISP events and hosts files are recognised."},
	"cache":  {"The lookup cache: answers, classifications and the daily quota counters."},
	"http":   {"Every REST provider's HTTP client."},
	"report": {"Human-facing reports (the JSON report always holds everything)."},
}

// Example renders the documented example config (samples/verdict.example.yaml)
// from the key table and the registered providers, so it can never drift
// from what verdict accepts.
func Example() string {
	var b strings.Builder
	b.WriteString(exampleHeader)
	regs := map[string]intel.Registration{}
	for _, r := range intel.Registrations() {
		regs[r.Name] = r
	}
	section := ""
	for _, k := range AllKeys() {
		sec, leaf, nested := strings.Cut(k.Name, ".")
		indent := ""
		if nested {
			indent = "  "
			if sec != section {
				b.WriteString("\n")
				if r, ok := regs[sec]; ok {
					comment(&b, "", providerDoc(r))
				} else {
					comment(&b, "", sectionDocs[sec])
				}
				b.WriteString(sec + ":\n")
			}
		} else {
			b.WriteString("\n")
			leaf = k.Name
		}
		section = sec
		text := k.Help
		if !strings.HasSuffix(text, ".") {
			text += "."
		}
		if len(k.Env) > 0 {
			text += " Also " + strings.Join(k.Env, ", then ") + "."
		}
		lines := wrap(text, 96-len(indent))
		if k.Name == "scoring" {
			lines = append(append(lines, ""), wrap(strings.Join(scoringDoc(), " "), 96)...)
		}
		comment(&b, indent, lines)
		fmt.Fprintf(&b, "%s%s:%s\n", indent, leaf, yamlValue(k.Default))
		for _, ex := range k.Example {
			fmt.Fprintf(&b, "%s#   %s\n", indent, ex)
		}
		if k.Name == "scoring" {
			for _, l := range scoringTable() {
				fmt.Fprintf(&b, "#   %s\n", l)
			}
		}
	}
	return b.String()
}

func providerDoc(r intel.Registration) []string {
	types := make([]string, len(r.Types))
	for i, t := range r.Types {
		types[i] = string(t)
	}
	line := r.Title + ": looks up " + strings.Join(types, ", ")
	if r.NeedsKey {
		line += "; needs an API key (without one its lookups are skipped: no_api_key)"
	} else {
		line += "; needs no API key"
	}
	return wrap(line+".", 96)
}

func comment(b *strings.Builder, indent string, lines []string) {
	for _, l := range lines {
		if l == "" {
			fmt.Fprintf(b, "%s#\n", indent)
			continue
		}
		fmt.Fprintf(b, "%s# %s\n", indent, l)
	}
}

// wrap breaks text into lines of at most width characters.
func wrap(text string, width int) []string {
	var lines []string
	cur := ""
	for _, w := range strings.Fields(text) {
		if cur != "" && len(cur)+1+len(w) > width {
			lines = append(lines, cur)
			cur = ""
		}
		if cur != "" {
			cur += " "
		}
		cur += w
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// yamlValue renders a default after "key:".
func yamlValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return " " + yamlScalar(x)
	case float64:
		return " " + strconv.FormatFloat(x, 'f', -1, 64)
	case []string:
		items := make([]string, len(x))
		for i, s := range x {
			items[i] = yamlScalar(s)
		}
		return " [" + strings.Join(items, ", ") + "]"
	case map[string]any:
		if len(x) == 0 {
			return " {}"
		}
	}
	return " " + fmt.Sprint(v)
}

func yamlScalar(s string) string {
	if s == "" {
		return `""`
	}
	b, err := yaml.Marshal(s)
	if err != nil {
		return strconv.Quote(s)
	}
	return strings.TrimSuffix(string(b), "\n")
}

// scoringDoc explains the rule fields, with the fields of the providers
// compiled in.
func scoringDoc() []string {
	types := make([]string, len(ioc.AllTypes))
	for i, t := range ioc.AllTypes {
		types[i] = string(t)
	}
	fields := intel.Fields()
	sort.Strings(fields)
	return []string{
		"Any part given (rules, bands, cap) replaces that part of the built-in table shown below",
		"(the registered providers' rules in report order, then the local feeds').",
		"A rule gives `points` to each of an alert's indicators of `types` (" + strings.Join(types, " ") + ", or ip, hash, any)",
		"whose answer from `provider` (a provider's name, or " + score.FeedProvider + ") is found and, when `field` is set,",
		"has that field within [min, max]. Fields: " + strings.Join(fields, ", ") + ".",
		"`category`/`categories` select feed listings (local feeds, URLhaus, ThreatFox) by category; of the rules sharing",
		"a `group`, only the one with the most points counts per artifact. A rule worth 0 points is switched off: raise it to use it.",
		"`description` words the factor: {n} is the value, {s} a plural s, {feeds} the feed names, {provider} the provider,",
		"{attr:NAME} an attribute of the answer, {date:NAME} a date attribute as YYYY-MM-DD.",
	}
}

// scoringTable is the built-in table in flow style, for the comment under
// `scoring`.
func scoringTable() []string {
	def := intel.DefaultScoring()
	lines := []string{fmt.Sprintf("cap: %d", def.Cap), "rules:"}
	for _, r := range def.Rules {
		parts := []string{"name: " + yamlScalar(r.Name), "types: [" + strings.Join(r.Types, ", ") + "]", "provider: " + yamlScalar(r.Provider)}
		// Categories and group are part of what a feed rule means: a copy
		// of the table without them would score every found answer.
		if r.Category != "" {
			parts = append(parts, "category: "+yamlScalar(r.Category))
		}
		if len(r.Categories) > 0 {
			parts = append(parts, "categories: ["+strings.Join(r.Categories, ", ")+"]")
		}
		if r.Field != "" {
			parts = append(parts, "field: "+r.Field)
		}
		if r.Min != nil {
			parts = append(parts, "min: "+strconv.FormatFloat(*r.Min, 'f', -1, 64))
		}
		if r.Max != nil {
			parts = append(parts, "max: "+strconv.FormatFloat(*r.Max, 'f', -1, 64))
		}
		parts = append(parts, fmt.Sprintf("points: %d", r.Points))
		if r.Group != "" {
			parts = append(parts, "group: "+yamlScalar(r.Group))
		}
		if r.Description != "" {
			parts = append(parts, "description: "+strconv.Quote(r.Description))
		}
		lines = append(lines, "  - {"+strings.Join(parts, ", ")+"}")
	}
	lines = append(lines, "bands:")
	for _, bd := range def.Bands {
		lines = append(lines, fmt.Sprintf("  - {min: %d, verdict: %s}", bd.Min, bd.Verdict))
	}
	return lines
}
