package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/verdict-dev/verdict/pkg/internal/jsonstr"
	"github.com/verdict-dev/verdict/pkg/model"
)

// The alert encoder writes byte for byte what encoding/json writes with
// SetEscapeHTML(false): compact when the layout says so (each alert of a
// report is one line), or indented like SetIndent(prefix, "  "). It uses
// no reflection: writing a million-alert report is mostly this function.
// TestEncodeAlertMatchesEncodingJSON holds it to that.

const step = "  "

// layout is how an alert is laid out: compact, or indented under prefix.
type layout struct {
	compact bool
	prefix  string
}

// alertLayout is how alerts go into a report: one compact line each. An
// indented alert is about twice the bytes, and a million of them is what
// the JSON report's writing time is made of; one line per alert also makes
// a big report easy to grep and split.
var alertLayout = layout{compact: true}

// enrichmentCache holds the encoded enrichment of each indicator, for
// streams whose alerts share enrichment maps (model.Alert.SharedEnrichment).
// Triage shares one map among every indicator answered alike, so a few
// maps serve a whole batch; a batch of a million distinct answers must not
// keep a million encodings, so past maxCachedEnrichments the rest are
// encoded each time.
type enrichmentCache struct {
	m sync.Map // map identity -> []byte
	n atomic.Int64
}

const maxCachedEnrichments = 1 << 14

// encoded returns the encoding of m, through the cache.
func (c *enrichmentCache) encoded(l layout, m map[string]*model.Result, indent string) ([]byte, error) {
	id := reflect.ValueOf(m).UnsafePointer()
	if v, ok := c.m.Load(id); ok {
		return v.([]byte), nil
	}
	enc, err := l.appendProviders(nil, m, indent)
	if err != nil {
		return nil, err
	}
	if c.n.Load() < maxCachedEnrichments {
		if _, loaded := c.m.LoadOrStore(id, enc); !loaded {
			c.n.Add(1)
		}
	}
	return enc, nil
}

func appendAlert(dst []byte, a *model.Alert, cache *enrichmentCache) ([]byte, error) {
	return alertLayout.appendAlert(dst, a, cache)
}

