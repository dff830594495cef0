// Package attack is verdict's embedded copy of MITRE ATT&CK® Enterprise:
// its techniques, sub-techniques, tactics and retired (revoked or deprecated)
// technique ids, release v18.1.
//
// It answers three questions without any I/O:
//   - Resolve: is a technique id that a model or a SIEM gave us real, and
//     what is it called? Revoked ids are mapped to their active replacement,
//     following MITRE's replaced-by chains; deprecated, unknown and malformed
//     ids resolve to no technique.
//   - Lookup and Tactics: the names and tactics reports print next to an id.
//   - Suggest: which techniques a rule name, signature or alert category
//     points to (the heuristic's suggestion when no model is available).
//
// The tables are parsed once, on first use. The data is MITRE's and must be
// shown with its attribution: see Attribution and License.
package attack

import (
	"fmt"
	"slices"
	"strings"
)

// version is the ATT&CK release of the embedded tables; a test checks it
// against data/README.md so the two cannot drift apart.
const version = "v18.1"

// Version returns the ATT&CK Enterprise release the embedded tables come
// from, such as "v18.1".
func Version() string { return version }

// Tactic is one column of the Enterprise matrix.
type Tactic struct {
	ID        string // "TA0006"
	ShortName string // "credential-access", as in STIX kill_chain_phases
	Name      string // "Credential Access"
}

// URL returns the tactic's page on attack.mitre.org.
func (t Tactic) URL() string {
	if t.ID == "" {
		return ""
	}
	return "https://attack.mitre.org/tactics/" + t.ID + "/"
}

// Technique is an active (neither revoked nor deprecated) technique or
// sub-technique.
type Technique struct {
	ID string // "T1059" or "T1059.001"
	// Name is MITRE's name; a sub-technique's is "Parent: Sub", as in
	// "Command and Scripting Interpreter: PowerShell".
	Name      string
	Tactics   []Tactic // in kill-chain order
	Platforms []string // sorted, as MITRE spells them ("Windows", "macOS", "IaaS")
}

// IsSubtechnique reports whether t is a sub-technique ("T1059.001").
func (t Technique) IsSubtechnique() bool { return strings.Contains(t.ID, ".") }

// ParentID returns the id of t's parent technique, or t's own id when t is
// not a sub-technique.
func (t Technique) ParentID() string {
	parent, _, _ := strings.Cut(t.ID, ".")
	return parent
}

// URL returns the technique's page on attack.mitre.org.
func (t Technique) URL() string {
	if t.ID == "" {
		return ""
	}
	return "https://attack.mitre.org/techniques/" + strings.ReplaceAll(t.ID, ".", "/") + "/"
}

// TacticNames returns the names of t's tactics in kill-chain order, as
// reports print them ("Persistence, Privilege Escalation").
func (t Technique) TacticNames() []string {
	names := make([]string, len(t.Tactics))
	for i, ta := range t.Tactics {
		names[i] = ta.Name
	}
	return names
}

// String returns "T1059.001 Command and Scripting Interpreter: PowerShell".
func (t Technique) String() string {
	if t.ID == "" {
		return ""
	}
	return t.ID + " " + t.Name
}

// clone returns a copy of t that shares no slice with the embedded matrix,
// so callers cannot corrupt it.
func (t Technique) clone() Technique {
	t.Tactics = slices.Clone(t.Tactics)
	t.Platforms = slices.Clone(t.Platforms)
	return t
}

// Status says what the matrix knows about a technique id.
type Status string

// The statuses Resolve returns.
const (
	// StatusValid: an active technique or sub-technique.
	StatusValid Status = "valid"
	// StatusRevoked: MITRE replaced the id; Resolution.Technique is the
	// active technique at the end of its replaced-by chain.
	StatusRevoked Status = "revoked"
	// StatusDeprecated: MITRE withdrew the id with no replacement.
	StatusDeprecated Status = "deprecated"
	// StatusUnknown: well-formed, but no such id in this ATT&CK release.
	StatusUnknown Status = "unknown"
	// StatusMalformed: not of the form T1234 or T1234.567.
	StatusMalformed Status = "malformed"
)

// AllStatuses lists every Status, in the order above.
var AllStatuses = []Status{StatusValid, StatusRevoked, StatusDeprecated, StatusUnknown, StatusMalformed}

// String returns the status as it appears in logs and JSON.
func (s Status) String() string { return string(s) }

