// Package classify gives each alert a classification (TRUE_POSITIVE,
// FALSE_POSITIVE, NEEDS_REVIEW): from a model when one is configured and
// affordable, otherwise from deterministic heuristics. Whatever the source,
// the guard keeps it honest: a FALSE_POSITIVE never stands against a
// MALICIOUS risk verdict.
package classify

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/verdict-dev/verdict/pkg/model"
)

// Labels of a classification (CONTRACT.md).
const (
	TruePositive  = "TRUE_POSITIVE"
	FalsePositive = "FALSE_POSITIVE"
	NeedsReview   = "NEEDS_REVIEW"
)

// Labels lists every label, for schemas and validation.
var Labels = []string{TruePositive, FalsePositive, NeedsReview}

// Sources of a classification.
const (
	SourceGemini    = "gemini"
	SourceCache     = "cache"
	SourceHeuristic = "heuristic"
)

// Why the heuristic was used.
const (
	WhyNoKey   = "no_api_key"
	WhyOffline = "offline"
	WhyBudget  = "budget"
	WhyFailed  = "model_failed"
)

// Case is what classification sees of one alert.
type Case struct {
	AlertID    string
	Pos        string // where the alert was read (file#record): decides which alert carries a shared request's cost
	Raw        json.RawMessage
	Risk       model.Risk
	IOCs       []model.IOC
	Enrichment map[string]map[string]*model.Result
}

// FromAlert builds a Case from a report alert.
func FromAlert(a *model.Alert) Case {
	return Case{AlertID: a.ID, Pos: fmt.Sprintf("%s#%d", a.Source.File, a.Source.Record), Raw: a.Alert, Risk: a.Risk, IOCs: a.IOCs, Enrichment: a.Enrichment}
}

// Guard applies CONTRACT.md's guard: a FALSE_POSITIVE on a MALICIOUS alert
// becomes NEEDS_REVIEW with a "Conflict:" reason. The rule lives in pkg/model
// (model.Classification.Guard) so that reading a JSON report back applies
// the very same rule without importing classify.
func Guard(c *model.Classification, risk model.Risk) { c.Guard(risk) }

// Fingerprint identifies an alert up to its volatile fields (ids,
// timestamps, flow and sequence numbers): alerts that differ only there
// share one fingerprint, one model request and one cache entry.
func Fingerprint(raw json.RawMessage) (string, json.RawMessage) {
	stable := StableJSON(raw)
	sum := sha256.Sum256(stable)
	return hex.EncodeToString(sum[:16]), stable
}

// StableJSON is the alert without its volatile fields, with keys sorted,
// compact. It is what the model is shown.
func StableJSON(raw json.RawMessage) json.RawMessage {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	b, err := json.Marshal(strip(v, ""))
	if err != nil {
		return raw
	}
	return b
}

// volatileKeys are normalised keys (lower case, no separators) that carry a
// per-event value.
var volatileKeys = map[string]bool{
	"id": true, "alertid": true, "eventid": true, "systemalertid": true, "uid": true, "fuid": true,
	"flowid": true, "recordid": true, "reportid": true, "reportidlong": true, "reportidstring": true,
	"txid": true, "seq": true, "sequence": true, "offset": true, "serial": true, "correlationid": true,
	"requestid": true, "traceid": true, "spanid": true, "pid": true, "processid": true, "logonid": true,
	"ts": true, "writets": true, "timestamp": true, "created": true, "updated": true, "modified": true,
	"firstseen": true, "lastseen": true, "start": true, "end": true, "firedtimes": true, "cd": true, "bkt": true,
	"indextime": true, "indexedtime": true, "ingested": true, "compositeid": true, "aggregateid": true,
	// Ephemeral source ports differ on every connection and say nothing
	// about what happened; destination ports stay.
	"srcport": true, "sourceport": true, "sport": true, "idorigp": true, "origp": true, "clientport": true,
}

func normKey(k string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(k) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// volatile reports whether a key holds a per-event value.
func volatile(key string) bool {
	n := normKey(key)
	if volatileKeys[n] {
		return true
	}
	return strings.Contains(n, "time") || strings.Contains(n, "date") || strings.HasSuffix(n, "timestamp")
}

func strip(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		parent := normKey(key)
		for k, val := range x {
			if volatile(k) || (normKey(k) == "port" && (parent == "source" || parent == "src" || parent == "client")) {
				continue
			}
			sv := strip(val, k)
			if m, ok := sv.(map[string]any); ok && len(m) == 0 {
				if orig, _ := val.(map[string]any); len(orig) > 0 {
					continue // emptied by stripping: it held only volatile fields
				}
			}
			out[k] = sv
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = strip(val, key)
		}
		return out
	case string:
		if looksLikeTime(x) {
			return "<time>"
		}
	}
	return v
}

