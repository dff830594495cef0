package alert

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Kind is the JSON type of a scalar passed to a Walk callback.
type Kind uint8

// The scalar kinds Walk reports.
const (
	KindString Kind = iota
	KindNumber
	KindBool
	KindNull
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindNumber:
		return "number"
	case KindBool:
		return "bool"
	case KindNull:
		return "null"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

const (
	// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
	maxDepth = 512
	// maxStringNesting bounds JSON documents inside strings inside documents.
	maxStringNesting = 3
)

// Path is the location of a scalar during Walk: the object keys from the root
// (array elements add no segment). It is a reused stack, valid only during the
// callback.
type Path struct {
	keys     []string
	nodes    []*pathNode // nodes[i] is the path of keys[:i+1], resolved lazily
	resolved int         // nodes[:resolved] are valid
	tree     *pathTree
	rootMemo any // Memo of the empty path
}

// pathTree remembers every path seen by a pooled walker, with its joined and
// normalised forms. Alerts of one export share their field names, so after
// the first record a path costs one map lookup on its last key, and Normalized
// costs nothing.
type pathTree struct {
	root  pathNode
	nodes int
}

type pathNode struct {
	norm, str string
	kids      map[string]*pathNode
	memo      any // see Path.Memo
}

// pathTreeLimit bounds the tree; hostile input with endless distinct keys
// just starts a new one.
const pathTreeLimit = 8192

// Keys returns the original keys from the root. Do not retain the slice.
func (p *Path) Keys() []string { return p.keys }

// String returns the original keys joined by ".", e.g. "Device.external_ip"
// or "id.orig_h" (a Zeek key holding a dot).
func (p *Path) String() string {
	if len(p.keys) == 0 {
		return ""
	}
	return p.node().str
}

// Normalized returns the path lower-cased with '_' and '-' turned into '.',
// so that "id_orig_h", "id.orig_h" and nested id→orig_h all read "id.orig.h".
// It is cached: callers may call it for every scalar.
func (p *Path) Normalized() string {
	if len(p.keys) == 0 {
		return ""
	}
	return p.node().norm
}

// Memo returns a slot that lives as long as this path's entry in the
// walker's table of paths: a caller can keep there what it derives from the
// path (extraction options, whether it is an id field) and skip deriving
// it again for every alert of an export. The slot starts nil. Walkers are
// pooled and shared by every caller of Walk, so a caller must check the
// type of what it finds and overwrite anything else.
func (p *Path) Memo() *any {
	if len(p.keys) == 0 {
		p.rootMemo = nil // a bare scalar document: nothing worth keeping
		return &p.rootMemo
	}
	return &p.node().memo
}

func (p *Path) push(key string) {
	p.keys = append(p.keys, key)
	if len(p.nodes) < len(p.keys) {
		p.nodes = append(p.nodes, nil)
	}
	p.resolved = min(p.resolved, len(p.keys)-1)
}

func (p *Path) pop() {
	p.keys = p.keys[:len(p.keys)-1]
	p.resolved = min(p.resolved, len(p.keys))
}

// node returns the tree node of the current path, adding what is missing.
func (p *Path) node() *pathNode {
	if p.tree == nil || p.tree.nodes > pathTreeLimit {
		p.tree = &pathTree{}
		p.resolved = 0
	}
	for d := p.resolved; d < len(p.keys); d++ {
		parent := &p.tree.root
		if d > 0 {
			parent = p.nodes[d-1]
		}
		key := p.keys[d]
		n := parent.kids[key]
		if n == nil {
			// Clone: key may be a substring of a whole record.
			n = &pathNode{str: strings.Clone(key)}
			n.norm = string(appendNormalizedKey(nil, key))
			if d > 0 {
				n.str = parent.str + "." + n.str
				n.norm = parent.norm + "." + n.norm
			}
			if parent.kids == nil {
				parent.kids = make(map[string]*pathNode)
			}
			parent.kids[n.str[len(n.str)-len(key):]] = n
			p.tree.nodes++
		}
		p.nodes[d] = n
	}
	p.resolved = len(p.keys)
	return p.nodes[len(p.keys)-1]
}

// appendNormalizedKey appends key lower-cased with '_' and '-' as '.'.
func appendNormalizedKey(b []byte, key string) []byte {
	for i := 0; i < len(key); i++ {
		if key[i] >= utf8.RuneSelf {
			key = strings.ToLower(key)
			break
		}
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == '_' || c == '-':
			c = '.'
		}
		b = append(b, c)
	}
	return b
}

