package attack

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// MaxScan is how many bytes of each text Suggest reads. Rule names,
// signatures and categories are short; a field of several megabytes is an
// attacker's or a broken exporter's, and reading all of it would only cost
// time. A word cut by the limit is dropped rather than matched in part.
const MaxScan = 4 << 10

// Suggestion is one technique Suggestions proposes for an alert.
type Suggestion struct {
	Technique Technique
	// Confidence is 1–99: about 90 when the text names the technique itself
	// (an id, its ATT&CK name, "kerberoasting"), 70–85 for an unambiguous
	// behaviour ("port scan", "web shell"), 30–60 for a category-level hint
	// (a Suricata class type, a lone tool name).
	Confidence int
	// Reason says what matched, in verdict's words: a phrase from verdict's
	// own table, an ATT&CK id or an ATT&CK name. It never quotes the alert,
	// so it is safe to print unescaped.
	Reason string
}

// Suggest returns the active techniques that the given rule names,
// signatures, descriptions or alert categories point to, most confident
// first (see Suggestions for the reasons). It returns nil when nothing
// matches; an alert with no suggestion is common and not an error.
func Suggest(texts ...string) []Technique {
	ss := Suggestions(texts...)
	if len(ss) == 0 {
		return nil
	}
	out := make([]Technique, len(ss))
	for i, s := range ss {
		out[i] = s.Technique
	}
	return out
}

// Suggestions is Suggest with a confidence and a reason for each technique.
//
// Each text is matched, case-insensitively and on whole words, against:
//   - ATT&CK ids written in it ("T1110", "t1059.001"; a revoked id counts as
//     its replacement), as Wazuh's rule.mitre.id and many rule names carry;
//   - ATT&CK technique names when they are the whole text ("Brute Force",
//     "OS Credential Dumping"), as CrowdStrike's Technique column and
//     Wazuh's rule.mitre.technique hold;
//   - verdict's table of well-known rule names, signatures and categories
//     (brute force, C2 beacons, encoded PowerShell, phishing, Tor, scans,
//     credential dumping, …). Words are split on punctuation and on
//     camelCase, so "SSH::Password_Guessing", "brute-force" and
//     "BruteForceDetected" all match; a word with digits or very short
//     parts ("C2KKTg1ppD9GuYkMK9", a Zeek uid) is not split. Some entries
//     need two phrases, which may come from different texts (a "CnC"
//     signature with an "HTTP" category suggests Web Protocols).
//
// Pass the fields that describe what was detected: rule name, signature,
// description, category, technique, action type. Host names, paths and
// certificate subjects are attacker-chosen free text too, but they name
// things rather than behaviour ("CN=GoldenTicket.factory.example" is a
// host), so they only add false suggestions.
//
// A text that is exactly a tactic's name ("Credential Access") is skipped:
// a tactic is not a technique. Only the first MaxScan bytes of each text are
// read, and the work is linear in what is read, so hostile input costs
// nothing extra. The result is deterministic: by confidence, then by how
// many matches support it, then by id.
func Suggestions(texts ...string) []Suggestion {
	ix := index()
	if len(ix.rules) == 0 {
		return nil
	}
	st := newScan(ix)
	for _, text := range texts {
		st.text(clip(text))
	}
	return st.result()
}

// clip cuts text to MaxScan bytes, dropping a word the cut would split.
func clip(text string) string {
	if len(text) <= MaxScan {
		return text
	}
	i := MaxScan
	if isWordByte(text[i]) {
		for i > 0 && isWordByte(text[i-1]) {
			i--
		}
	}
	return text[:i]
}

// isWordByte reports whether b belongs to a word. Bytes of multi-byte UTF-8
// sequences count as word bytes so non-ASCII names stay whole; '&' does so
// that "C&C" is one word.
func isWordByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '&' || b >= 0x80
}

