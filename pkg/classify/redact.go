package classify

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/verdict-dev/verdict/pkg/alert"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

// Redactor replaces what identifies people and internal systems (user
// names, internal host and domain names, e-mail local parts, non-global
// addresses) with placeholders before a prompt leaves the machine, and maps
// the placeholders back in the model's answer (gemini.redact).
//
// It works on text, never on the prompt as a whole: the caller redacts the
// alert (RedactJSON) and the indicator values inside the trusted facts
// (Enrichment, Factors), so the words verdict itself writes (verdicts,
// labels, provider and feed names) are never rewritten, whatever a user is
// called.
//
// A placeholder reads ⟦user-1:kqzrtmh⟧: a kind, a number per kind, and a
// token derived from the alert that occurs nowhere in it, so no real value
// and no word of the prompt can take that form. Every spelling of one
// value (case, IPv6 forms, zones, IPv4-mapped forms, a host's short name)
// shares the number; spellings after the first get a variant suffix
// (⟦user-1.v2:kqzrtmh⟧) so that Restore gives each back exactly.
//
// A Redactor is not safe for concurrent use; make one per prompt.
type Redactor struct {
	token    string
	internal []string // the organisation's domains, lower case, no leading dot

	single map[string]*entity     // folded one-token value -> entity
	multi  map[string][]*multiLit // folded first token -> values with separators
	addrs  map[netip.Addr]*entity // non-global address (unmapped, no zone) -> entity
	count  map[string]int         // kind -> entities numbered so far
	back   map[string]string      // placeholder -> the exact text it replaced
}

// Placeholder kinds; addresses use "ip-" and their skip reason
// (ip-private, ip-link-local, ...), so the model still knows what they are.
const (
	kindUser   = "user"
	kindHost   = "host"
	kindDomain = "domain"
)

// Placeholders are bracketed by characters that JSON never escapes and that
// verdict's own words never contain.
const (
	phOpen  = "⟦"
	phClose = "⟧"
	// maxPlaceholder bounds what Restore looks at between the brackets.
	maxPlaceholder = 64
	// tokenAlphabet has no hex digit and no vowel: the token is never part
	// of a hash, a number or a word.
	tokenAlphabet = "ghjkmnpqrstvwxyz"
	tokenLen      = 7
)

// skipInternal is the skip reason of names under ioc.internal_domains
// (ioc.Internal once that package has it).
const skipInternal = "internal"

type entity struct {
	kind     string
	n        int               // 0 until its first placeholder is written
	variants map[string]string // exact text -> placeholder
}

type multiLit struct {
	folded string
	e      *entity
}

// NewRedactor learns the sensitive values of one alert: from the fields
// that name users, hosts and account domains, from the patterns of free
// text (sshd and Windows messages, key=value pairs, profile paths, UNC
// paths, URLs, e-mail addresses) and from its indicators. internalDomains
// are the organisation's domains (ioc.internal_domains): every name equal
// to or under one of them is redacted wherever it appears. Names under the
// private-use top-level names (.local, .lan, .internal, .corp, .home.arpa,
// ...) always are.
func NewRedactor(c Case, internalDomains []string) *Redactor {
	r := &Redactor{
		single: map[string]*entity{},
		multi:  map[string][]*multiLit{},
		addrs:  map[netip.Addr]*entity{},
		count:  map[string]int{},
		back:   map[string]string{},
	}
	for _, d := range internalDomains {
		d = foldCase(strings.Trim(strings.TrimSpace(d), "."))
		if d != "" {
			r.internal = append(r.internal, d)
			r.learnDomainDN(d, r.addLiteral(kindDomain, d, nil))
		}
	}
	r.token = newToken(c, r.internal)

	seenKeys := map[string]bool{}
	err := alert.Walk(c.Raw, func(p *alert.Path, kind alert.Kind, v string) {
		keys := p.Keys()
		if n := len(keys); n > 0 && !seenKeys[keys[n-1]] {
			seenKeys[keys[n-1]] = true
			r.learnText(keys[n-1])
		}
		if kind != alert.KindString {
			return
		}
		r.learnField(keys, v)
		r.learnText(v)
	})
	if err != nil {
		r.learnText(string(c.Raw)) // not JSON: what the prompt shows is the raw text
	}
	for _, i := range c.IOCs {
		r.learnIOC(i)
	}
	return r
}

