package ioc

import (
	"unicode"
	"unicode/utf8"
)

// uniKind is how a character takes part in a host name or a URL. The scanner
// works on bytes and only asks for the kind of non-ASCII characters, so that
// ASCII text pays nothing for internationalised names.
type uniKind uint8

const (
	// uNone ends a word: punctuation (typographic quotes, the ideographic
	// full stop), spaces, symbols, emoji, controls and invalid UTF-8.
	uNone uniKind = iota
	// uSpaced is a letter or digit of a script written with spaces between
	// words: Latin (ASCII included), Cyrillic, Greek, Arabic, Devanagari...
	// It joins the ASCII around it, so "pаypal-secure.com" (Cyrillic а) and
	// "bücher-shop.de" are taken whole.
	uSpaced
	// uNoSpace is a letter of a script written without spaces between words
	// (Han, Kana, Hangul particles, Thai, ...). A switch between it and a
	// uSpaced letter starts a new word: in "访问evil.com。" or
	// "evil.com에서" the name is evil.com, while "例子.中国" stays whole.
	uNoSpace
	// uNeutral belongs to the letters around it whatever their script:
	// combining marks, letters of the Common script (the Katakana prolonged
	// sound mark), the zero-width joiners, and the default-ignorable
	// characters that IDNA deletes (soft hyphen, zero-width space, word
	// joiner, BOM), so that the "ev\u00adil.com" trick still reads evil.com.
	uNeutral
)

// kindAt returns the kind of the (non-ASCII) character at s[i] and its size.
func kindAt(s string, i int) (uniKind, int) {
	r, n := utf8.DecodeRuneInString(s[i:])
	return runeKind(r), n
}

func runeKind(r rune) uniKind {
	if r < utf8.RuneSelf {
		if class[r]&cAlnum != 0 {
			return uSpaced
		}
		return uNone
	}
	// The scripts alerts are written in most often, without the table
	// look-ups below.
	switch {
	case r >= 0xC0 && r <= 0x24F && r != 0xD7 && r != 0xF7: // Latin-1 letters, Latin Extended-A and -B
		return uSpaced
	case r >= 0x400 && r <= 0x45F: // basic Cyrillic
		return uSpaced
	case r >= 0x4E00 && r <= 0x9FFF: // CJK unified ideographs
		return uNoSpace
	case r >= 0x3041 && r <= 0x3096 || r >= 0x30A1 && r <= 0x30FA: // Hiragana, Katakana
		return uNoSpace
	case r >= 0xAC00 && r <= 0xD7A3: // Hangul syllables
		return uNoSpace
	}
	switch r {
	case utf8.RuneError:
		return uNone
	case 0x00AD, 0x200B, 0x2060, 0xFEFF:
		return uNeutral
	case 0x200C, 0x200D:
		// Zero-width (non-)joiners belong inside words of Indic and Arabic
		// scripts; IDNA allows them only there, so "pay\u200dpal.com" is
		// rejected whole instead of read as pal.com.
		return uNeutral
	}
	switch {
	case unicode.IsLetter(r):
		switch {
		case unicode.In(r, noSpaceScripts...):
			return uNoSpace
		case unicode.Is(unicode.Common, r):
			return uNeutral
		}
		return uSpaced
	case unicode.IsMark(r):
		return uNeutral
	case unicode.IsDigit(r):
		return uSpaced // fullwidth and other decimal digits; IDNA maps or rejects them
	}
	return uNone
}

// noSpaceScripts are written without spaces between words, so a name in
// them runs straight into the text around it.
var noSpaceScripts = []*unicode.RangeTable{
	unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul,
	unicode.Bopomofo, unicode.Thai, unicode.Lao, unicode.Khmer,
	unicode.Myanmar, unicode.Tibetan, unicode.Yi,
}

// breaks reports whether a character of kind k cannot continue a word whose
// last letter was of kind prev: the switch between a script written with
// spaces and one written without.
func breaks(prev, k uniKind) bool {
	return prev == uNoSpace && k == uSpaced || prev == uSpaced && k == uNoSpace
}

// next returns the kind that a word carries on with after a character of
// kind k: neutral characters leave it as it was.
func next(prev, k uniKind) uniKind {
	if k == uNeutral {
		return prev
	}
	return k
}
