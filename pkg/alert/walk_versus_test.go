package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/require"
)

// Issue 13 item 5 asks whether the hand-written walker (walk.go) earns its
// place against the standard library or a maintained library. These are
// the candidates, each doing Walk's job on the same records: a strict parse
// of the whole record, every scalar reported with the keys leading to it,
// strings decoded, numbers as written, and a string that holds a JSON
// document walked as nested data. TestWalkAlternativesAgree holds them to
// the same output, so BenchmarkWalkVersus compares equal work. The
// encoding/json/v2 candidate (GOEXPERIMENT=jsonv2) is in
// walk_versus_jsonv2_test.go.

// scalarFn receives one scalar: the object keys from the root, its kind
// and its text.
type scalarFn func(keys []string, kind Kind, value string)

// walker candidates: each parses raw strictly and reports every scalar.
type walkImpl struct {
	name string
	walk func(raw []byte, fn scalarFn) error
	// unordered: the candidate cannot keep the record's member order (a
	// map), so outputs are compared sorted.
	unordered bool
}

var walkImpls = []walkImpl{
	{name: "alert.Walk", walk: func(raw []byte, fn scalarFn) error {
		return Walk(raw, func(p *Path, k Kind, v string) { fn(p.Keys(), k, v) })
	}},
	{name: "encoding-json-token", walk: stdTokenWalk},
	{name: "encoding-json-any", walk: stdAnyWalk, unordered: true},
	{name: "go-json-experiment-jsontext", walk: jsontextWalk},
}

// nestedJSON reports whether a decoded string is a JSON document to walk
// as nested data, as Walk decides it (looksLikeJSON, then valid).
func nestedJSON(v string, depth int) bool {
	return depth < maxStringNesting && looksLikeJSON(v) && json.Valid([]byte(v))
}

// stdTokenWalk streams encoding/json tokens.
func stdTokenWalk(raw []byte, fn scalarFn) error {
	return stdTokens(raw, nil, fn, 0)
}

func stdTokens(raw []byte, keys []string, fn scalarFn, depth int) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	type frame struct{ object, wantKey bool }
	var stack []frame
	base := len(keys)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if len(stack) != 0 {
				return io.ErrUnexpectedEOF
			}
			return nil
		}
		if err != nil {
			return err
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:n-1]
				if len(keys) > base && len(stack) > 0 && stack[len(stack)-1].object {
					keys = keys[:len(keys)-1]
					stack[len(stack)-1].wantKey = true
				}
				continue
			}
			keys = append(keys, tok.(string))
			stack[n-1].wantKey = false
			continue
		}
		done := true // a scalar, or a container's end, completes a member
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{object: true, wantKey: true})
				done = false
			case '[':
				stack = append(stack, frame{})
				done = false
			default: // ']'
				stack = stack[:len(stack)-1]
			}
		case string:
			if nestedJSON(t, depth) {
				if err := stdTokens([]byte(t), keys, fn, depth+1); err != nil {
					return err
				}
			} else {
				fn(keys, KindString, validUTF8(t))
			}
		case json.Number:
			fn(keys, KindNumber, string(t))
		case bool:
			fn(keys, KindBool, fmt.Sprint(t))
		case nil:
			fn(keys, KindNull, "null")
		}
		if n := len(stack); done && n > 0 && stack[n-1].object {
			keys = keys[:len(keys)-1]
			stack[n-1].wantKey = true
		}
	}
}

// stdAnyWalk decodes into interface values, then visits them.
func stdAnyWalk(raw []byte, fn scalarFn) error {
	return stdAny(raw, nil, fn, 0)
}

func stdAny(raw []byte, keys []string, fn scalarFn, depth int) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the document")
	}
	var visit func(v any, keys []string) error
	visit = func(v any, keys []string) error {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				if err := visit(x, append(keys, k)); err != nil {
					return err
				}
			}
		case []any:
			for _, x := range t {
				if err := visit(x, keys); err != nil {
					return err
				}
			}
		case string:
			if nestedJSON(t, depth) {
				return stdAny([]byte(t), keys, fn, depth+1)
			}
			fn(keys, KindString, validUTF8(t))
		case json.Number:
			fn(keys, KindNumber, string(t))
		case bool:
			fn(keys, KindBool, fmt.Sprint(t))
		case nil:
			fn(keys, KindNull, "null")
		}
		return nil
	}
	return visit(v, keys)
}

// tokenReader is what the two jsontext tokenizers (go-json-experiment's
// and the standard library's behind GOEXPERIMENT=jsonv2) have in common: the
// next token's kind and the text of a name or scalar (io.EOF at the end).
// One walk serves both. The texts returned through the interface escape:
// about 80 allocations per corpus walk more than a walk written out per
// library (390 against 311), at the same speed; the libraries' alloc
// figures are upper bounds.
type tokenReader interface {
	next() (kind byte, text string, err error)
}

// tokenWalk calls fn for every scalar of raw, read with the tokenizer
// open gives for raw at this JSON-in-string depth.
func tokenWalk(open func(raw []byte, depth int) tokenReader, raw []byte, keys []string, fn scalarFn, depth int) error {
	dec := open(raw, depth)
	type frame struct{ object, wantKey bool }
	var stack []frame
	base := len(keys)
	for {
		kind, text, err := dec.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			if kind == '}' {
				stack = stack[:n-1]
				if len(keys) > base && len(stack) > 0 && stack[len(stack)-1].object {
					keys = keys[:len(keys)-1]
					stack[len(stack)-1].wantKey = true
				}
				continue
			}
			keys = append(keys, text)
			stack[n-1].wantKey = false
			continue
		}
		done := true
		switch kind {
		case '{':
			stack = append(stack, frame{object: true, wantKey: true})
			done = false
		case '[':
			stack = append(stack, frame{})
			done = false
		case ']':
			stack = stack[:len(stack)-1]
		case '"':
			if nestedJSON(text, depth) {
				if err := tokenWalk(open, []byte(text), keys, fn, depth+1); err != nil {
					return err
				}
			} else {
				fn(keys, KindString, validUTF8(text))
			}
		case '0':
			fn(keys, KindNumber, text)
		case 't', 'f':
			fn(keys, KindBool, text)
		case 'n':
			fn(keys, KindNull, "null")
		}
		if n := len(stack); done && n > 0 && stack[n-1].object {
			keys = keys[:len(keys)-1]
			stack[n-1].wantKey = true
		}
	}
}

