package ioc

import "strings"

// Refang undoes the usual defanging of indicators in s: hxxp/hXXp/hxxps and
// fxp schemes, [.] (.) {.} [dot] (dot) {dot} and a regex-escaped \. for
// dots, [:] for colons, [://], [/], and [at] (at) [@] for '@'. Bare "at" and
// "dot" words are left alone: "news.ycombinATor.com" is not an e-mail
// (microsoft/msticpy#681).
// It returns s itself, without allocating, when there is nothing to undo.
//
// Nested forms ("[[.]]") are undone in the same pass, so Refang is
// idempotent: Refang(Refang(s)) == Refang(s).
func Refang(s string) string {
	if !needsRefang(s) {
		return s
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ']' || c == ')' || c == '}':
			out = append(out, c)
			n, rep := fangEnding(out)
			if n == 0 {
				continue
			}
			out = out[:len(out)-n]
			// "evil [.] com" and "user [at] example [dot] com" lose the
			// spaces too.
			if (rep == "." || rep == "@") && len(out) > 0 && out[len(out)-1] == ' ' && i+1 < len(s) && s[i+1] == ' ' {
				out = out[:len(out)-1]
				i++
			}
			if rep[0] == ':' {
				fixScheme(out)
			}
			out = append(out, rep...)
		case c == ':':
			fixScheme(out)
			out = append(out, c)
		case isAlnum(c) || c >= 0x80:
			if n := len(out); escapedDot(out, n) {
				out[n-2] = '.'
				out = out[:n-1]
			}
			out = append(out, c)
		default:
			out = append(out, c)
		}
	}
	return string(out)
}

// needsRefang reports whether Refang would change s: some defanged form
// must appear in s as written, since every change starts at one. It looks
// only at the bytes that end a form, found with strings.IndexByte, which is
// several times faster than a byte loop on clean log lines.
func needsRefang(s string) bool {
	for _, c := range [...]byte{']', ')', '}', ':', '\\'} {
		for i := 0; ; i++ {
			j := strings.IndexByte(s[i:], c)
			if j < 0 {
				break
			}
			i += j
			switch c {
			case ':':
				if fangedScheme(s[:i]) > 0 {
					return true
				}
			case '\\':
				if i+2 < len(s) && labelByte(s[i+2]) && escapedDot(s, i+2) {
					return true
				}
			default:
				if n, _ := fangEnding(s[:i+1]); n > 0 {
					return true
				}
			}
		}
	}
	return false
}

// fangEnding reports the defanged form at the end of b, if any: its length
// and what it stands for.
func fangEnding[T string | []byte](b T) (int, string) {
	n := len(b)
	if n < 3 {
		return 0, ""
	}
	closer := b[n-1]
	var opener byte
	switch closer {
	case ']':
		opener = '['
	case ')':
		opener = '('
	case '}':
		opener = '{'
	default:
		return 0, ""
	}
	if b[n-3] == opener {
		switch b[n-2] {
		case '.':
			return 3, "."
		case ':':
			if closer == ']' {
				return 3, ":"
			}
		case '/':
			if closer == ']' {
				return 3, "/"
			}
		case '@':
			if closer == ']' {
				return 3, "@"
			}
		}
		return 0, ""
	}
	if n >= 4 && b[n-4] == opener && b[n-3]|0x20 == 'a' && b[n-2]|0x20 == 't' && closer != '}' {
		return 4, "@"
	}
	if n >= 5 && b[n-5] == opener {
		if b[n-4]|0x20 == 'd' && b[n-3]|0x20 == 'o' && b[n-2]|0x20 == 't' {
			return 5, "."
		}
		if closer == ']' && b[n-4] == ':' && b[n-3] == '/' && b[n-2] == '/' {
			return 5, "://"
		}
	}
	return 0, ""
}

// fangedScheme reports the length of a defanged scheme (hxxp, hXXps, fxp,
// fxps) at the end of b, which is followed by a colon.
func fangedScheme[T string | []byte](b T) int {
	n := len(b)
	if n >= 1 && b[n-1]|0x20 == 's' {
		n--
	}
	switch {
	case n >= 4 && b[n-4]|0x20 == 'h' && b[n-3]|0x20 == 'x' && b[n-2]|0x20 == 'x' && b[n-1]|0x20 == 'p':
		return len(b) - (n - 4)
	case n >= 3 && b[n-3]|0x20 == 'f' && b[n-2]|0x20 == 'x' && b[n-1]|0x20 == 'p':
		return len(b) - (n - 3)
	}
	return 0
}

// fixScheme turns a defanged scheme at the end of out back into http(s) or
// ftp(s), keeping the case of each letter (hXXp -> hTTp).
func fixScheme(out []byte) {
	n := fangedScheme(out)
	if n == 0 {
		return
	}
	for i := len(out) - n; i < len(out); i++ {
		switch out[i] {
		case 'x':
			out[i] = 't'
		case 'X':
			out[i] = 'T'
		}
	}
}

// escapedDot reports whether b[:n] ends with a regex-escaped dot ("evil\.")
// that a following alphanumeric turns into a domain's dot. The label before
// it must not be a path component, so "C:\Users\bob\.ssh" and
// "\\.\pipe\x" keep their backslashes. Labels may be internationalised
// ("пример\.рф").
func escapedDot[T string | []byte](b T, n int) bool {
	if n < 3 || b[n-1] != '.' || b[n-2] != '\\' || !labelByte(b[n-3]) {
		return false
	}
	k := n - 3
	for k > 0 && (labelByte(b[k-1]) || b[k-1] == '-') {
		k--
	}
	return k == 0 || b[k-1] != '\\' && b[k-1] != '/'
}

// labelByte reports whether c can be part of a host name's label: an ASCII
// letter or digit, or a byte of a non-ASCII character.
func labelByte(c byte) bool { return isAlnum(c) || c >= 0x80 }
