//go:build goexperiment.jsonv2

package alert

import (
	"bytes"
	"encoding/json/jsontext"
)

// The standard library's encoding/json/v2 tokenizer, with GOEXPERIMENT=jsonv2
// (Go 1.25 and later): `GOEXPERIMENT=jsonv2 go test -bench WalkVersus`.
func init() {
	experimentWalkImpls = append(experimentWalkImpls, walkImpl{name: "encoding-json-v2-jsontext", walk: stdV2Walk})
}

func stdV2Walk(raw []byte, fn scalarFn) error { return tokenWalk(openStdV2, raw, nil, fn, 0) }

// stdV2Tokens is a reused standard-library decoder (see jsontextTokens).
type stdV2Tokens struct {
	r   bytes.Reader
	dec *jsontext.Decoder
}

func (t *stdV2Tokens) next() (byte, string, error) {
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

// stdV2States are the decoders, one per JSON-in-string level.
var stdV2States [maxStringNesting + 1]stdV2Tokens

func openStdV2(raw []byte, depth int) tokenReader {
	var st *stdV2Tokens
	if depth < len(stdV2States) {
		st = &stdV2States[depth]
	} else {
		st = new(stdV2Tokens)
	}
	st.r.Reset(raw)
	if st.dec == nil {
		st.dec = jsontext.NewDecoder(&st.r, jsontext.AllowInvalidUTF8(true))
	} else {
		st.dec.Reset(&st.r, jsontext.AllowInvalidUTF8(true))
	}
	return st
}