// jsontextWalk streams tokens with jsontext, the encoding/json/v2 tokenizer
// as maintained outside the standard library.
func jsontextWalk(raw []byte, fn scalarFn) error { return tokenWalk(openJSONText, raw, nil, fn, 0) }

// jsontextTokens is a reused go-json-experiment decoder: the fairest use of
// the library.
type jsontextTokens struct {
	r   bytes.Reader
	dec *jsontext.Decoder
}

func (t *jsontextTokens) next() (byte, string, error) {
	tok, err := t.dec.ReadToken()
	if err != nil {
		return 0, "", err
	}
	switch k := byte(tok.Kind()); k {
	case '"', '0', 't', 'f':
		return k, tok.String(), nil // only these: String allocates
	default:
		return k, "", nil
	}
}

// jsontextStates are the decoders, one per JSON-in-string level
// (benchmarks run one goroutine at a time).
var jsontextStates [maxStringNesting + 1]jsontextTokens

func openJSONText(raw []byte, depth int) tokenReader {
	var st *jsontextTokens
	if depth < len(jsontextStates) {
		st = &jsontextStates[depth]
	} else {
		st = new(jsontextTokens)
	}
	st.r.Reset(raw)
	if st.dec == nil {
		st.dec = jsontext.NewDecoder(&st.r, jsontext.AllowInvalidUTF8(true))
	} else {
		st.dec.Reset(&st.r, jsontext.AllowInvalidUTF8(true))
	}
	return st
}

// walkCorpus is what the comparison walks: the benchmark's ECS-style alert
// (with an escaped command line and a JSON-in-string field) and the
// committed fixtures' records.
func walkCorpus(t testing.TB) [][]byte {
	recs := [][]byte{benchAlert(1), benchAlert(42)}
	for _, name := range []string{"alerts.ndjson", "zeek-notice.otrf-apt29.ndjson", "es-hits.json"} {
		all, err := readAll(t, writeTemp(t, name, mustRead(t, name)), Options{})
		require.NoError(t, err)
		for _, r := range all {
			if r.Err == nil {
				recs = append(recs, r.Raw)
			}
		}
	}
	return recs
}

func mustRead(t testing.TB, name string) []byte {
	b, err := readTestdata(name)
	require.NoError(t, err)
	return b
}

func collectWalk(t testing.TB, impl walkImpl, raw []byte) []string {
	var out []string
	err := impl.walk(raw, func(keys []string, k Kind, v string) {
		out = append(out, strings.Join(keys, "\x00")+"|"+k.String()+"|"+v)
	})
	require.NoError(t, err, "%s on %s", impl.name, raw)
	if impl.unordered {
		sort.Strings(out)
	}
	return out
}

func TestWalkAlternativesAgree(t *testing.T) {
	t.Parallel()
	impls := allWalkImpls()
	for _, raw := range walkCorpus(t) {
		want := collectWalk(t, impls[0], raw)
		sorted := slices.Clone(want)
		sort.Strings(sorted)
		for _, impl := range impls[1:] {
			got := collectWalk(t, impl, raw)
			if impl.unordered {
				require.Equal(t, sorted, got, "%s on %s", impl.name, raw)
			} else {
				require.Equal(t, want, got, "%s on %s", impl.name, raw)
			}
		}
	}
	// And they are all strict: what Walk refuses, they refuse.
	for _, bad := range []string{`{"a":1,}`, `{"a":[1,2}`, `{"a":"\x"}`, `{"a":01}`, `{"a":1} x`} {
		for _, impl := range impls {
			require.Error(t, impl.walk([]byte(bad), func([]string, Kind, string) {}), "%s accepted %s", impl.name, bad)
		}
	}
}

// BenchmarkWalkVersus is the decision behind walk.go (issue 13 item 5):
// alert.Walk against encoding/json (streaming tokens, and decoding into
// interface values), jsontext (go-json-experiment, the maintained
// encoding/json/v2 tokenizer) and, with GOEXPERIMENT=jsonv2, the standard
// library's encoding/json/jsontext, all doing the same work on the same
// records.
func BenchmarkWalkVersus(b *testing.B) {
	corpus := walkCorpus(b)
	var size int64
	for _, r := range corpus {
		size += int64(len(r))
	}
	for _, impl := range allWalkImpls() {
		b.Run(impl.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				for _, raw := range corpus {
					if err := impl.walk(raw, func(keys []string, _ Kind, v string) { n += len(keys) + len(v) }); err != nil {
						b.Fatal(err)
					}
				}
			}
			_ = n
		})
	}
}

// experimentWalkImpls are the candidates that need a GOEXPERIMENT; their
// files add them when it is on.
var experimentWalkImpls []walkImpl

// allWalkImpls is walkImpls plus the candidates that need a GOEXPERIMENT.
func allWalkImpls() []walkImpl { return append(slices.Clone(walkImpls), experimentWalkImpls...) }

func readTestdata(name string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", name)) }
