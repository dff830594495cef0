package feed

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
)

// loadSpamhausJSON reads Spamhaus DROP NDJSON:
// {"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"} per line, with a
// {"type":"metadata",...} trailer that is not an entry. The SBL id is Info.
func (l *loader) loadSpamhausJSON(br *bufio.Reader) {
	l.eachLine(br, func(line []byte) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			return
		}
		var rec struct {
			CIDR      string `json:"cidr"`
			SBLID     string `json:"sblid"`
			Type      string `json:"type"`
			Timestamp int64  `json:"timestamp"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			l.skip(string(line), "not a JSON object")
			return
		}
		if rec.Type == "metadata" {
			// The trailer dates the list: {"type":"metadata","timestamp":...}.
			if t, ok := unixDate(rec.Timestamp); ok {
				l.stated = t
			}
			return
		}
		if rec.CIDR == "" {
			l.skip(string(line), "no cidr")
			return
		}
		if !l.add(kindIP, rec.CIDR, l.b.internInfo(rec.SBLID), true) {
			l.skip(rec.CIDR, "not a valid CIDR")
		}
	})
}

// MISP JSON, as written by MISP feeds (<uuid>.json), event exports and the
// REST API. Only the fields verdict uses are decoded.
type (
	mispDoc struct {
		Event     *mispEvent      `json:"Event"`
		Response  json.RawMessage `json:"response"` // restSearch: [{"Event":...}] or {"Attribute":[...]}
		mispEvent                 // a bare event object
	}
	mispEvent struct {
		Info      string          `json:"info"`
		Attribute []mispAttribute `json:"Attribute"`
		Object    []mispObject    `json:"Object"`
	}
	mispObject struct {
		Deleted   flexBool        `json:"deleted"`
		Attribute []mispAttribute `json:"Attribute"`
	}
	mispAttribute struct {
		Type    string     `json:"type"`
		Value   flexString `json:"value"`
		ToIDs   flexBool   `json:"to_ids"`
		Deleted flexBool   `json:"deleted"`
	}
)

// flexBool reads the booleans of older MISP exports too ("1", "0", 1).
type flexBool bool

// UnmarshalJSON accepts true, false, "1", "0", 1, 0 and null.
func (b *flexBool) UnmarshalJSON(d []byte) error {
	*b = flexBool(truthy(strings.Trim(string(d), `"`)))
	return nil
}

// flexString reads a value that hand-edited events sometimes give as a
// number, so one odd attribute does not cost the whole event.
type flexString string

// UnmarshalJSON accepts a string, a number or null.
func (s *flexString) UnmarshalJSON(d []byte) error {
	if len(d) > 0 && d[0] == '"' {
		var v string
		if err := json.Unmarshal(d, &v); err != nil {
			return err
		}
		*s = flexString(v)
		return nil
	}
	if string(d) == "null" {
		*s = ""
		return nil
	}
	*s = flexString(d)
	return nil
}

// loadMISP reads a MISP event: {"Event": {...}}, a bare event object,
// {"response": [...]}, or an array of any of these. ok is false when the
// JSON holds no event at all (a MISP feed's manifest.json, say).
func (l *loader) loadMISP(br *bufio.Reader) (ok bool, err error) {
	if bom, _ := br.Peek(len(utf8BOM)); bytes.Equal(bom, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
	}
	dec := json.NewDecoder(br)
	var docs []mispDoc
	if peek, _ := br.Peek(readBuf); bytes.HasPrefix(bytes.TrimLeft(peek, " \t\r\n"), []byte("[")) {
		err = dec.Decode(&docs)
	} else {
		var d mispDoc
		err = dec.Decode(&d)
		docs = []mispDoc{d}
	}
	if err != nil {
		return false, err
	}
	for i := range docs {
		if l.mispDoc(&docs[i], 0) {
			ok = true
		}
	}
	return ok, nil
}

func (l *loader) mispDoc(d *mispDoc, depth int) bool {
	seen := false
	if d.Event != nil {
		l.mispEvent(d.Event)
		seen = true
	}
	if d.Info != "" || len(d.Attribute) > 0 || len(d.Object) > 0 {
		l.mispEvent(&d.mispEvent)
		seen = true
	}
	if r := bytes.TrimSpace(d.Response); len(r) > 0 && depth < 2 {
		var inner []mispDoc
		if r[0] == '[' {
			_ = json.Unmarshal(r, &inner)
		} else {
			var one mispDoc
			if json.Unmarshal(r, &one) == nil {
				inner = append(inner, one)
			}
		}
		for i := range inner {
			if l.mispDoc(&inner[i], depth+1) {
				seen = true
			}
		}
	}
	return seen
}

// mispEvent adds an event's to_ids attributes, its own and its objects',
// with the event's title as Info. Values that do not normalise (a url
// attribute holding "107.183.86" or "igfxtray.exe") are skipped.
func (l *loader) mispEvent(e *mispEvent) {
	info := l.b.internInfo(e.Info)
	for i := range e.Attribute {
		l.mispAttribute(&e.Attribute[i], info)
	}
	for _, o := range e.Object {
		if o.Deleted {
			continue
		}
		// An object is one thing: a "file" object's md5, sha1 and sha256
		// are the hashes of one file.
		l.beginRow()
		for i := range o.Attribute {
			l.mispAttribute(&o.Attribute[i], info)
		}
		l.endRow()
	}
}

func (l *loader) mispAttribute(a *mispAttribute, info uint32) {
	if !a.ToIDs || a.Deleted {
		return
	}
	l.addTyped(a.Type, string(a.Value), info)
}
