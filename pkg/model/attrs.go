package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// resultFields is a Result without its methods, for the default encoding.
type resultFields Result

// knownKeys are the JSON names of Result's own fields: attrs never take
// them, and UnmarshalJSON leaves them out of Attrs.
var knownKeys = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeOf(resultFields{})
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			m[name] = true
		}
	}
	return m
}()

// MarshalJSON writes the common fields as encoding/json would, then the
// attrs, sorted by key, in the same object. HTML characters are not
// escaped (the report encoder's setting), so a Result without attrs encodes
// exactly as it did before attrs existed.
func (r Result) MarshalJSON() ([]byte, error) {
	b, err := encodeNoEscape((*resultFields)(&r))
	if err != nil || len(r.Attrs) == 0 {
		return b, err
	}
	keys := make([]string, 0, len(r.Attrs))
	for k := range r.Attrs {
		if !knownKeys[strings.ToLower(k)] && k != "" {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return b, nil
	}
	sort.Strings(keys)
	out := b[:len(b)-1] // drop the closing brace
	for _, k := range keys {
		v, err := encodeNoEscape(r.Attrs[k])
		if err != nil {
			return nil, err
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		key, err := encodeNoEscape(k) // JSON quoting, not Go's
		if err != nil {
			return nil, err
		}
		out = append(out, key...)
		out = append(out, ':')
		out = append(out, v...)
	}
	return append(out, '}'), nil
}

// encoder is a reusable buffer with a non-escaping encoder writing to it.
type encoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var encoders = sync.Pool{New: func() any {
	e := &encoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}}

func encodeNoEscape(v any) ([]byte, error) {
	e := encoders.Get().(*encoder)
	defer encoders.Put(e)
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil {
		return nil, err
	}
	b := bytes.TrimSuffix(e.buf.Bytes(), []byte{'\n'})
	return append(make([]byte, 0, len(b)+16), b...), nil
}

// UnmarshalJSON reads the common fields, and every other key into Attrs
// (numbers as json.Number, so they re-encode digit for digit). An answer
// whose keys are all common fields (every answer of the built-in
// providers) costs one plain decode and a scan of its top-level keys.
func (r *Result) UnmarshalJSON(data []byte) error {
	var f resultFields
	if err := json.Unmarshal(data, &f); err != nil {
		return err
	}
	if onlyKnownKeys(data) {
		*r = Result(f)
		return nil
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return err
	}
	for k, raw := range all {
		// encoding/json matched the common fields case-insensitively.
		if knownKeys[strings.ToLower(k)] {
			continue
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			return err
		}
		if f.Attrs == nil {
			f.Attrs = make(map[string]any, len(all))
		}
		f.Attrs[k] = v
	}
	*r = Result(f)
	return nil
}

// attrNumber reads a numeric or boolean attr.
func (r *Result) attrNumber(field string) (float64, bool) {
	switch v := r.Attrs[field].(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case int32:
		return float64(v), true
	case uint:
		return float64(v), true
	case uint64:
		return float64(v), true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	case *int:
		if v != nil {
			return float64(*v), true
		}
	case *bool:
		if v != nil {
			if *v {
				return 1, true
			}
			return 0, true
		}
	}
	return 0, false
}

// AttrWords renders attrs for people, sorted by key: "key value", lists
// joined by ", ", maps as key=value pairs. Reports and prompts show a new
// provider's facts this way without knowing its fields.
func AttrWords(attrs map[string]any) []string {
	if len(attrs) == 0 {
		return nil
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		if !knownKeys[strings.ToLower(k)] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if v := attrText(attrs[k]); v != "" {
			out = append(out, strings.ReplaceAll(k, "_", " ")+" "+v)
		}
	}
	return out
}

func attrText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []any:
		s := make([]string, 0, len(x))
		for _, e := range x {
			if t := attrText(e); t != "" {
				s = append(s, t)
			}
		}
		return strings.Join(s, ", ")
	case []string:
		return strings.Join(x, ", ")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		s := make([]string, 0, len(keys))
		for _, k := range keys {
			s = append(s, k+"="+attrText(x[k]))
		}
		return strings.Join(s, " ")
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
		s := make([]string, 0, rv.Len())
		for i := range rv.Len() {
			s = append(s, attrText(rv.Index(i).Interface()))
		}
		return strings.Join(s, ", ")
	}
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return ""
		}
		return attrText(rv.Elem().Interface())
	}
	return fmt.Sprint(v)
}

// onlyKnownKeys reports whether every top-level key of a JSON object (valid,
// as encoding/json has already checked) is exactly a common field's name.
// A key with an escape, or in another case, says false: the slow path
// decides.
func onlyKnownKeys(data []byte) bool {
	depth := 0
	expectKey := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '{', '[':
			depth++
			expectKey = c == '{' && depth == 1
		case '}', ']':
			depth--
		case ',':
			expectKey = depth == 1
		case '"':
			start := i + 1
			escaped := false
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					escaped = true
					i++
				}
			}
			if expectKey {
				if escaped || !knownKeys[string(data[start:i])] {
					return false
				}
				expectKey = false
			}
		}
	}
	return true
}
