package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
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

func encodeNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// UnmarshalJSON reads the common fields, and every other key into Attrs
// (numbers as json.Number, so they re-encode digit for digit). An answer
// with no unknown key is decoded in one pass.
func (r *Result) UnmarshalJSON(data []byte) error {
	var f resultFields
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(&f)
	if err == nil {
		*r = Result(f)
		return nil
	}
	if !strings.Contains(err.Error(), "unknown field") {
		return err
	}
	f = resultFields{}
	if err := json.Unmarshal(data, &f); err != nil {
		return err
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