// Resolution is the outcome of Resolve.
type Resolution struct {
	// Input is the id exactly as given.
	Input string
	// ID is Input in canonical form ("t1059.001 " becomes "T1059.001"); it
	// is empty when Input is malformed.
	ID     string
	Status Status
	// Name is the name the matrix gives ID: the technique's name when valid,
	// the retired technique's last name when revoked or deprecated.
	Name string
	// Technique is the technique to use: ID's own when valid, the active
	// replacement when revoked, and the zero Technique otherwise.
	Technique Technique
	// ReplacedBy is, for a revoked ID, the id of the active technique it
	// maps to (the end of the replaced-by chain, equal to Technique.ID).
	ReplacedBy string
}

// OK reports whether the resolution yields a technique to use (a valid id, or
// a revoked one mapped to its replacement).
func (r Resolution) OK() bool { return r.Technique.ID != "" }

// Warning returns a one-line, log-safe explanation of why r is not simply
// valid ("" when it is): a revoked id mapped to its replacement, or a
// deprecated, unknown or malformed id that was dropped. Input is quoted and
// truncated because it may come from a model or an attacker.
func (r Resolution) Warning() string {
	switch r.Status {
	case StatusValid:
		return ""
	case StatusRevoked:
		return fmt.Sprintf("ATT&CK technique %s (%s) is revoked; using %s", r.ID, r.Name, r.Technique)
	case StatusDeprecated:
		return fmt.Sprintf("ATT&CK technique %s (%s) is deprecated and has no replacement; dropped", r.ID, r.Name)
	case StatusUnknown:
		return fmt.Sprintf("%s is not a technique in ATT&CK Enterprise %s; dropped", r.ID, version)
	default:
		return fmt.Sprintf("%s is not an ATT&CK technique id; dropped", quoteShort(r.Input))
	}
}

// quoteShort quotes s for a log line, cut to a few dozen bytes.
func quoteShort(s string) string {
	const max = 40
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	cut := max
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q…", s[:cut])
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// canonicalID returns id trimmed, with an upper-case T, when it has the form
// T1234 or T1234.567 (ASCII digits only: "T１０５９" is malformed, not a
// look-alike of T1059).
func canonicalID(id string) (string, bool) {
	s := strings.TrimSpace(id)
	if len(s) != 5 && len(s) != 9 {
		return "", false
	}
	if s[0] != 'T' && s[0] != 't' || !allDigits(s[1:5]) {
		return "", false
	}
	if len(s) == 9 && (s[5] != '.' || !allDigits(s[6:9])) {
		return "", false
	}
	return "T" + s[1:], true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Resolve checks a technique id against the embedded matrix. It trims
// spaces and accepts a lower-case t ("t1059.001"). A revoked id resolves to
// the active technique its replaced-by chain ends at (T1073 → T1574.002 →
// T1574.001); deprecated, unknown and malformed ids resolve to no technique.
//
// If the embedded tables failed to parse (see Check), every well-formed id
// is StatusUnknown.
func Resolve(id string) Resolution {
	r := Resolution{Input: id}
	canon, ok := canonicalID(id)
	if !ok {
		r.Status = StatusMalformed
		return r
	}
	r.ID = canon
	m := load()
	if t, ok := m.active[canon]; ok {
		r.Status, r.Name, r.Technique = StatusValid, t.Name, t.clone()
		return r
	}
	if rt, ok := m.retired[canon]; ok {
		r.Name = rt.name
		if rt.status == StatusRevoked {
			r.Status, r.ReplacedBy = StatusRevoked, rt.final
			r.Technique = m.active[rt.final].clone()
			return r
		}
		r.Status = StatusDeprecated
		return r
	}
	r.Status = StatusUnknown
	return r
}

// Lookup returns the active technique with the given id (trimmed, any case
// of the leading T). Revoked, deprecated and unknown ids are not found; use
// Resolve to map a revoked id to its replacement.
func Lookup(id string) (Technique, bool) {
	canon, ok := canonicalID(id)
	if !ok {
		return Technique{}, false
	}
	t, ok := load().active[canon]
	if !ok {
		return Technique{}, false
	}
	return t.clone(), true
}

// Tactics returns the Enterprise tactics in kill-chain order, from
// Reconnaissance to Impact.
func Tactics() []Tactic {
	return slices.Clone(load().tactics)
}

// Techniques returns every active technique and sub-technique, sorted by id.
func Techniques() []Technique {
	m := load()
	out := make([]Technique, len(m.techniques))
	for i, t := range m.techniques {
		out[i] = t.clone()
	}
	return out
}

// Check returns the error, if any, met while parsing the embedded tables. It
// is nil in every released build (a test asserts it), so callers such as
// `verdict doctor` only need it as a self-test.
func Check() error {
	return load().err
}