// looksLikeTime spots timestamps in fields whose names do not give them
// away ("2026-11-22T01:12:44Z", "11/06/2026, 08:18:17.083", "May 11 12:29:18").
func looksLikeTime(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) < 8 || len(s) > 40 {
		return false
	}
	digits := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	if digits < 6 {
		return false
	}
	iso := len(s) >= 16 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == ' ') && s[13] == ':'
	us := len(s) >= 16 && s[2] == '/' && s[5] == '/' && strings.Contains(s, ":")
	return iso || us
}

// EnrichmentSummary renders what the providers said about an alert's
// indicators, one line each, sorted: part of the prompt and of the cache key.
func EnrichmentSummary(c Case) []string {
	var lines []string
	for _, i := range c.IOCs {
		if i.Skipped != "" {
			lines = append(lines, fmt.Sprintf("%s %s (fields: %s): not looked up, %s", i.Type, i.Value, strings.Join(i.Fields, ", "), i.Skipped))
			continue
		}
		res := c.Enrichment[i.Value]
		names := make([]string, 0, len(res))
		for n := range res {
			names = append(names, n)
		}
		sort.Strings(names)
		var parts []string
		for _, n := range names {
			parts = append(parts, n+": "+resultWords(res[n]))
		}
		if len(parts) == 0 {
			parts = append(parts, "no provider takes this type")
		}
		lines = append(lines, fmt.Sprintf("%s %s (fields: %s): %s", i.Type, i.Value, strings.Join(i.Fields, ", "), strings.Join(parts, "; ")))
	}
	return lines
}

func resultWords(r *model.Result) string {
	switch r.Status {
	case model.StatusSkipped:
		return "not checked (" + r.Reason + ")"
	case model.StatusError:
		return "lookup failed"
	case model.StatusNotFound:
		return "unknown"
	}
	var w []string
	if r.Malicious != nil {
		w = append(w, fmt.Sprintf("%d malicious", *r.Malicious))
	}
	if r.Suspicious != nil && *r.Suspicious > 0 {
		w = append(w, fmt.Sprintf("%d suspicious", *r.Suspicious))
	}
	if r.AbuseConfidenceScore != nil {
		w = append(w, fmt.Sprintf("abuse confidence %d", *r.AbuseConfidenceScore))
	}
	if r.IsTor != nil && *r.IsTor {
		w = append(w, "Tor exit node")
	}
	if r.UsageType != "" {
		w = append(w, "usage "+r.UsageType)
	}
	if r.ThreatLabel != "" {
		w = append(w, "label "+r.ThreatLabel)
	}
	if r.Classification != "" {
		w = append(w, "classification "+r.Classification)
	}
	if r.RIOT != nil && *r.RIOT {
		w = append(w, "known benign service (RIOT)")
	}
	if len(r.Tags) > 0 {
		w = append(w, "tags "+strings.Join(r.Tags, ", "))
	}
	if len(r.Hostnames) > 0 {
		w = append(w, "hostnames "+strings.Join(r.Hostnames, ", "))
	}
	w = append(w, model.AttrWords(stableAttrs(r.Attrs))...)
	for _, m := range r.Matches {
		s := "listed in " + m.Feed
		if m.Info != "" {
			s += " (" + m.Info + ")"
		}
		w = append(w, s)
	}
	if len(w) == 0 {
		return "found, nothing notable"
	}
	return strings.Join(w, ", ")
}

// runRelative are attrs that depend on the run's clock rather than on the
// answer (a domain's age in days, from its registration date). The summary
// is part of the classification cache key: they would make every cached
// classification stale the next day, while the dates they derive from are
// in the summary already.
var runRelative = []string{"domain_age_days"}

func stableAttrs(attrs map[string]any) map[string]any {
	drop := false
	for _, k := range runRelative {
		_, has := attrs[k]
		drop = drop || has
	}
	if !drop {
		return attrs
	}
	out := make(map[string]any, len(attrs))
	for k, v := range attrs {
		out[k] = v
	}
	for _, k := range runRelative {
		delete(out, k)
	}
	return out
}

// Digest summarises the evidence a classification rests on (enrichment and
// risk), for the cache key: new evidence means a new question.
func Digest(c Case) string {
	h := sha256.New()
	for _, l := range EnrichmentSummary(c) {
		h.Write([]byte(l))
		h.Write([]byte{0})
	}
	fmt.Fprintf(h, "%d %s", c.Risk.Score, c.Risk.Verdict)
	for _, f := range c.Risk.Factors {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}