// validUTF8 returns s with each invalid byte replaced by U+FFFD, as Reader
// repairs records.
func validUTF8(s string) string {
	return string(appendValidUTF8(make([]byte, 0, len(s)+8), []byte(s)))
}

// normalizeKey returns s normalised like Path.Normalized.
func normalizeKey(s string) string {
	return string(appendNormalizedKey(make([]byte, 0, len(s)), s))
}

// Why a parser of our own: BenchmarkWalkVersus (walk_versus_test.go, in
// `make bench`) has encoding/json, encoding/json/v2's jsontext
// (GOEXPERIMENT=jsonv2) and go-json-experiment's jsontext do this same job
// on the same records, and Walk is 3 to 6 times faster than the best of
// them (about 490 MB/s against 85 on the development machine): values are
// substrings of the record instead of a string per token, and a path costs
// a lookup in the walker's path table instead of being built per value.
// Pass 1 walks every byte of every alert, so that is most of its time.

// Walk parses raw strictly and calls fn for every scalar with its path.
// Strings are decoded (all escapes, surrogate pairs; invalid UTF-8 and lone
// surrogates become U+FFFD). A string whose trimmed text starts with '{' or
// '[' and is a valid JSON document is walked as nested data under the same
// path instead of being reported, up to three documents deep: SIEM exports
// put JSON in CSV cells and string fields. The value passed to fn may be
// retained. Walk returns an error for invalid JSON, after calling fn for the
// scalars before the error.
func Walk(raw []byte, fn func(p *Path, kind Kind, value string)) error {
	w := walkerPool.Get().(*walker)
	// Copy once so that values handed to fn are substrings of one immutable
	// string: cheaper than a copy per value, and safe to retain.
	w.init(string(raw), fn)
	err := w.document()
	w.release()
	return err
}

// Walker is a Walk of its own, for a caller that walks record after record
// on one goroutine: unlike Walk, whose parsers are pooled and may be
// dropped at any garbage collection, it keeps its table of paths, and what
// the caller keeps in their Memo slots, for the life of the Walker. It is
// not safe for concurrent use.
type Walker struct {
	w walker
}

// NewWalker returns a Walker.
func NewWalker() *Walker { return &Walker{} }

// Walk is the package's Walk.
func (wk *Walker) Walk(raw []byte, fn func(p *Path, kind Kind, value string)) error {
	return wk.walk(string(raw), fn)
}

// WalkAliased is Walk without its one copy of raw: the values passed to fn
// share raw's bytes (unless they had escapes to decode), so they are only
// valid while raw is unchanged, and a caller must copy what it keeps. Path
// strings (Path.String, Path.Normalized) are the walker's own, as in Walk.
func (wk *Walker) WalkAliased(raw []byte, fn func(p *Path, kind Kind, value string)) error {
	return wk.walk(bytesString(raw), fn)
}

func (wk *Walker) walk(s string, fn func(p *Path, kind Kind, value string)) error {
	w := &wk.w
	w.init(s, fn)
	err := w.document()
	w.reset()
	return err
}

// validate checks that raw is one strict JSON document without copying it.
func validate(raw []byte) error {
	w := walkerPool.Get().(*walker)
	w.init(bytesString(raw), nil)
	err := w.document()
	w.release()
	return err
}

// bytesString views b as a string without copying. Only for code that never
// lets the string (or a substring) outlive b: validation and field lookups
// whose results are turned back into subslices of b.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

var walkerPool = sync.Pool{New: func() any { return new(walker) }}

// walker is a recursive-descent JSON parser over a string. With fn nil it
// only validates, and decodes nothing.
type walker struct {
	s     string
	i     int
	depth int
	nest  int  // JSON-in-string level
	quiet bool // errors carry no message: a failed nested document is just a string
	fn    func(*Path, Kind, string)
	p     Path
	dec   []byte
}

func (w *walker) init(s string, fn func(*Path, Kind, string)) {
	w.s, w.i, w.depth, w.nest, w.quiet, w.fn = s, 0, 0, 0, false, fn
	w.p.keys, w.p.resolved = w.p.keys[:0], 0
}

func (w *walker) release() {
	w.reset()
	walkerPool.Put(w)
}

