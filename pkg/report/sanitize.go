package report

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sanitize makes attacker-controlled text safe to print on a terminal or in a
// ticket: control characters (ANSI escapes above all), bidirectional
// overrides, line separators and invisible format characters become visible
// \u escapes. Newlines and tabs are kept; use SanitizeLine where text must
// stay on one line. HTML escaping is html/template's job, not this
// function's.
func Sanitize(s string) string { return sanitize(s, keepNewline|keepTab) }

// SanitizeLine is Sanitize that also escapes newlines and tabs.
func SanitizeLine(s string) string { return sanitize(s, 0) }

// sanitizeText is Sanitize for report text laid out by verdict: newlines
// are kept, tabs (whose width no report can know) are escaped.
func sanitizeText(s string) string { return sanitize(s, keepNewline) }

const (
	keepNewline = 1 << iota
	keepTab
)

func sanitize(s string, keep int) string {
	clean := true
	for _, r := range s {
		if unsafeKept(r, keep) {
			clean = false
			break
		}
	}
	if clean && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for _, r := range s {
		if unsafeKept(r, keep) {
			switch r {
			case '\n':
				b.WriteString(`\n`)
			case '\t':
				b.WriteString(`\t`)
			case '\r':
				b.WriteString(`\r`)
			default:
				fmt.Fprintf(&b, `\u%04x`, r)
			}
			continue
		}
		b.WriteRune(r) // invalid bytes come back as U+FFFD
	}
	return b.String()
}

// unsafeKept is unsafeRune with newlines and tabs decided by keep.
func unsafeKept(r rune, keep int) bool {
	switch r {
	case '\n':
		return keep&keepNewline == 0
	case '\t':
		return keep&keepTab == 0
	}
	return unsafeRune(r, false)
}

// unsafeRune reports whether r must not reach a terminal or a report as it
// is; newlines and tabs count only when oneLine is set.
func unsafeRune(r rune, oneLine bool) bool {
	switch {
	case r == '\n' || r == '\t':
		return oneLine
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e || r == 0x200f, r == 0x061c:
		return true // bidirectional controls: "Trojan Source" reordering
	case r == 0xfeff || (r >= 0x200b && r <= 0x200d) || r == 0x2060:
		return true // zero-width characters hide text
	case r == 0x2028 || r == 0x2029:
		return true // line and paragraph separators break lines unseen
	case unicode.Is(unicode.Cf, r):
		return true
	}
	return false
}