func isUpper(b byte) bool { return 'A' <= b && b <= 'Z' }
func isLower(b byte) bool { return 'a' <= b && b <= 'z' }
func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// lowerASCII lower-cases ASCII letters only, so byte offsets are kept.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if isUpper(s[i]) {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if isUpper(b[j]) {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// words splits s (original case) into lower-case words, appending to dst;
// low is lowerASCII(s). With camel set, a word that reads as camelCase is
// split too: "MailItemsAccessed" gives "mail items accessed".
func words(dst []string, s, low string, camel bool) []string {
	for i := 0; i < len(s); {
		if !isWordByte(s[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(s) && isWordByte(s[j]) {
			j++
		}
		if camel {
			dst = camelParts(dst, s[i:j], low[i:j])
		} else {
			dst = append(dst, low[i:j])
		}
		i = j
	}
	return dst
}

// camelParts appends the camelCase parts of word ("SSLCertificateError" is
// "ssl certificate error"), or word whole when it does not read as words
// run together: it must be ASCII letters only, with parts four letters long
// on average. Random identifiers such as Zeek's uid "C2KKTg1ppD9GuYkMK9"
// would otherwise yield "c2".
func camelParts(dst []string, word, low string) []string {
	parts := 1
	for i := 0; i < len(word); i++ {
		if !isUpper(word[i]) && !isLower(word[i]) {
			return append(dst, low)
		}
		if camelBoundary(word, i) {
			parts++
		}
	}
	if parts == 1 || len(word) < 4*parts {
		return append(dst, low)
	}
	start := 0
	for i := 1; i < len(word); i++ {
		if camelBoundary(word, i) {
			dst = append(dst, low[start:i])
			start = i
		}
	}
	return append(dst, low[start:])
}

// camelBoundary reports whether a camelCase word starts at s[i]: a capital
// after a lower-case letter ("mailItems"), or the last capital of an acronym
// before a lower-case letter ("SSLCert").
func camelBoundary(s string, i int) bool {
	if i == 0 || !isUpper(s[i]) {
		return false
	}
	return isLower(s[i-1]) || isUpper(s[i-1]) && i+1 < len(s) && isLower(s[i+1])
}

// hasCamel reports whether s has a camelCase boundary anywhere, so that
// splitting it could give different words.
func hasCamel(s string) bool {
	for i := 1; i < len(s); i++ {
		if camelBoundary(s, i) {
			return true
		}
	}
	return false
}

// normalize returns s as the space-separated lower-case words the matcher
// compares (no camelCase split): "SSH::Password_Guessing" becomes
// "ssh password guessing".
func normalize(s string) string {
	return strings.Join(words(nil, s, lowerASCII(s), false), " ")
}

// scanIDs calls fn with every ATT&CK-shaped id in s that stands as a whole
// word: "T1110" and "t1059.001", but not "CST0004", "T12345" or the
// malformed "T1059.1" and "T1059.001.002".
func scanIDs(s string, fn func(string)) {
	for i := 0; i+5 <= len(s); i++ {
		if s[i] != 'T' && s[i] != 't' || i > 0 && isWordByte(s[i-1]) || !allDigits(s[i+1:i+5]) {
			continue
		}
		end := i + 5
		if end+4 <= len(s) && s[end] == '.' && allDigits(s[end+1:end+4]) {
			end += 4
		}
		switch {
		case end < len(s) && isWordByte(s[end]):
			continue // T12345, T1059.001x
		case end+1 < len(s) && s[end] == '.' && isDigit(s[end+1]):
			continue // T1059.1, T1059.0011, T1059.001.002
		}
		fn(s[i:end])
		i = end - 1
	}
}

// phrase is one compiled entry of a rule group.
type phrase struct {
	words []string
	rule  int
	group int // 0 for rule.any, 1 for rule.with, 2 for rule.unless
	text  string
}

// suggestIndex is the compiled rule table and name index.
type suggestIndex struct {
	rules   []rule
	byFirst map[string][]phrase // first word → phrases starting with it
	names   map[string]nameRef  // normalized whole-text ATT&CK name → technique
	tactics map[string]bool     // normalized tactic names and short names
}

type nameRef struct {
	id   string
	name string // the matched ATT&CK name, for the reason
	conf int
}

var (
	indexOnce sync.Once
	theIndex  *suggestIndex
)

// index compiles the rule table and the name index on first use.
func index() *suggestIndex {
	indexOnce.Do(func() { theIndex = compile(rules, load()) })
	return theIndex
}

// compile builds the matcher. Rules naming an id that is not active in m are
// left out (a test fails on them), so a data update cannot make Suggest
// return a retired technique.
func compile(rs []rule, m *matrix) *suggestIndex {
	ix := &suggestIndex{byFirst: map[string][]phrase{}, names: map[string]nameRef{}, tactics: map[string]bool{}}
	for _, r := range rs {
		if !r.activeIn(m) {
			continue
		}
		ri := len(ix.rules)
		ix.rules = append(ix.rules, r)
		for g, group := range [][]string{r.any, r.with, r.unless} {
			for _, p := range group {
				w := words(nil, p, lowerASCII(p), false)
				if len(w) == 0 {
					continue
				}
				ix.byFirst[w[0]] = append(ix.byFirst[w[0]], phrase{words: w, rule: ri, group: g, text: p})
			}
		}
	}
	for _, t := range m.tactics {
		ix.tactics[normalize(t.Name)] = true
		ix.tactics[normalize(t.ShortName)] = true
	}
	// Whole-text names. One-word names ("Proxy", "Tool", "SSH", "At") are
	// ordinary words in other fields, so only names of two words or more
	// count; the distinctive one-word ones ("Kerberoasting") are in the rule
	// table. A sub-technique's own part ("Password Spraying") counts when no
	// other sub-technique shares it ("Cloud Accounts" has three parents).
	ambiguous := map[string]bool{}
	add := func(name, id string, conf int) {
		key := normalize(name)
		if strings.Count(key, " ") == 0 || ambiguous[key] {
			return
		}
		if prev, ok := ix.names[key]; ok {
			if prev.id != id && prev.conf == conf {
				delete(ix.names, key)
				ambiguous[key] = true
			}
			return // the first, more specific kind of name wins
		}
		ix.names[key] = nameRef{id: id, name: name, conf: conf}
	}
	for _, t := range m.techniques {
		add(t.Name, t.ID, 90)
	}
	for _, t := range m.techniques {
		if _, sub, ok := strings.Cut(t.Name, ": "); ok {
			add(sub, t.ID, 75)
		}
	}
	retiredIDs := make([]string, 0, len(m.retired))
	for id := range m.retired {
		retiredIDs = append(retiredIDs, id)
	}
	slices.Sort(retiredIDs)
	for _, id := range retiredIDs {
		if rt := m.retired[id]; rt.status == StatusRevoked {
			add(rt.name, rt.final, 80)
		}
	}
	return ix
}

// contribution is the best evidence found so far for one technique.
type contribution struct {
	conf   int
	n      int // distinct pieces of evidence
	reason string
}

// scan holds the state of one Suggestions call.
type scan struct {
	ix    *suggestIndex
	found map[string]*contribution
	// first[rule][group] is the first phrase that matched, or nil.
	first [][3]*phrase
	buf   []string
}

func newScan(ix *suggestIndex) *scan {
	return &scan{ix: ix, found: map[string]*contribution{}, first: make([][3]*phrase, len(ix.rules))}
}

func (st *scan) add(id string, conf int, reason string) {
	c, ok := st.found[id]
	if !ok {
		st.found[id] = &contribution{conf: conf, n: 1, reason: reason}
		return
	}
	c.n++
	if conf > c.conf {
		c.conf, c.reason = conf, reason
	}
}

func (st *scan) text(s string) {
	if s == "" {
		return
	}
	scanIDs(s, func(id string) {
		switch r := Resolve(id); r.Status {
		case StatusValid:
			st.add(r.ID, 95, "names "+r.ID)
		case StatusRevoked:
			st.add(r.ReplacedBy, 90, fmt.Sprintf("names %s (revoked, now %s)", r.ID, r.ReplacedBy))
		}
	})
	low := lowerASCII(s)
	st.buf = words(st.buf[:0], s, low, false)
	if len(st.buf) <= 16 {
		whole := strings.Join(st.buf, " ")
		if st.ix.tactics[whole] {
			return
		}
		if n, ok := st.ix.names[whole]; ok {
			st.add(n.id, n.conf, fmt.Sprintf("names the technique %q", n.name))
		}
	}
	st.match(st.buf)
	if hasCamel(s) {
		st.buf = words(st.buf[:0], s, low, true)
		st.match(st.buf)
	}
}

// match records every phrase that occurs in ws. Each word costs one map
// lookup plus a comparison with the few phrases that start with it.
func (st *scan) match(ws []string) {
	for i, w := range ws {
		for k := range st.ix.byFirst[w] {
			p := &st.ix.byFirst[w][k]
			if st.first[p.rule][p.group] != nil || len(p.words) > len(ws)-i {
				continue
			}
			if slices.Equal(p.words[1:], ws[i+1:i+len(p.words)]) {
				st.first[p.rule][p.group] = p
			}
		}
	}
}

func (st *scan) result() []Suggestion {
	for ri, r := range st.ix.rules {
		got := st.first[ri]
		if got[0] == nil || len(r.with) > 0 && got[1] == nil || got[2] != nil {
			continue
		}
		reason := fmt.Sprintf("matched %q", got[0].text)
		if got[1] != nil {
			reason += fmt.Sprintf(" with %q", got[1].text)
		}
		for _, w := range r.techs {
			st.add(w.id, w.conf, reason)
		}
	}
	if len(st.found) == 0 {
		return nil
	}
	m := load()
	out := make([]Suggestion, 0, len(st.found))
	for id, c := range st.found {
		t, ok := m.active[id]
		if !ok {
			continue
		}
		out = append(out, Suggestion{Technique: t.clone(), Confidence: c.conf, Reason: c.reason})
	}
	slices.SortFunc(out, func(a, b Suggestion) int {
		return cmp.Or(
			cmp.Compare(b.Confidence, a.Confidence),
			cmp.Compare(st.found[b.Technique.ID].n, st.found[a.Technique.ID].n),
			strings.Compare(a.Technique.ID, b.Technique.ID))
	})
	return out
}
