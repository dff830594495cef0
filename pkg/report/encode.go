package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"sync"

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
type enrichmentCache struct {
	m sync.Map // map identity -> []byte
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
		keys := make([]string, 0, len(a.Enrichment))
		for k := range a.Enrichment {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			dst = l.appendKey(dst, in2, k, i == 0)
			m := a.Enrichment[k]
			var enc []byte
			if cache != nil && a.SharedEnrichment && m != nil {
				id := reflect.ValueOf(m).UnsafePointer()
				if v, ok := cache.m.Load(id); ok {
					enc = v.([]byte)
				} else {
					var err error
					if enc, err = l.appendProviders(nil, m, in2); err != nil {
						return nil, err
					}
					cache.m.Store(id, enc)
				}
			} else {
				var err error
				if enc, err = l.appendProviders(nil, m, in2); err != nil {
					return nil, err
				}
			}
			dst = append(dst, enc...)
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
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
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
			j := i + 1
			for j < len(value) && value[j] != '"' {
				if value[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(value) {
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