// reset drops what the walker holds of the last document.
func (w *walker) reset() {
	w.s, w.fn = "", nil
	clear(w.p.keys[:cap(w.p.keys)]) // drop references to the record's strings
	w.p.keys, w.p.resolved = w.p.keys[:0], 0
	if cap(w.dec) > 64<<10 {
		w.dec = nil
	}
}

// errQuiet is returned while checking whether a string holds JSON, where the
// reason does not matter and formatting it would cost an allocation.
var errQuiet = errors.New("invalid JSON")

func (w *walker) errAt(i int, format string, args ...any) error {
	if w.quiet {
		return errQuiet
	}
	return fmt.Errorf(format+" at offset %d", append(args, i)...)
}

func (w *walker) errEOF() error {
	if w.quiet {
		return errQuiet
	}
	return errors.New("unexpected end of JSON input")
}

// quoteChar formats a byte like encoding/json does in its messages.
func quoteChar(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c >= utf8.RuneSelf: // a byte of a multi-byte or invalid sequence
		return fmt.Sprintf(`'\x%02x'`, c)
	}
	q := strconv.Quote(string(rune(c)))
	return "'" + q[1:len(q)-1] + "'"
}

func (w *walker) skipWS() {
	for w.i < len(w.s) {
		switch w.s[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

func (w *walker) document() error {
	w.skipWS()
	if err := w.value(); err != nil {
		return err
	}
	w.skipWS()
	if w.i < len(w.s) {
		return w.errAt(w.i, "invalid character %s after top-level value", quoteChar(w.s[w.i]))
	}
	return nil
}

func (w *walker) value() error {
	if w.i >= len(w.s) {
		return w.errEOF()
	}
	switch c := w.s[w.i]; c {
	case '{':
		return w.object()
	case '[':
		return w.array()
	case '"':
		v, err := w.str()
		if err != nil {
			return err
		}
		if w.fn != nil {
			w.emitString(v)
		}
		return nil
	case 't':
		return w.literal("true", KindBool)
	case 'f':
		return w.literal("false", KindBool)
	case 'n':
		return w.literal("null", KindNull)
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return w.number()
		}
		return w.errAt(w.i, "invalid character %s looking for beginning of value", quoteChar(c))
	}
}

func (w *walker) object() error {
	if w.depth++; w.depth > maxDepth {
		return w.errAt(w.i, "exceeded max nesting depth of %d", maxDepth)
	}
	w.i++
	w.skipWS()
	if w.i < len(w.s) && w.s[w.i] == '}' {
		w.i++
		w.depth--
		return nil
	}
	for {
		if w.i >= len(w.s) {
			return w.errEOF()
		}
		if w.s[w.i] != '"' {
			return w.errAt(w.i, "invalid character %s looking for beginning of object key string", quoteChar(w.s[w.i]))
		}
		key, err := w.str()
		if err != nil {
			return err
		}
		w.skipWS()
		if w.i >= len(w.s) {
			return w.errEOF()
		}
		if w.s[w.i] != ':' {
			return w.errAt(w.i, "invalid character %s after object key", quoteChar(w.s[w.i]))
		}
		w.i++
		w.skipWS()
		if w.fn != nil {
			w.p.push(key)
		}
		if err := w.value(); err != nil {
			return err
		}
		if w.fn != nil {
			w.p.pop()
		}
		w.skipWS()
		if w.i >= len(w.s) {
			return w.errEOF()
		}
		switch w.s[w.i] {
		case ',':
			w.i++
			w.skipWS()
		case '}':
			w.i++
			w.depth--
			return nil
		default:
			return w.errAt(w.i, "invalid character %s after object key:value pair", quoteChar(w.s[w.i]))
		}
	}
}

func (w *walker) array() error {
	if w.depth++; w.depth > maxDepth {
		return w.errAt(w.i, "exceeded max nesting depth of %d", maxDepth)
	}
	w.i++
	w.skipWS()
	if w.i < len(w.s) && w.s[w.i] == ']' {
		w.i++
		w.depth--
		return nil
	}
	for {
		if err := w.value(); err != nil {
			return err
		}
		w.skipWS()
		if w.i >= len(w.s) {
			return w.errEOF()
		}
		switch w.s[w.i] {
		case ',':
			w.i++
			w.skipWS()
		case ']':
			w.i++
			w.depth--
			return nil
		default:
			return w.errAt(w.i, "invalid character %s after array element", quoteChar(w.s[w.i]))
		}
	}
}

func (w *walker) literal(lit string, kind Kind) error {
	if !strings.HasPrefix(w.s[w.i:], lit) {
		j := 0
		for j < len(lit) && w.i+j < len(w.s) && w.s[w.i+j] == lit[j] {
			j++
		}
		if w.i+j >= len(w.s) {
			return w.errEOF()
		}
		return w.errAt(w.i+j, "invalid character %s in literal %s (expecting %s)", quoteChar(w.s[w.i+j]), lit, quoteChar(lit[j]))
	}
	v := w.s[w.i : w.i+len(lit)]
	w.i += len(lit)
	if w.fn != nil {
		w.fn(&w.p, kind, v)
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (w *walker) number() error {
	s, i := w.s, w.i
	if s[i] == '-' {
		i++
	}
	digits := func(what string) error {
		if i >= len(s) {
			return w.errEOF()
		}
		if !isDigit(s[i]) {
			return w.errAt(i, "invalid character %s in %s", quoteChar(s[i]), what)
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		return nil
	}
	if i < len(s) && s[i] == '0' {
		i++
	} else if err := digits("numeric literal"); err != nil {
		return err
	}
	if i < len(s) && s[i] == '.' {
		i++
		if err := digits("numeric literal"); err != nil {
			return err
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if err := digits("exponent of numeric literal"); err != nil {
			return err
		}
	}
	v := s[w.i:i]
	w.i = i
	if w.fn != nil {
		w.fn(&w.p, KindNumber, v)
	}
	return nil
}

// strPlain marks the bytes that need no attention inside a string.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str parses the string at w.i. With fn set it returns the decoded value: a
// substring of the input when there is nothing to decode.
func (w *walker) str() (string, error) {
	s := w.s
	start := w.i + 1
	i, high := plainRun(s, start)
	if i >= len(s) {
		return "", w.errEOF()
	}
	switch c := s[i]; c {
	case '"':
		w.i = i + 1
		if w.fn == nil {
			return "", nil
		}
		v := s[start:i]
		if high && !utf8.ValidString(v) {
			v = validUTF8(v)
		}
		return v, nil
	case '\\':
		return w.strEscaped(start, i)
	default:
		return "", w.errAt(i, "invalid character %s in string literal", quoteChar(c))
	}
}

func hexVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// hex4 reads four hex digits at s[i:], or returns -1 and the offending index.
func (w *walker) hex4(i int) (rune, int, error) {
	if i+4 > len(w.s) {
		for j := i; j < len(w.s); j++ {
			if hexVal(w.s[j]) < 0 {
				return -1, j, w.errAt(j, "invalid character %s in \\u hexadecimal character escape", quoteChar(w.s[j]))
			}
		}
		return -1, len(w.s), w.errEOF()
	}
	var r rune
	for j := i; j < i+4; j++ {
		h := hexVal(w.s[j])
		if h < 0 {
			return -1, j, w.errAt(j, "invalid character %s in \\u hexadecimal character escape", quoteChar(w.s[j]))
		}
		r = r<<4 | h
	}
	return r, i + 4, nil
}

// strEscaped finishes a string that holds escapes; i is at the first '\'.
func (w *walker) strEscaped(start, i int) (string, error) {
	s := w.s
	decode := w.fn != nil
	b := w.dec[:0]
	if decode {
		b = append(b, s[start:i]...)
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			w.i = i + 1
			if !decode {
				return "", nil
			}
			w.dec = b
			if !utf8.Valid(b) {
				return string(appendValidUTF8(nil, b)), nil
			}
			return string(b), nil
		case c == '\\':
			if i+1 >= len(s) {
				return "", w.errEOF()
			}
			e := s[i+1]
			i += 2
			var out byte
			switch e {
			case '"', '\\', '/':
				out = e
			case 'b':
				out = '\b'
			case 'f':
				out = '\f'
			case 'n':
				out = '\n'
			case 'r':
				out = '\r'
			case 't':
				out = '\t'
			case 'u':
				r, next, err := w.hex4(i)
				if err != nil {
					return "", err
				}
				i = next
				if utf16.IsSurrogate(r) {
					// A high surrogate followed by an escaped low one is one
					// character; anything else is a lone surrogate (U+FFFD).
					r2 := rune(-1)
					if r < 0xDC00 && i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if v, next2, err := w.hex4(i + 2); err == nil {
							if d := utf16.DecodeRune(r, v); d != utf8.RuneError {
								r2, i = d, next2
							}
						}
					}
					if r2 < 0 {
						r = utf8.RuneError
					} else {
						r = r2
					}
				}
				if decode {
					b = utf8.AppendRune(b, r)
				}
				continue
			default:
				return "", w.errAt(i-1, "invalid character %s in string escape code", quoteChar(e))
			}
			if decode {
				b = append(b, out)
			}
		case c < 0x20:
			return "", w.errAt(i, "invalid character %s in string literal", quoteChar(c))
		default:
			j, _ := plainRun(s, i+1)
			if decode {
				b = append(b, s[i:j]...)
			}
			i = j
		}
	}
	if decode {
		w.dec = b
	}
	return "", w.errEOF()
}

// emitString reports v, or walks it when it holds a JSON document.
func (w *walker) emitString(v string) {
	if w.nest < maxStringNesting && looksLikeJSON(v) && w.nestedValid(v) {
		s, i := w.s, w.i
		w.s, w.i = v, 0
		w.nest++
		_ = w.document() // validated above with the same depth budget
		w.nest--
		w.s, w.i = s, i
		return
	}
	w.fn(&w.p, KindString, v)
}

// looksLikeJSON reports whether v, trimmed, starts with '{' or '['.
func looksLikeJSON(v string) bool {
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}

// nestedValid reports whether v is one JSON document within the remaining
// depth budget.
func (w *walker) nestedValid(v string) bool {
	s, i, depth, fn, quiet := w.s, w.i, w.depth, w.fn, w.quiet
	w.s, w.i, w.fn, w.quiet = v, 0, nil, true
	err := w.document()
	w.s, w.i, w.depth, w.fn, w.quiet = s, i, depth, fn, quiet
	return err == nil
}

// fields calls fn for each member of the JSON object raw, which must already
// be valid, with its key (escapes not decoded) and its value as a subslice of
// raw. It stops when fn returns false.
func fields(raw []byte, fn func(key string, val []byte) bool) {
	w := walkerPool.Get().(*walker)
	defer w.release()
	w.init(bytesString(raw), nil)
	w.skipWS()
	if w.i >= len(w.s) || w.s[w.i] != '{' {
		return
	}
	w.i++
	for {
		w.skipWS()
		if w.i >= len(w.s) || w.s[w.i] != '"' {
			return
		}
		ks := w.i + 1
		if _, err := w.str(); err != nil {
			return
		}
		key := w.s[ks : w.i-1]
		w.skipWS()
		w.i++ // ':'
		w.skipWS()
		vs := w.i
		w.i = skipValid(w.s, w.i)
		if !fn(key, raw[vs:w.i]) {
			return
		}
		w.skipWS()
		if w.i >= len(w.s) || w.s[w.i] != ',' {
			return
		}
		w.i++
	}
}

// skipValid returns the end of the value starting at s[i], which is known to
// be valid JSON: no checks, just strings and bracket depth.
func skipValid(s string, i int) int {
	depth := 0
	for i < len(s) {
		c := s[i]
		switch c {
		case '"':
			for i++; i < len(s); i++ {
				i, _ = plainRun(s, i)
				if i >= len(s) || s[i] == '"' {
					break
				}
				if s[i] == '\\' {
					i++ // the escaped byte
				}
			}
			i++ // closing quote
		case '{', '[':
			depth++
			i++
		case '}', ']':
			depth--
			i++
		case ' ', '\t', '\n', '\r', ',', ':':
			if depth == 0 {
				return i
			}
			i++
		default: // number or literal
			i++
			for i < len(s) && !isDelim(s[i]) {
				i++
			}
		}
		if depth == 0 {
			return i
		}
	}
	return i
}

// decodeScalar returns the text of a JSON string (decoded) or other scalar.
func decodeScalar(val []byte) string {
	if len(val) == 0 || val[0] != '"' {
		return string(val)
	}
	w := walkerPool.Get().(*walker)
	defer w.release()
	w.init(string(val), func(*Path, Kind, string) {}) // a non-nil fn makes str decode
	v, err := w.str()
	if err != nil {
		return ""
	}
	return v
}
