package report

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// What a human report shows of one string. Alert fields can be megabytes
// (base64 script blocks, e-mail bodies); a person reads the start, and the
// JSON report keeps every byte. Clipping before defanging, sanitising and
// wrapping keeps every renderer linear in its input and each alert's share
// of a report bounded.
const (
	// fieldLimit is the most bytes shown of one field: a string value of
	// the raw alert, an id, a factor, a line of reasoning.
	fieldLimit = 4096
	// rawLimit is the most bytes shown of one alert's raw record.
	rawLimit = 64 << 10
	// csvCellLimit keeps a CSV cell inside a spreadsheet's 32,767
	// characters, note included.
	csvCellLimit = 32000
	// idLimit is the most bytes shown of an alert id (ids are short; a
	// longer one is noise or an attack on the layout).
	idLimit = 256
	// titleLimit is the most bytes of a field read for an alert's title
	// (which is then cut to 120 characters).
	titleLimit = 1024
)

// clip returns s whole when it has at most limit bytes; otherwise its first
// limit bytes (cut at a character boundary, and before a word the cut
// would split) and a note of the full length.
func clip(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	return s[:wordCut(s, cutPoint(s, limit))] + truncatedNote(len(s))
}

// cutLookBack is how far a cut moves back to keep a word whole.
const cutLookBack = 512

// wordCut moves a cut back to the start of the word it splits, when that
// word started less than cutLookBack bytes before. Half a URL or host name
// is not an indicator, so defanging would miss it and a person would see
// "http://evil.c" live; whole words are defanged as ever. A word longer
// than that (base64, a hex dump) is cut where it is.
func wordCut[S string | []byte](s S, cut int) int {
	for i := cut - 1; i >= max(cut-cutLookBack, 1); i-- {
		if isWordBreak(s[i]) {
			return i + 1
		}
	}
	return cut
}

func isWordBreak(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '<', '>', ',', ';', '(', ')', '[', ']', '{', '}', '|':
		return true
	}
	return false
}

// cutPoint is the largest index <= limit that starts a character of s.
func cutPoint(s string, limit int) int {
	if limit >= len(s) {
		return len(s)
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return cut
}

// truncatedNote says how much there was.
func truncatedNote(n int) string {
	return "… [truncated: " + humanSize(n) + " in all; the JSON report has it whole]"
}

// humanSize writes a byte count the way ls -h does, in 1024s.
func humanSize(n int) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	v, suffix := float64(n)/unit, "KB"
	for _, s := range []string{"MB", "GB", "TB"} {
		if v < unit {
			break
		}
		v, suffix = v/unit, s
	}
	return fmt.Sprintf("%.1f %s", v, suffix)
}

// displayRaw pretty-prints an alert's record for people: indented like
// json.Indent, each string (key or value) longer than fieldLimit clipped
// with a note, and the whole cut after rawLimit bytes with a note. One pass
// over the record, whatever its size. An invalid record (never produced by
// the pipeline; reports read back are validated) is shown clipped as it is.
func displayRaw(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(min(len(raw)+len(raw)/4, rawLimit+256))
	depth := 0
	newline := func() {
		b.WriteByte('\n')
		for range depth {
			b.WriteString("  ")
		}
	}
	for i := 0; i < len(raw); i++ {
		if b.Len() > rawLimit {
			b.WriteString("\n")
			b.WriteString(truncatedNote(len(raw)))
			return b.String()
		}
		c := raw[i]
		switch c {
		case ' ', '\t', '\n', '\r':
		case '"':
			end, decoded, ok := stringEnd(raw, i)
			if !ok {
				return clip(string(raw), rawLimit)
			}
			tok := raw[i : end+1]
			if len(tok) <= fieldLimit {
				b.Write(tok)
			} else {
				b.Write(tok[:safeStringCut(tok, fieldLimit)])
				b.WriteString(truncatedNote(decoded))
				b.WriteByte('"')
			}
			i = end
		case '{', '[':
			j := i + 1
			for j < len(raw) && (raw[j] == ' ' || raw[j] == '\t' || raw[j] == '\n' || raw[j] == '\r') {
				j++
			}
			if j < len(raw) && (raw[j] == '}' || raw[j] == ']') {
				b.WriteByte(c)
				b.WriteByte(raw[j])
				i = j
				continue
			}
			b.WriteByte(c)
			depth++
			newline()
		case '}', ']':
			depth = max(depth-1, 0)
			newline()
			b.WriteByte(c)
		case ',':
			b.WriteByte(',')
			newline()
		case ':':
			b.WriteString(": ")
		default:
			// A number or literal: copy it up to the next delimiter.
			j := i
			for j < len(raw) && strings.IndexByte(" \t\n\r,:]}\"", raw[j]) < 0 {
				j++
			}
			b.WriteString(clip(string(raw[i:j]), fieldLimit))
			i = j - 1
		}
	}
	return b.String()
}

// stringEnd finds the closing quote of the JSON string starting at raw[i]
// and counts the bytes the string holds once decoded (for the note).
func stringEnd(raw []byte, i int) (end, decoded int, ok bool) {
	for j := i + 1; j < len(raw); j++ {
		switch raw[j] {
		case '"':
			return j, decoded, true
		case '\\':
			if j+1 < len(raw) && raw[j+1] == 'u' && j+5 < len(raw) {
				var r rune
				for _, h := range raw[j+2 : j+6] {
					r = r<<4 | rune(unhexDigit(h))
				}
				if r >= 0xd800 && r < 0xe000 {
					decoded += 2 // half of a surrogate pair: four bytes a pair
				} else {
					decoded += utf8.RuneLen(r)
				}
				j += 5
			} else {
				decoded++
				j++
			}
		default:
			decoded++
		}
	}
	return 0, 0, false
}

func unhexDigit(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}

// safeStringCut is where a quoted JSON string token may be cut near limit:
// never inside an escape sequence or a UTF-8 character.
func safeStringCut(tok []byte, limit int) int {
	cut := 1 // after the opening quote
	for cut < limit {
		step := 1
		if tok[cut] == '\\' {
			step = 2
			if cut+1 < len(tok) && tok[cut+1] == 'u' {
				step = 6
			}
		} else if tok[cut] >= utf8.RuneSelf {
			_, step = utf8.DecodeRune(tok[cut:])
		}
		if cut+step > limit {
			break
		}
		cut += step
	}
	// Delimiters are ASCII and never part of an escape but the quote of
	// \", which they then end: cutting after one is always safe.
	return wordCut(tok, cut)
}