func (l layout) appendAlert(dst []byte, a *model.Alert, cache *enrichmentCache) ([]byte, error) {
	alertIndent := l.prefix
	in1 := alertIndent + step // keys of the alert
	in2 := in1 + step         // one level down
	in3 := in2 + step         // two levels down
	dst = append(dst, '{')
	dst = l.appendKey(dst, in1, "id", true)
	dst = jsonstr.Append(dst, a.ID)

	dst = l.appendKey(dst, in1, "source", false)
	dst = append(dst, '{')
	dst = l.appendKey(dst, in2, "file", true)
	dst = jsonstr.Append(dst, a.Source.File)
	dst = l.appendKey(dst, in2, "record", false)
	dst = strconv.AppendInt(dst, int64(a.Source.Record), 10)
	if a.Source.Line != 0 {
		dst = l.appendKey(dst, in2, "line", false)
		dst = strconv.AppendInt(dst, int64(a.Source.Line), 10)
	}
	dst = l.appendClose(dst, in1, '}')

	dst = l.appendKey(dst, in1, "alert", false)
	if len(a.Alert) == 0 {
		dst = append(dst, "null"...)
	} else {
		var err error
		if dst, err = l.appendIndented(dst, a.Alert, in1); err != nil {
			return nil, fmt.Errorf("alert %s: record: %w", a.ID, err)
		}
	}

	dst = l.appendKey(dst, in1, "iocs", false)
	if a.IOCs == nil {
		dst = append(dst, "null"...)
	} else if len(a.IOCs) == 0 {
		dst = append(dst, "[]"...)
	} else {
		dst = append(dst, '[')
		for i, x := range a.IOCs {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = l.newline(dst, in2)
			dst = append(dst, '{')
			dst = l.appendKey(dst, in3, "type", true)
			dst = jsonstr.Append(dst, x.Type)
			dst = l.appendKey(dst, in3, "value", false)
			dst = jsonstr.Append(dst, x.Value)
			dst = l.appendKey(dst, in3, "fields", false)
			dst = l.appendStrings(dst, x.Fields, in3)
			if x.Skipped != "" {
				dst = l.appendKey(dst, in3, "skipped", false)
				dst = jsonstr.Append(dst, x.Skipped)
			}
			dst = l.appendClose(dst, in2, '}')
		}
		dst = l.appendClose(dst, in1, ']')
	}

	dst = l.appendKey(dst, in1, "enrichment", false)
	if a.Enrichment == nil {
		dst = append(dst, "null"...)
	} else if len(a.Enrichment) == 0 {
		dst = append(dst, "{}"...)
	} else {
		var buf [16]string // an alert's few indicators sort without allocating
		keys := buf[:0]
		for k := range a.Enrichment {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			dst = l.appendKey(dst, in2, k, i == 0)
			m := a.Enrichment[k]
			var err error
			if cache != nil && a.SharedEnrichment && m != nil {
				var enc []byte
				if enc, err = cache.encoded(l, m, in2); err == nil {
					dst = append(dst, enc...)
				}
			} else {
				dst, err = l.appendProviders(dst, m, in2)
			}
			if err != nil {
				return nil, err
			}
		}
		dst = l.appendClose(dst, in1, '}')
	}

	dst = l.appendKey(dst, in1, "risk", false)
	dst = append(dst, '{')
	dst = l.appendKey(dst, in2, "score", true)
	dst = strconv.AppendInt(dst, int64(a.Risk.Score), 10)
	dst = l.appendKey(dst, in2, "verdict", false)
	dst = jsonstr.Append(dst, string(a.Risk.Verdict))
	dst = l.appendKey(dst, in2, "factors", false)
	dst = l.appendStrings(dst, a.Risk.Factors, in2)
	dst = l.appendKey(dst, in2, "checked_by", false)
	dst = l.appendStrings(dst, a.Risk.CheckedBy, in2)
	dst = l.appendClose(dst, in1, '}')

	if a.Classification != nil {
		dst = l.appendKey(dst, in1, "classification", false)
		// The same escaping as every other string of the report:
		// json.Marshal would write < > & as \u003c \u003e \u0026 here.
		b, err := marshalNoEscape(a.Classification)
		if err != nil {
			return nil, err
		}
		if dst, err = l.appendIndented(dst, b, in1); err != nil {
			return nil, err
		}
	}
	return l.appendClose(dst, alertIndent, '}'), nil
}

// appendProviders encodes one indicator's answers, keyed by provider.
func (l layout) appendProviders(dst []byte, m map[string]*model.Result, indent string) ([]byte, error) {
	if m == nil {
		return append(dst, "null"...), nil
	}
	if len(m) == 0 {
		return append(dst, "{}"...), nil
	}
	var buf [8]string
	names := buf[:0]
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	in := indent + step
	dst = append(dst, '{')
	for i, n := range names {
		dst = l.appendKey(dst, in, n, i == 0)
		b, err := marshalNoEscape(m[n])
		if err != nil {
			return nil, err
		}
		if dst, err = l.appendIndented(dst, b, in); err != nil {
			return nil, err
		}
	}
	return l.appendClose(dst, indent, '}'), nil
}

