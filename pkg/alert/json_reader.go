package alert

import (
	"bytes"
	"io"
)

// frameKind is what an open container in a JSON document is to the reader.
type frameKind uint8

const (
	frRoot      frameKind = iota // a top-level object: a wrapper, or itself one alert
	frHits                       // the "hits" object of an Elasticsearch response
	frArray                      // an array of alerts
	frHitsArray                  // hits.hits: elements hold _source and _id
)

// Frame states: what the next token may be.
const (
	stOpen  = iota // just after '{' or '[': a member or the end
	stAfter        // after a member: ',' or the end
	stNext         // after ',': a member
)

type frame struct {
	kind  frameKind
	state uint8
}

// jsonState walks a JSON document (or several concatenated ones) with an
// explicit stack, so that Next can hand out one alert at a time from arrays
// and wrappers of any size.
type jsonState struct {
	stack     []frame
	topValues int   // top-level values started
	rootOff   int64 // where the current top-level object starts, to re-read it
	rootLine  int
	rootFound bool // the current top-level object holds an alert array
	keyBuf    []byte
}

// wrapperKeys are top-level members that hold the alerts of an export.
var wrapperKeys = [][]byte{[]byte(`"alerts"`), []byte(`"results"`), []byte(`"value"`)}

var hitsKey = []byte(`"hits"`)

func (r *Reader) nextJSON() (Record, error) {
	js := &r.js
	sc := &r.sc
	for {
		if len(js.stack) == 0 {
			// Not a recursion into nextJSON: a file of a million "[]" must
			// not grow the stack.
			if rec, ok, err := r.topLevel(); ok || err != nil {
				return rec, err
			}
			continue
		}
		top := len(js.stack) - 1
		f := js.stack[top]
		c, ok := sc.skipSpace()
		if !ok {
			if sc.err != nil {
				return Record{}, sc.err
			}
			return r.jsonSyntax(sc.line, "unexpected end of file (truncated document)")
		}
		if f.kind == frArray || f.kind == frHitsArray {
			if rec, ok := r.arrayStep(top, c); ok {
				return rec, nil
			}
			continue
		}
		if rec, ok, err := r.objectStep(top, c); ok || err != nil {
			return rec, err
		}
	}
}

// topLevel starts the next top-level value: it opens an array or object
// (ok false), or reads a scalar, which is a malformed record.
func (r *Reader) topLevel() (Record, bool, error) {
	js := &r.js
	sc := &r.sc
	c, ok := sc.skipSpace()
	if !ok {
		if sc.err != nil {
			return Record{}, false, sc.err
		}
		return Record{}, false, io.EOF
	}
	js.topValues++
	switch c {
	case '[':
		sc.advance(1)
		js.stack = append(js.stack, frame{kind: frArray})
		return Record{}, false, nil
	case '{':
		js.rootOff, js.rootLine, js.rootFound = sc.off, sc.line, false
		sc.advance(1)
		js.stack = append(js.stack, frame{kind: frRoot})
		return Record{}, false, nil
	}
	line, off := sc.line, sc.off
	var res capResult
	r.capBuf, res = sc.capture(r.capBuf[:0], r.max)
	r.cutFrom(r.capBuf, off)
	rec := r.object(r.capBuf, line, res)
	if rec.Err != nil && res == capDone && c != '"' && validate(trimSpace(r.capBuf)) != nil {
		// Garbage whose end cannot be trusted: report it and stop.
		if js.topValues > 1 {
			rec.Err.Reason = "invalid JSON: unexpected data after top-level value"
		}
		r.done = true
	}
	if res == capEOF {
		r.done = true
	}
	return rec, true, nil
}

// arrayStep handles one token in an array of alerts. It returns a record
// when the token produced one.
func (r *Reader) arrayStep(top int, c byte) (Record, bool) {
	js := &r.js
	sc := &r.sc
	f := &js.stack[top]
	if c == ']' {
		sc.advance(1)
		r.popFrame()
		return Record{}, false
	}
	if f.state == stAfter {
		if c == ',' {
			sc.advance(1)
			f.state = stNext
			return Record{}, false
		}
		// A missing comma: say so, then read on as if it were there.
		line := sc.line
		if c == '}' || c == ':' {
			sc.advance(1)
		}
		f.state = stNext
		return r.recordError(line, "invalid JSON: invalid character "+quoteChar(c)+" after array element"), true
	}
	switch c {
	case ',', '}', ':':
		line := sc.line
		sc.advance(1)
		return r.recordError(line, "invalid JSON: invalid character "+quoteChar(c)+" looking for beginning of value"), true
	}
	f.state = stAfter
	hits := f.kind == frHitsArray
	line, off := sc.line, sc.off
	var res capResult
	r.capBuf, res = sc.capture(r.capBuf[:0], r.max)
	r.cutFrom(r.capBuf, off)
	rec := r.object(r.capBuf, line, res)
	if res == capEOF {
		r.done = true
	}
	if hits && rec.Err == nil {
		hitSource(&rec)
	}
	return rec, true
}

// hitSource makes an Elasticsearch hit's _source the record and its _id the
// HitID. A hit without an object _source stays as it is, so nothing is lost.
func hitSource(rec *Record) {
	var src, id []byte
	fields(rec.Raw, func(key string, val []byte) bool {
		switch key {
		case "_source":
			src = val
		case "_id":
			id = val
		}
		return true
	})
	if len(src) == 0 || src[0] != '{' {
		return
	}
	rec.Raw = src
	if len(id) > 0 && (id[0] == '"' || id[0] == '-' || isDigit(id[0])) {
		rec.HitID = decodeScalar(id)
	}
}

