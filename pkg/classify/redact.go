package classify

import (
	"fmt"
	"sort"
	"strings"

	"github.com/verdict-dev/verdict/pkg/alert"
	"github.com/verdict-dev/verdict/pkg/ioc"
)

// Redactor replaces what identifies people and internal systems (user
// names, internal host names, e-mail local parts, non-global addresses)
// with stable placeholders before a prompt leaves the machine, and maps the
// placeholders back in the model's answer (gemini.redact).
type Redactor struct {
	forward map[string]string // original -> placeholder
	back    map[string]string
	count   map[string]int
}

// NewRedactor collects the sensitive strings of one alert.
func NewRedactor(c Case) *Redactor {
	r := &Redactor{forward: map[string]string{}, back: map[string]string{}, count: map[string]int{}}
	for _, i := range c.IOCs {
		if i.Skipped != "" && i.Skipped != string(ioc.Allowlisted) && (i.Type == string(ioc.IPv4) || i.Type == string(ioc.IPv6)) {
			r.add(i.Value, "IP")
		}
	}
	_ = alert.Walk(c.Raw, func(p *alert.Path, kind alert.Kind, v string) {
		if kind != alert.KindString || strings.TrimSpace(v) == "" || len(v) > 256 {
			return
		}
		keys := p.Keys()
		if ioc.FieldOptions(keys).NoEmailDomains {
			if at := strings.LastIndexByte(v, '@'); at > 0 {
				r.add(v[:at], "USER")
			} else if !strings.ContainsAny(v, " \t\n") {
				r.add(v, "USER")
			}
			return
		}
		if hostField(keys) && !strings.ContainsAny(v, " \t\n/") {
			if _, err := ioc.ParseIP(v); err == nil {
				return
			}
			if _, err := ioc.NormalizeDomain(v); err != nil {
				r.add(v, "HOST") // not a public name: an internal one
			}
		}
	})
	// E-mail local parts anywhere in the text.
	_ = alert.Walk(c.Raw, func(p *alert.Path, kind alert.Kind, v string) {
		if kind != alert.KindString {
			return
		}
		for _, tok := range strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(" \t\n,;<>\"'()[]=:", r) }) {
			if at := strings.IndexByte(tok, '@'); at > 0 && at < len(tok)-1 && strings.Contains(tok[at:], ".") {
				r.add(tok[:at], "USER")
			}
		}
	})
	return r
}

func hostField(keys []string) bool {
	if len(keys) == 0 {
		return false
	}
	last := normKey(keys[len(keys)-1])
	parent := ""
	if len(keys) > 1 {
		parent = normKey(keys[len(keys)-2])
	}
	switch last {
	case "hostname", "host", "computer", "computername", "devicename", "workstation", "workstationname", "machine", "machinename", "srchost", "dsthost", "compromisedentity":
		return true
	case "name":
		return parent == "host" || parent == "agent" || parent == "device" || parent == "computer" || parent == "observer"
	}
	return false
}

func (r *Redactor) add(s, kind string) {
	if len(s) < 2 {
		return
	}
	if _, ok := r.forward[s]; ok {
		return
	}
	r.count[kind]++
	ph := fmt.Sprintf("[%s_%d]", kind, r.count[kind])
	r.forward[s] = ph
	r.back[ph] = s
}

// Len is how many strings are redacted.
func (r *Redactor) Len() int { return len(r.forward) }

// Apply replaces every sensitive string, longest first, only where it
// stands as a whole token (so "admin" does not eat "administrator").
func (r *Redactor) Apply(s string) string {
	return replaceAll(s, r.forward)
}

// Restore maps placeholders in the model's answer back to what they stood for.
func (r *Redactor) Restore(s string) string {
	return replaceAll(s, r.back)
}

func replaceAll(s string, m map[string]string) string {
	if len(m) == 0 {
		return s
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) > len(keys[j])
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		s = replaceToken(s, k, m[k])
	}
	return s
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c >= 0x80
}

// replaceToken replaces old by new where old is not glued to other word
// characters on either side.
func replaceToken(s, old, new string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, old)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(old)
		okL := i == 0 || !isWordByte(s[i-1]) || !isWordByte(old[0])
		okR := end == len(s) || !isWordByte(s[end]) || !isWordByte(old[len(old)-1])
		// "." ends sentences: "host is pc1." still redacts pc1.
		if !okR && s[end] == '.' && (end+1 == len(s) || !isWordByte(s[end+1])) {
			okR = true
		}
		b.WriteString(s[:i])
		if okL && okR {
			b.WriteString(new)
		} else {
			b.WriteString(old)
		}
		s = s[end:]
	}
}
