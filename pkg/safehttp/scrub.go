package safehttp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Redacted replaces every secret a Scrubber finds. It is the text
// config.Secret prints, so a key looks the same wherever it was hidden.
const Redacted = "[redacted]"

// MinSecretLen is the shortest secret a Scrubber looks for. Shorter values
// are ignored: redacting "abc" would mangle every answer, and no API key is
// that short (VirusTotal's has 64 characters, AbuseIPDB's 80, Gemini's 39).
const MinSecretLen = 8

// Scrubber replaces configured secrets in text that came from elsewhere (a
// server's answer, an error, a log line) with Redacted. It finds each secret
// raw, URL-escaped (query and path forms), JSON-escaped (as Go, Python and
// PHP write it, with "\/" and "\uXXXX" forms) and HTML-escaped, with ASCII
// letters in any case, so "%2f" and "%2F" are both caught.
//
// A nil *Scrubber, or one built from no usable secret, returns its input
// unchanged. A Scrubber is safe for concurrent use.
type Scrubber struct {
	groups   []group  // one per secret
	patterns [][]byte // every form of every secret, ASCII-lower-cased, distinct
	minLen   int      // length of the shortest pattern
	maxLen   int      // length of the longest pattern
}

// group holds the forms of one secret and, when it has one, an anchor: a
// run of the secret's characters that no encoding changes, so every form
// contains it. The text is searched once per secret, for the anchor, and
// the forms are checked only around its hits: far faster than one search
// per form.
type group struct {
	anchor []byte
	forms  []form
}

type form struct {
	pat []byte
	off int // where the anchor starts in pat
}

// Anchor bounds: long enough to be rare in any answer, short enough for
// bytes.Index's vectorised path.
const (
	minAnchor = 8
	maxAnchor = 32
)

// NewScrubber returns a Scrubber for the given secrets. Surrounding spaces
// are trimmed; empty values, values shorter than MinSecretLen and values
// holding control characters (which no HTTP header can carry, so no request
// ever sent them) are ignored.
func NewScrubber(secrets ...string) *Scrubber {
	s := &Scrubber{}
	seen := map[string]bool{}
	for _, raw := range secrets {
		sec := strings.TrimSpace(raw)
		if len(sec) < MinSecretLen || hasControl(sec) {
			continue
		}
		var g group
		for _, v := range variants(sec) {
			p := asciiLower([]byte(v))
			if seen[string(p)] {
				continue
			}
			seen[string(p)] = true
			g.forms = append(g.forms, form{pat: p})
			s.patterns = append(s.patterns, p)
			if s.minLen == 0 || len(p) < s.minLen {
				s.minLen = len(p)
			}
			s.maxLen = max(s.maxLen, len(p))
		}
		if len(g.forms) == 0 {
			continue
		}
		g.anchor = anchor(asciiLower([]byte(sec)))
		for i := range g.forms {
			if g.anchor == nil {
				break
			}
			if g.forms[i].off = bytes.Index(g.forms[i].pat, g.anchor); g.forms[i].off < 0 {
				g.anchor = nil // cannot happen with the encodings above; search form by form
			}
		}
		s.groups = append(s.groups, g)
	}
	return s
}

