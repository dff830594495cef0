package alert

import (
	"bufio"
	"bytes"
	"io"
)

// readBufSize is the bufio size for every input. NDJSON lines shorter than
// this are handed out without copying.
const readBufSize = 64 << 10

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// scanner is a streaming JSON tokenizer over a bufio.Reader. It never holds
// more than one captured value in memory, and tracks the byte offset and line
// of the next unread byte so that a record can be located and re-read.
type scanner struct {
	br   *bufio.Reader
	off  int64 // bytes consumed from the start of the file
	line int   // 1-based line of the next unread byte
	err  error // first read error other than io.EOF
}

// reset points the scanner at r, which is positioned at off/line.
func (s *scanner) reset(r io.Reader, off int64, line int) {
	if s.br == nil {
		s.br = bufio.NewReaderSize(r, readBufSize)
	} else {
		s.br.Reset(r)
	}
	s.off, s.line, s.err = off, line, nil
}

// window returns the buffered bytes, filling the buffer when it is empty.
// It is empty only at EOF or on a read error (kept in s.err).
func (s *scanner) window() []byte {
	if s.br.Buffered() == 0 {
		if _, err := s.br.Peek(1); err != nil {
			if err != io.EOF && s.err == nil {
				s.err = err
			}
			return nil
		}
	}
	w, _ := s.br.Peek(s.br.Buffered())
	return w
}

// advance consumes n buffered bytes. Callers count the newlines themselves.
func (s *scanner) advance(n int) {
	_, _ = s.br.Discard(n) // n is always within the buffered window
	s.off += int64(n)
}

// skipBOM consumes a UTF-8 byte-order mark at the current position.
func (s *scanner) skipBOM() {
	if b, _ := s.br.Peek(3); bytes.Equal(b, utf8BOM) {
		s.advance(3)
	}
}

// skipSpace consumes JSON whitespace and returns the next byte without
// consuming it; ok is false at EOF.
func (s *scanner) skipSpace() (c byte, ok bool) {
	for {
		w := s.window()
		if len(w) == 0 {
			return 0, false
		}
		for i, c := range w {
			switch c {
			case ' ', '\t', '\r':
			case '\n':
				s.line++
			default:
				s.advance(i)
				return c, true
			}
		}
		s.advance(len(w))
	}
}

// capResult says how a capture ended.
type capResult uint8

const (
	capDone     capResult = iota // the value is complete
	capTooLarge                  // complete, but longer than the limit: not stored
	capEOF                       // the input ended inside the value
)

// isDelim reports whether c ends a bare scalar (number, literal or garbage).
func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ',', ':', '[', ']', '{', '}', '"':
		return true
	}
	return false
}

// capture consumes one JSON value starting at the next byte, which must not
// be whitespace, and appends it to dst while it fits in limit bytes; a
// negative limit stores nothing (skipping). The end is found by bracket depth
// with string and escape awareness, without validating: a strict parser checks
// the captured bytes afterwards. A raw newline ends a string, since valid JSON
// cannot hold one: that keeps a broken string from swallowing the rest of the
// file. At least one byte is always consumed.
func (s *scanner) capture(dst []byte, limit int) ([]byte, capResult) {
	w := s.window()
	if len(w) == 0 {
		return dst, capEOF
	}
	if c := w[0]; c == '{' || c == '[' || c == '"' {
		return s.captureNested(dst, limit, 0)
	}
	// A bare scalar (or garbage): up to the next delimiter, at least one byte.
	k := sink{dst: dst, limit: limit}
	for first := true; ; {
		i := 0
		for i < len(w) && (first || !isDelim(w[i])) {
			first = false
			i++
		}
		k.keep(w[:i])
		s.advance(i)
		if i < len(w) {
			return k.dst, k.result()
		}
		if w = s.window(); len(w) == 0 {
			return k.dst, k.result()
		}
	}
}

// sink collects captured bytes up to a limit.
type sink struct {
	dst   []byte
	limit int // < 0: store nothing
	over  bool
}

func (k *sink) keep(b []byte) {
	if k.limit < 0 || k.over {
		return
	}
	if len(k.dst)+len(b) > k.limit {
		k.over = true
		return
	}
	k.dst = append(k.dst, b...)
}

func (k *sink) result() capResult {
	if k.over {
		return capTooLarge
	}
	return capDone
}

// captureNested captures like capture, starting depth levels inside a
// container (0: at the value's first byte).
func (s *scanner) captureNested(dst []byte, limit, depth int) ([]byte, capResult) {
	k := sink{dst: dst, limit: limit}
	w := s.window()
	if len(w) == 0 {
		return dst, capEOF
	}
	inStr, esc := false, false
	for {
		i, done := 0, false
	scan:
		for i < len(w) {
			if inStr && !esc {
				if i = skipStringBytes(w, i); i == len(w) {
					break
				}
			}
			c := w[i]
			i++
			if inStr {
				switch {
				case c == '\n':
					s.line++
					inStr, esc = false, false
					done = depth <= 0
				case esc:
					esc = false
				case c == '\\':
					esc = true
				case c == '"':
					inStr = false
					done = depth <= 0
				}
				if done {
					break scan
				}
				continue
			}
			switch c {
			case '"':
				inStr = true
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth <= 0 {
					done = true
					break scan
				}
			case '\n':
				s.line++
			}
		}
		k.keep(w[:i])
		s.advance(i)
		if done {
			return k.dst, k.result()
		}
		if w = s.window(); len(w) == 0 {
			return k.dst, capEOF
		}
	}
}

// valueEndsOnLine consumes the value starting at the next byte ('{' or '[')
// and reports whether it ends before the first newline, scanning at most
// limit bytes.
func (s *scanner) valueEndsOnLine(limit int) bool {
	depth, n := 0, 0
	inStr, esc := false, false
	for {
		w := s.window()
		if len(w) == 0 {
			return false
		}
		for i := 0; i < len(w); i++ {
			if inStr && !esc {
				if i = skipStringBytes(w, i); i == len(w) {
					break
				}
			}
			c := w[i]
			if c == '\n' {
				s.advance(i)
				return false
			}
			if inStr {
				switch {
				case esc:
					esc = false
				case c == '\\':
					esc = true
				case c == '"':
					inStr = false
				}
				continue
			}
			switch c {
			case '"':
				inStr = true
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth <= 0 {
					s.advance(i + 1)
					return true
				}
			}
		}
		s.advance(len(w))
		if n += len(w); n > limit {
			return false
		}
	}
}

// firstLine returns up to max bytes of the rest of the current line.
func (s *scanner) firstLine(max int) []byte {
	var line []byte
	for len(line) < max {
		w := s.window()
		if len(w) == 0 {
			break
		}
		if i := bytes.IndexByte(w, '\n'); i >= 0 {
			return append(line, w[:i]...)
		}
		line = append(line, w...)
		s.advance(len(w))
	}
	if len(line) > max {
		line = line[:max]
	}
	return line
}
