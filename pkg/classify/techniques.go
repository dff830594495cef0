package classify

import (
	"strings"

	"github.com/verdict-dev/verdict/pkg/alert"
	"github.com/verdict-dev/verdict/pkg/attack"
)

// MaxTechniques caps the technique ids one classification carries: a model
// that lists forty techniques is not being specific, and a report has no
// room for them.
const MaxTechniques = 8

// maxTechniqueInputs caps how many ids are even looked at; model output is
// untrusted and may be a list of thousands.
const maxTechniqueInputs = 64

// Techniques checks technique ids (a model's, or an export's) against the
// embedded ATT&CK matrix. Valid ids are kept, in canonical form; a revoked id
// is replaced by the active technique it now maps to; deprecated, unknown and
// malformed ids are dropped. Duplicates (after mapping) are dropped, and at
// most MaxTechniques are kept. Every id that was not simply valid comes
// back in changed, whose Warning says what happened to it.
func Techniques(ids []string) (kept []string, changed []attack.Resolution) {
	seen := map[string]bool{}
	for i, id := range ids {
		if i == maxTechniqueInputs {
			break
		}
		res := attack.Resolve(id)
		if res.Status != attack.StatusValid {
			changed = append(changed, res)
		}
		if !res.OK() || seen[res.Technique.ID] || len(kept) == MaxTechniques {
			continue
		}
		seen[res.Technique.ID] = true
		kept = append(kept, res.Technique.ID)
	}
	return kept, changed
}

// Heuristic suggestions: how many, how sure attack.Suggestions must be to
// be shown, and how sure to make the alert's context concerning.
const (
	maxSuggested  = 3
	minSuggestion = 40
	minConcerning = 50
)

// describedTechnique is the technique the alert's own description points
// to with at least minConcerning confidence ("T1528 Steal Application
// Access Token"), or "".
func describedTechnique(texts []string) string {
	if len(texts) == 0 {
		return ""
	}
	for _, s := range attack.Suggestions(texts...) {
		if s.Confidence >= minConcerning {
			return s.Technique.ID + " (" + s.Technique.Name + ")"
		}
		break
	}
	return ""
}

// suggestTechniques is the heuristic's ATT&CK suggestion: the techniques
// the alert's rule names, signatures, categories and technique fields point
// to (attack.Suggestions), most confident first.
func suggestTechniques(texts []string) []string {
	if len(texts) == 0 {
		return nil
	}
	var out []string
	for _, s := range attack.Suggestions(texts...) {
		if s.Confidence < minSuggestion || len(out) == maxSuggested {
			break
		}
		out = append(out, s.Technique.ID)
	}
	return out
}

// describesDetection reports whether a field (its normalised path, as
// alert.Path.Normalized gives it) says what was detected: a rule or
// signature name, a category, a description, a technique. Host, user,
// process and file names are left out: they are attacker-chosen names of
// things, not of behaviour, and only add false suggestions.
func describesDetection(p *alert.Path) bool {
	norm := p.Normalized()
	leaf, parent := norm, ""
	if i := strings.LastIndexByte(norm, '.'); i >= 0 {
		leaf = norm[i+1:]
		rest := norm[:i]
		parent = rest
		if j := strings.LastIndexByte(rest, '.'); j >= 0 {
			parent = rest[j+1:]
		}
	}
	switch leaf {
	case "signature", "description", "title", "msg", "note", "technique", "techniques", "techniqueid", "techniqueids",
		"actiontype", "alertname", "rulename", "detectname", "threatname", "mitreattack", "attacktechnique":
		return true
	case "name":
		switch parent {
		case "rule", "alert", "signature", "search", "threat", "technique", "detect", "detection", "notable":
			return true
		}
	case "id":
		return parent == "mitre" || parent == "technique"
	case "groups":
		return parent == "rule"
	case "category":
		switch parent {
		case "dest", "src", "source", "destination", "user", "host", "device", "file", "asset":
			return false // asset categories ("pci", "server"), not what happened
		}
		return true
	case "message":
		return parent != "system" && parent != "eventdata" // Windows event text: paths and names
	}
	return false
}