// anchor is the first maxAnchor bytes of the longest run of characters that
// URL, JSON and HTML escaping all leave alone, or nil if that run is
// shorter than minAnchor.
func anchor(lower []byte) []byte {
	best, start := []byte(nil), -1
	for i := 0; i <= len(lower); i++ {
		if i < len(lower) && unescaped(lower[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start > len(best) {
			best = lower[start:i]
		}
		start = -1
	}
	if len(best) < minAnchor {
		return nil
	}
	return best[:min(len(best), maxAnchor)]
}

func unescaped(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

// Empty reports whether the Scrubber has nothing to look for.
func (s *Scrubber) Empty() bool { return s == nil || len(s.patterns) == 0 }

// Scrub returns text with every secret replaced by Redacted.
func (s *Scrubber) Scrub(text string) string {
	if s.Empty() || len(text) < s.minLen {
		return text
	}
	spans := s.spans([]byte(text))
	if spans == nil {
		return text
	}
	return string(replace([]byte(text), spans))
}

// ScrubBytes is Scrub for a byte slice. It returns b itself when there is
// nothing to replace, and a new slice otherwise; b is never modified.
func (s *Scrubber) ScrubBytes(b []byte) []byte {
	if s.Empty() || len(b) < s.minLen {
		return b
	}
	spans := s.spans(b)
	if spans == nil {
		return b
	}
	return replace(b, spans)
}

// Contains reports whether text holds a secret.
func (s *Scrubber) Contains(text string) bool {
	if s.Empty() || len(text) < s.minLen {
		return false
	}
	return s.spans([]byte(text)) != nil
}

// span is a half-open byte range [start, end) to replace.
type span struct{ start, end int }

// spans finds every occurrence of every form of every secret, overlapping
// ones included, and merges occurrences that overlap into one span, so that
// two secrets sharing characters leave no fragment of either behind.
func (s *Scrubber) spans(b []byte) []span {
	lower, release := lowered(b)
	defer release()
	var found []span
	for _, g := range s.groups {
		if g.anchor == nil {
			for _, f := range g.forms {
				for _, at := range indexAll(lower, f.pat) {
					found = append(found, span{at, at + len(f.pat)})
				}
			}
			continue
		}
		for _, at := range indexAll(lower, g.anchor) {
			for _, f := range g.forms {
				start, end := at-f.off, at-f.off+len(f.pat)
				if start >= 0 && end <= len(lower) && bytes.Equal(lower[start:end], f.pat) {
					found = append(found, span{start, end})
				}
			}
		}
	}
	if len(found) == 0 {
		return nil
	}
	slices.SortFunc(found, func(a, b span) int { return a.start - b.start })
	merged := found[:1]
	for _, sp := range found[1:] {
		last := &merged[len(merged)-1]
		if sp.start < last.end {
			last.end = max(last.end, sp.end)
			continue
		}
		merged = append(merged, sp)
	}
	return merged
}

// indexAll returns where pat occurs in text, overlapping occurrences
// included.
func indexAll(text, pat []byte) []int {
	var at []int
	for i := 0; i+len(pat) <= len(text); {
		j := bytes.Index(text[i:], pat)
		if j < 0 {
			break
		}
		at = append(at, i+j)
		i += j + 1
	}
	return at
}

func replace(b []byte, spans []span) []byte {
	out := make([]byte, 0, len(b))
	prev := 0
	for _, sp := range spans {
		out = append(out, b[prev:sp.start]...)
		out = append(out, Redacted...)
		prev = sp.end
	}
	return append(out, b[prev:]...)
}

// variants are the forms a secret takes when a server echoes it back
// inside a URL, a JSON string or an HTML page.
func variants(sec string) []string {
	v := []string{sec, url.QueryEscape(sec), url.PathEscape(sec), html.EscapeString(sec)}
	for _, j := range []string{jsonEscape(sec, true), jsonEscape(sec, false), jsonEscapeASCII(sec)} {
		// PHP's json_encode writes "/" as "\/" (AbuseIPDB is a PHP API).
		v = append(v, j, strings.ReplaceAll(j, "/", `\/`))
	}
	return v
}

// jsonEscape is the inside of the JSON string encoding/json writes for s,
// with or without its HTML-safe escapes (\u003c for '<' and so on).
func jsonEscape(s string, escapeHTML bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(s); err != nil {
		return s
	}
	out := strings.TrimSuffix(b.String(), "\n")
	return strings.TrimSuffix(strings.TrimPrefix(out, `"`), `"`)
}

// jsonEscapeASCII is how Python's json.dumps and PHP's json_encode write s
// by default: every non-ASCII character as \uXXXX (UTF-16 surrogate pairs
// beyond the BMP).
func jsonEscapeASCII(s string) string {
	var b strings.Builder
	for _, r := range jsonEscape(s, false) {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// asciiLower lower-cases ASCII letters only, so byte offsets into the result
// are offsets into b. It returns b itself when b has no upper-case letter.
func asciiLower(b []byte) []byte {
	i := firstUpper(b)
	if i < 0 {
		return b
	}
	out := make([]byte, len(b))
	lowerInto(out, b, i)
	return out
}

func firstUpper(b []byte) int {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			return i
		}
	}
	return -1
}

// lowerInto writes b lower-cased into out (len(out) == len(b)); b[:from]
// has no upper-case letter.
func lowerInto(out, b []byte, from int) {
	copy(out, b[:from])
	for j, c := range b[from:] {
		out[from+j] = lowerTable[c]
	}
}

// lowerPool recycles the lower-cased copies spans searches, so scrubbing a
// clean answer allocates nothing. Copies of large bodies are not kept.
var lowerPool = sync.Pool{New: func() any { return new([]byte) }}

const maxPooled = 1 << 20

// lowered is asciiLower with a pooled copy; release returns it.
func lowered(b []byte) (lower []byte, release func()) {
	i := firstUpper(b)
	if i < 0 {
		return b, func() {}
	}
	bp := lowerPool.Get().(*[]byte)
	if cap(*bp) < len(b) {
		*bp = make([]byte, len(b))
	}
	lower = (*bp)[:len(b)]
	lowerInto(lower, b, i)
	return lower, func() {
		if cap(*bp) <= maxPooled {
			lowerPool.Put(bp)
		}
	}
}

// lowerTable maps each byte to its ASCII lower case: a table lookup has no
// branch to mispredict on mixed-case text.
var lowerTable = func() (t [256]byte) {
	for i := range t {
		c := byte(i)
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		t[i] = c
	}
	return t
}()

// Writer scrubs everything written through it before passing it on. It is
// meant for stderr: a log handler, the final error line, a progress bar.
//
// Each Write passes its text on at once, scrubbed, except for a tail that
// could be the start of a secret (a few dozen bytes, and only when it
// matches how a secret begins), which waits for the next Write or Flush so
// that a secret split across two writes is still caught. What reaches the
// underlying writer is exactly what Scrub would make of everything written,
// however the writes were split.
type Writer struct {
	mu      sync.Mutex
	s       *Scrubber
	w       io.Writer
	pending []byte
}

// Writer returns a Writer that scrubs what it passes on to w.
func (s *Scrubber) Writer(w io.Writer) *Writer { return &Writer{s: s, w: w} }

// Write implements io.Writer. It reports len(p) written when the scrubbed
// text reached w (or is held back), whatever its scrubbed length.
func (w *Writer) Write(p []byte) (int, error) {
	if w.s.Empty() {
		return w.w.Write(p)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, p...)
	cut := w.cut()
	if cut == 0 {
		return len(p), nil
	}
	if _, err := w.w.Write(w.s.ScrubBytes(w.pending[:cut])); err != nil {
		w.pending = w.pending[:len(w.pending)-len(p)]
		return 0, err
	}
	w.pending = append(w.pending[:0], w.pending[cut:]...)
	return len(p), nil
}

// cut is how much of pending can go out now. Everything from the earliest
// position where the rest of pending is the start of some secret is held,
// since the next write may complete it; and so is a secret already complete
// that reaches into the held part, since one still to come may overlap it
// (Scrub would replace both as one).
func (w *Writer) cut() int {
	n := len(w.pending)
	from := max(0, n-(w.s.maxLen-1))
	tail := asciiLower(w.pending[from:])
	cut := n
	for i := range tail {
		if w.s.isPrefix(tail[i:]) {
			cut = from + i
			break
		}
	}
	if cut == n {
		return n
	}
	for _, sp := range w.s.spans(w.pending) {
		if sp.start < cut && sp.end > cut {
			return sp.start
		}
	}
	return cut
}

// isPrefix reports whether b (lower-cased) begins some pattern.
func (s *Scrubber) isPrefix(b []byte) bool {
	for _, p := range s.patterns {
		if len(b) < len(p) && bytes.HasPrefix(p, b) {
			return true
		}
	}
	return false
}

// Flush writes out, scrubbed, whatever is held back.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) == 0 {
		return nil
	}
	_, err := w.w.Write(w.s.ScrubBytes(w.pending))
	w.pending = w.pending[:0]
	return err
}