// objectStep handles one token in a top-level object or its "hits" member,
// looking for alert arrays. ok reports that rec (or err) is to be returned.
func (r *Reader) objectStep(top int, c byte) (rec Record, ok bool, err error) {
	js := &r.js
	sc := &r.sc
	f := &js.stack[top]
	switch {
	case c == '}' && f.state != stNext:
		if f.kind == frRoot && !js.rootFound {
			rec, err = r.rereadRoot()
			return rec, true, err
		}
		sc.advance(1)
		r.popFrame()
		return Record{}, false, nil
	case f.state == stAfter:
		if c != ',' {
			rec, err = r.jsonSyntax(sc.line, "invalid character "+quoteChar(c)+" after object key:value pair")
			return rec, true, err
		}
		sc.advance(1)
		f.state = stNext
		return Record{}, false, nil
	case c != '"':
		rec, err = r.jsonSyntax(sc.line, "invalid character "+quoteChar(c)+" looking for beginning of object key string")
		return rec, true, err
	}

	// A member: its key (only the first bytes matter), ':', then the value.
	var res capResult
	js.keyBuf, res = sc.capture(js.keyBuf[:0], 16)
	if res == capEOF {
		rec, err = r.jsonSyntax(sc.line, "unexpected end of file (truncated document)")
		return rec, true, err
	}
	key := js.keyBuf
	if res == capTooLarge {
		key = nil
	}
	if c, ok := sc.skipSpace(); !ok || c != ':' {
		rec, err = r.jsonSyntax(sc.line, "expected ':' after object key")
		return rec, true, err
	}
	sc.advance(1)
	v, ok := sc.skipSpace()
	if !ok {
		rec, err = r.jsonSyntax(sc.line, "unexpected end of file (truncated document)")
		return rec, true, err
	}
	f.state = stAfter
	kind := f.kind
	switch {
	case kind == frRoot && v == '{' && bytes.EqualFold(key, hitsKey):
		sc.advance(1)
		js.stack = append(js.stack, frame{kind: frHits})
		return Record{}, false, nil
	case v == '[' && ((kind == frRoot && isWrapperKey(key)) || (kind == frHits && bytes.EqualFold(key, hitsKey))):
		sc.advance(1)
		// An array of objects (or an empty one) holds alerts; an array of
		// anything else is just a member of a single alert: "value": [1, 2].
		first, ok := sc.skipSpace()
		if ok && (first == '{' || first == ']') {
			js.rootFound = true
			if kind == frHits {
				js.stack = append(js.stack, frame{kind: frHitsArray})
			} else {
				js.stack = append(js.stack, frame{kind: frArray})
			}
			return Record{}, false, nil
		}
		if _, res := sc.captureNested(nil, -1, 1); res == capEOF {
			rec, err = r.jsonSyntax(sc.line, "unexpected end of file (truncated document)")
			return rec, true, err
		}
	default:
		if _, res := sc.capture(nil, -1); res == capEOF {
			rec, err = r.jsonSyntax(sc.line, "unexpected end of file (truncated document)")
			return rec, true, err
		}
	}
	return Record{}, false, nil
}

func isWrapperKey(key []byte) bool {
	for _, k := range wrapperKeys {
		if bytes.EqualFold(key, k) {
			return true
		}
	}
	return false
}

func (r *Reader) popFrame() {
	r.js.stack = r.js.stack[:len(r.js.stack)-1]
	if n := len(r.js.stack); n > 0 {
		r.js.stack[n-1].state = stAfter
	}
}

// jsonSyntax handles a syntax error in the structure around the alerts. In a
// top-level object that has not shown an alert array yet, the object is
// re-read as one alert, which reports the error precisely. Otherwise the error
// becomes a record of its own and reading stops: the structure is lost.
func (r *Reader) jsonSyntax(line int, msg string) (Record, error) {
	if r.js.topValues > 0 && len(r.js.stack) > 0 && r.js.stack[0].kind == frRoot && !r.js.rootFound {
		return r.rereadRoot()
	}
	if r.sc.err != nil {
		return Record{}, r.sc.err
	}
	r.done = true
	r.js.stack = r.js.stack[:0]
	return r.recordError(line, "invalid JSON: "+msg), nil
}

// rereadRoot seeks back to the current top-level object, which turned out not
// to be a wrapper, and reads it as one alert (bounded by MaxRecordBytes).
func (r *Reader) rereadRoot() (Record, error) {
	js := &r.js
	js.stack = js.stack[:0]
	if _, err := r.f.Seek(js.rootOff, io.SeekStart); err != nil {
		return Record{}, err
	}
	r.sc.reset(r.f, js.rootOff, js.rootLine)
	line, off := r.sc.line, r.sc.off
	var res capResult
	r.capBuf, res = r.sc.capture(r.capBuf[:0], r.max)
	if r.sc.err != nil {
		return Record{}, r.sc.err
	}
	r.cutFrom(r.capBuf, off)
	rec := r.object(r.capBuf, line, res)
	if res == capEOF {
		r.done = true
	}
	unwrapSplunk(&rec)
	return rec, nil
}
