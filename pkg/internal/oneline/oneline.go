// Package oneline makes text a server or a file sent fit one line of a
// message, a log or a report: valid UTF-8, no control or format characters
// (no terminal escapes, no bidi overrides), white space folded, and cut to a
// length without splitting a character. Providers, feeds and the pipeline
// all quote such text in errors and notes, and used to carry a copy each.
package oneline

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Of folds s to one line of printable characters: invalid UTF-8 becomes
// U+FFFD, runs of white space become one space, and the control and format
// characters left (escapes, bidi overrides) go.
func Of(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Join(strings.Fields(s), " ")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
}

// Clip cuts s to at most n bytes without splitting a character.
func Clip(s string, n int) string {
	if n < 0 {
		n = 0
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Cut is Of clipped to n bytes, with "…" when something was cut.
func Cut(s string, n int) string {
	s = Of(s)
	if len(s) <= n {
		return s
	}
	return Clip(s, n) + "…"
}
