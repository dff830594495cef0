//go:build goexperiment.jsonv2

package alert

import (
	"bytes"
	"encoding/json/jsontext"
	"errors"
	"io"
)

// The standard library's encoding/json/v2 tokenizer, with GOEXPERIMENT=jsonv2
// (Go 1.25 and later): `GOEXPERIMENT=jsonv2 go test -bench WalkVersus`.
func init() {
	experimentWalkImpls = append(experimentWalkImpls, walkImpl{name: "encoding-json-v2-jsontext", walk: stdV2Walk})
}

func stdV2Walk(raw []byte, fn scalarFn) error { return stdV2Tokens(raw, nil, fn, 0) }

func stdV2Tokens(raw []byte, keys []string, fn scalarFn, depth int) error {
	// The decoder and reader are reused: the fairest use of the library.
	var st *struct {
		r   bytes.Reader
		dec *jsontext.Decoder
	}
	if depth < len(stdV2TokensStates) {
		st = &stdV2TokensStates[depth]
	} else {
		st = &struct {
			r   bytes.Reader
			dec *jsontext.Decoder
		}{}
	}
	st.r.Reset(raw)
	if st.dec == nil {
		st.dec = jsontext.NewDecoder(&st.r, jsontext.AllowInvalidUTF8(true))
	} else {
		st.dec.Reset(&st.r, jsontext.AllowInvalidUTF8(true))
	}
	dec := st.dec
	type frame struct{ object, wantKey bool }
	var stack []frame
	base := len(keys)
	for {
		tok, err := dec.ReadToken()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		kind := tok.Kind()
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			if kind == '}' {
				stack = stack[:n-1]
				if len(keys) > base && len(stack) > 0 && stack[len(stack)-1].object {
					keys = keys[:len(keys)-1]
					stack[len(stack)-1].wantKey = true
				}
				continue
			}
			keys = append(keys, tok.String())
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
			if s := tok.String(); nestedJSON(s, depth) {
				if err := stdV2Tokens([]byte(s), keys, fn, depth+1); err != nil {
					return err
				}
			} else {
				fn(keys, KindString, validUTF8(s))
			}
		case '0':
			fn(keys, KindNumber, tok.String())
		case 't', 'f':
			fn(keys, KindBool, tok.String())
		case 'n':
			fn(keys, KindNull, "null")
		}
		if n := len(stack); done && n > 0 && stack[n-1].object {
			keys = keys[:len(keys)-1]
			stack[n-1].wantKey = true
		}
	}
}

// stdV2TokensStates are the decoders of stdV2Tokens, one per JSON-in-string level
// (benchmarks run one goroutine at a time).
var stdV2TokensStates [maxStringNesting + 1]struct {
	r   bytes.Reader
	dec *jsontext.Decoder
}