// newToken derives the placeholder token from the alert, and moves on to
// the next candidate while one occurs in what the prompt will show, so no
// text of the alert can ever read as a placeholder.
func newToken(c Case, internal []string) string {
	var seen strings.Builder
	seen.WriteString(foldCase(string(StableJSON(c.Raw))))
	for _, i := range c.IOCs {
		seen.WriteString("\x00" + foldCase(i.Value) + "\x00" + foldCase(strings.Join(i.Fields, "\x00")))
	}
	for _, f := range c.Risk.Factors {
		seen.WriteString("\x00" + foldCase(f))
	}
	for _, l := range EnrichmentSummary(c) { // feed and provider words too
		seen.WriteString("\x00" + foldCase(l))
	}
	text := seen.String()
	seed := sha256.New()
	seed.Write([]byte("verdict-redact\x00"))
	seed.Write(c.Raw)
	seed.Write([]byte("\x00" + strings.Join(internal, ",")))
	base := seed.Sum(nil)
	for i := uint64(0); ; i++ {
		h := sha256.New()
		h.Write(base)
		_ = binary.Write(h, binary.BigEndian, i)
		sum := h.Sum(nil)
		tok := make([]byte, tokenLen)
		for j := range tok {
			tok[j] = tokenAlphabet[sum[j]%byte(len(tokenAlphabet))]
		}
		if !strings.Contains(text, string(tok)) {
			return string(tok)
		}
	}
}

// Len is how many distinct strings have been replaced so far.
func (r *Redactor) Len() int {
	if r == nil {
		return 0
	}
	return len(r.back)
}

// Apply redacts free text: every spelling of a learned value where it
// stands as a whole token, every non-global IPv4 or IPv6 address in any
// textual form, and every name under an internal domain. Whole-token
// matching keeps "admin" from eating "administrator"; letters match in any
// case.
func (r *Redactor) Apply(s string) string {
	if r == nil || s == "" {
		return s
	}
	spans := r.find(s)
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16*len(spans))
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp.a])
		b.WriteString(r.placeholder(sp.e, s[sp.a:sp.b]))
		last = sp.b
	}
	b.WriteString(s[last:])
	return b.String()
}

// RedactJSON redacts a JSON document (the alert as the prompt shows it):
// every string, key or value, is decoded, redacted and encoded again, so a
// value is found whether or not JSON escapes it (CORP\svc_backup is
// "CORP\\svc_backup" in the document). A document that does not parse is
// redacted as text.
func (r *Redactor) RedactJSON(doc []byte) []byte {
	if r == nil {
		return doc
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return []byte(r.Apply(string(doc)))
	}
	// json.Marshal is what StableJSON encodes with: an alert with nothing
	// to redact comes out byte for byte as it went in.
	out, err := json.Marshal(r.redactValue(v))
	if err != nil {
		return []byte(r.Apply(string(doc)))
	}
	return out
}

func (r *Redactor) redactValue(v any) any {
	switch x := v.(type) {
	case string:
		return r.Apply(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[r.Apply(k)] = r.redactValue(val)
		}
		return out
	case []any:
		for i := range x {
			x[i] = r.redactValue(x[i])
		}
		return x
	}
	return v
}

// Enrichment is EnrichmentSummary with only the indicator values and the
// alert field names redacted: the provider names, feed names and result
// words around them are verdict's own and stay as they are.
func (r *Redactor) Enrichment(c Case) []string {
	if r == nil {
		return EnrichmentSummary(c)
	}
	rc := c
	rc.IOCs = make([]model.IOC, len(c.IOCs))
	rc.Enrichment = make(map[string]map[string]*model.Result, len(c.Enrichment))
	for i, x := range c.IOCs {
		y := x
		y.Value = r.Apply(x.Value)
		y.Fields = make([]string, len(x.Fields))
		for j, f := range x.Fields {
			y.Fields[j] = r.Apply(f)
		}
		rc.IOCs[i] = y
		if res, ok := c.Enrichment[x.Value]; ok {
			rc.Enrichment[y.Value] = res
		}
	}
	return EnrichmentSummary(rc)
}