func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// appendIndented re-indents a JSON value that starts on the current line at
// nesting level indent, exactly as json.Indent would. Values here are
// already valid (validated by the loader, the report decoder or
// json.Marshal), so a plain byte walk that only tracks strings and brackets
// does the job several times faster than json.Indent's state machine; if
// the walk finds the value is not balanced after all, json.Indent decides.
func (l layout) appendIndented(dst, value []byte, indent string) ([]byte, error) {
	if l.compact {
		return l.appendCompact(dst, value)
	}
	start := len(dst)
	depth := 0
	newline := func(d int) {
		if l.compact {
			return
		}
		dst = append(dst, '\n')
		dst = append(dst, indent...)
		for range d {
			dst = append(dst, step...)
		}
	}
	for i := 0; i < len(value); i++ {
		c := value[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			j := closingQuote(value, i)
			if j < 0 {
				return l.slowIndent(dst[:start], value, indent)
			}
			dst = append(dst, value[i:j+1]...)
			i = j
		case '{', '[':
			k := i + 1
			for k < len(value) && (value[k] == ' ' || value[k] == '\t' || value[k] == '\n' || value[k] == '\r') {
				k++
			}
			if k < len(value) && (value[k] == '}' || value[k] == ']') {
				dst = append(dst, c, value[k]) // {} and [] stay on one line
				i = k
				continue
			}
			depth++
			dst = append(dst, c)
			newline(depth)
		case '}', ']':
			depth--
			if depth < 0 {
				return l.slowIndent(dst[:start], value, indent)
			}
			newline(depth)
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			newline(depth)
		case ':':
			dst = append(dst, ':')
			if !l.compact {
				dst = append(dst, ' ')
			}
		default:
			dst = append(dst, c)
		}
	}
	if depth != 0 {
		return l.slowIndent(dst[:start], value, indent)
	}
	return dst, nil
}

// closingQuote returns the index of the quote that ends the JSON string
// starting at value[i], or -1 if it does not end. Strings are most of an
// alert's bytes, and IndexByte finds the next quote many bytes at a time.
func closingQuote(value []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(value[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		// Escaped when an odd number of backslashes comes before it. Each
		// run is counted once: the next search starts after this quote.
		n := 0
		for p := j - 1; p > i && value[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return j
		}
		j++
	}
}

// appendCompact is appendIndented for the compact layout: the value with
// the whitespace between its tokens left out. Alerts are the bulk of a
// report, and most are compact already (NDJSON lines): then only the gaps
// between strings are looked at, and the value is copied in one piece.
func (l layout) appendCompact(dst, value []byte) ([]byte, error) {
	start := len(dst)
	depth, from := 0, 0 // value[from:i] is yet to be copied
	for i := 0; i < len(value); {
		switch value[i] {
		case '"':
			j := closingQuote(value, i)
			if j < 0 {
				return l.slowIndent(dst[:start], value, "")
			}
			i = j + 1
			continue
		case ' ', '\t', '\n', '\r':
			dst = append(dst, value[from:i]...)
			for i < len(value) && (value[i] == ' ' || value[i] == '\t' || value[i] == '\n' || value[i] == '\r') {
				i++
			}
			from = i
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth < 0 {
				return l.slowIndent(dst[:start], value, "")
			}
		}
		i++
	}
	if depth != 0 {
		return l.slowIndent(dst[:start], value, "")
	}
	return append(dst, value[from:]...), nil
}

func (l layout) slowIndent(dst, value []byte, indent string) ([]byte, error) {
	var b bytes.Buffer
	var err error
	if l.compact {
		err = json.Compact(&b, value)
	} else {
		err = json.Indent(&b, value, indent, step)
	}
	if err != nil {
		return nil, err
	}
	return append(dst, bytes.TrimSpace(b.Bytes())...), nil
}

// appendKey starts a member: a comma unless first, a new line, the indent,
// the key and ": ".
func (l layout) appendKey(dst []byte, indent, key string, first bool) []byte {
	if !first {
		dst = append(dst, ',')
	}
	dst = l.newline(dst, indent)
	dst = jsonstr.Append(dst, key)
	if l.compact {
		return append(dst, ':')
	}
	return append(dst, ':', ' ')
}

// newline starts a new indented line; nothing in compact layout.
func (l layout) newline(dst []byte, indent string) []byte {
	if l.compact {
		return dst
	}
	dst = append(dst, '\n')
	return append(dst, indent...)
}

func (l layout) appendClose(dst []byte, indent string, c byte) []byte {
	return append(l.newline(dst, indent), c)
}

func (l layout) appendStrings(dst []byte, s []string, indent string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	if len(s) == 0 {
		return append(dst, "[]"...)
	}
	dst = append(dst, '[')
	for i, v := range s {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = l.newline(dst, indent+step)
		dst = jsonstr.Append(dst, v)
	}
	return l.appendClose(dst, indent, ']')
}