// Factors returns the risk factors with only the indicator value that
// starts each one ("IP 10.0.0.5: ...") redacted; the rule's words are
// verdict's own and stay as they are.
func (r *Redactor) Factors(c Case) []string {
	if r == nil || len(c.Risk.Factors) == 0 {
		return c.Risk.Factors
	}
	iocs := append([]model.IOC(nil), c.IOCs...)
	sort.SliceStable(iocs, func(i, j int) bool { return len(iocs[i].Value) > len(iocs[j].Value) })
	out := make([]string, len(c.Risk.Factors))
	for k, f := range c.Risk.Factors {
		out[k] = f
		for _, i := range iocs {
			label := ioc.Type(i.Type).Label() + " "
			if i.Value == "" || !strings.HasPrefix(f, label+i.Value+": ") {
				continue
			}
			out[k] = label + r.Apply(i.Value) + f[len(label)+len(i.Value):]
			break
		}
	}
	return out
}

// Restore maps the placeholders in the model's answer back to the exact
// text they replaced. Only a placeholder this Redactor wrote is restored:
// one the model invents or mangles (another number, another token, no
// token) stays as it is and never turns into some other value.
func (r *Redactor) Restore(s string) string {
	if r == nil || len(r.back) == 0 || !strings.Contains(s, phOpen) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.Index(s, phOpen)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		body := s[i+len(phOpen):]
		if len(body) > maxPlaceholder {
			body = body[:maxPlaceholder]
		}
		if j := strings.Index(body, phClose); j >= 0 {
			end := i + len(phOpen) + j + len(phClose)
			if orig, ok := r.back[s[i:end]]; ok {
				b.WriteString(s[:i])
				b.WriteString(orig)
				s = s[end:]
				continue
			}
		}
		b.WriteString(s[:i+len(phOpen)])
		s = s[i+len(phOpen):]
	}
}

// placeholder returns the placeholder of one spelling of an entity,
// numbering the entity on its first use so that numbers follow the order
// in which the model reads them.
func (r *Redactor) placeholder(e *entity, text string) string {
	if ph, ok := e.variants[text]; ok {
		return ph
	}
	if e.n == 0 {
		r.count[e.kind]++
		e.n = r.count[e.kind]
	}
	id := e.kind + "-" + strconv.Itoa(e.n)
	if v := len(e.variants) + 1; v > 1 {
		id += ".v" + strconv.Itoa(v)
	}
	ph := phOpen + id + ":" + r.token + phClose
	e.variants[text] = ph
	r.back[ph] = text
	return ph
}

// span is one stretch of text to replace.
type span struct {
	a, b int
	e    *entity
}

// find returns the non-overlapping spans to replace in s, in order. Among
// names the earliest, then the longest, wins. A name that holds whole
// addresses replaces them with itself (db01-10.0.0.5); where a name and an
// address only partly overlap, the address wins, as the more structured.
func (r *Redactor) find(s string) []span {
	var addrs, names []span
	r.findAddrs(s, func(a, b int, e *entity) { addrs = append(addrs, span{a, b, e}) })
	r.findNames(s, func(a, b int, e *entity) { names = append(names, span{a, b, e}) })
	if len(names) == 0 {
		return addrs
	}
	sort.SliceStable(names, func(i, j int) bool {
		if names[i].a != names[j].a {
			return names[i].a < names[j].a
		}
		return names[i].b > names[j].b
	})
	out := make([]span, 0, len(addrs)+len(names))
	k, end := 0, 0
	for _, n := range names {
		if n.a < end {
			continue // inside the previous name
		}
		for k < len(addrs) && addrs[k].b <= n.a {
			out = append(out, addrs[k])
			k++
		}
		m, inside := k, true
		for ; m < len(addrs) && addrs[m].a < n.b; m++ {
			inside = inside && addrs[m].a >= n.a && addrs[m].b <= n.b
		}
		if !inside {
			continue
		}
		k = m
		out = append(out, n)
		end = n.b
	}
	return append(out, addrs[k:]...)
}

// learnIOC learns from the indicators: names verdict skipped as internal
// are redacted even when the caller passed no internal domains (a case
// read back from a report).
func (r *Redactor) learnIOC(i model.IOC) {
	r.learnText(i.Value)
	for _, f := range i.Fields {
		r.learnText(f)
	}
	if i.Skipped != skipInternal {
		return
	}
	host := i.Value
	if i.Type == string(ioc.URL) {
		u, err := url.Parse(i.Value)
		if err != nil {
			return
		}
		host = u.Hostname()
	}
	if host != "" && len(host) <= 253 {
		r.addLiteral(kindHost, host, nil)
	}
}
