package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/verdict-dev/verdict/pkg/model"
)

// header is Report without its alerts, marshalled in the same field order.
type header struct {
	SchemaVersion int                `json:"schema_version"`
	Tool          model.Tool         `json:"tool"`
	GeneratedAt   string             `json:"generated_at"`
	Inputs        []string           `json:"inputs"`
	InputErrors   []model.InputError `json:"input_errors"`
	Summary       model.Summary      `json:"summary"`
}

// JSONWriter streams a report as indented JSON: the header first, then one
// alert at a time, so memory does not grow with the number of alerts. The
// output is byte-identical to encoding the whole Report with two-space
// indentation and HTML escaping off.
type JSONWriter struct {
	w     *writeBehind
	n     int
	buf   []byte
	cache enrichmentCache
	ended bool
}

// NewJSONWriter writes to w.
func NewJSONWriter(w io.Writer) *JSONWriter {
	return &JSONWriter{w: newWriteBehind(w, 1<<20)}
}

// Begin implements Sink.
func (jw *JSONWriter) Begin(r *model.Report) error {
	h := header{r.SchemaVersion, r.Tool, r.GeneratedAt, nonNil(r.Inputs), nonNilErrs(r.InputErrors), r.Summary}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(h); err != nil {
		return fmt.Errorf("encode report header: %w", err)
	}
	out := bytes.TrimSuffix(bytes.TrimRight(b.Bytes(), "\n"), []byte("}"))
	out = bytes.TrimRight(out, "\n")
	jw.w.Write(out)
	_, err := jw.w.WriteString(",\n  \"alerts\": [")
	return err
}

// Prepare implements Preparer: it encodes the alert ahead of Alert, so the
// encoding, the costliest step of writing a report, runs on every core.
func (jw *JSONWriter) Prepare(a *model.Alert) error {
	buf, _ := encodeBuffers.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	b, err := appendAlert((*buf)[:0], a, &jw.cache)
	if err != nil {
		encodeBuffers.Put(buf)
		return err
	}
	*buf = b
	a.Encoded = buf
	return nil
}

// encodeBuffers recycles the buffers alerts are encoded into between
// Prepare (on a worker) and Alert (in order).
var encodeBuffers sync.Pool

// Alert implements Sink.
func (jw *JSONWriter) Alert(a *model.Alert) error {
	var out []byte
	if a.Encoded != nil {
		out = *a.Encoded
		defer func(b *[]byte) { encodeBuffers.Put(b) }(a.Encoded)
		a.Encoded = nil // written; the buffer goes back to the pool
	} else {
		var err error
		if jw.buf, err = appendAlert(jw.buf[:0], a, &jw.cache); err != nil {
			return err
		}
		out = jw.buf
	}
	if jw.n > 0 {
		jw.w.WriteByte(',')
	}
	jw.n++
	jw.w.WriteString("\n    ")
	_, err := jw.w.Write(out)
	return err
}

// End implements Sink.
func (jw *JSONWriter) End(*model.Report) error {
	if jw.ended {
		return nil
	}
	jw.ended = true
	if jw.n > 0 {
		jw.w.WriteString("\n  ]\n}\n")
	} else {
		jw.w.WriteString("]\n}\n")
	}
	return jw.w.Flush()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilErrs(s []model.InputError) []model.InputError {
	if s == nil {
		return []model.InputError{}
	}
	return s
}

// ErrNotReport means the input is not a verdict JSON report.
var ErrNotReport = errors.New("not a verdict JSON report")

// Decode reads a JSON report as a stream. onHeader is called once, before
// the first alert (or at the end when there are none), with everything but
// the alerts; onAlert is called for each alert in order. The alert passed to
// onAlert is fresh each time and may be retained.
//
// A report read back is untrusted input: anyone can write one by hand.
// Decode checks it against schema_version 1 (fixed fields, enumerations,
// ranges and indicator forms; errors wrap ErrNotReport or ErrInvalidReport
// and say where), replaces invalid UTF-8 in the original records as
// loading alerts does, and applies CONTRACT.md's guard to every
// classification again (model.Classification.Guard). When it returns, the
// report's summary counts (alerts, by_verdict, by_classification) are the
// ones its alerts support, with a note if they were not; the header passed
// to onHeader is that same report, so a sink's End sees the recounted
// summary.
func Decode(r io.Reader, onHeader func(*model.Report) error, onAlert func(*model.Alert) error) (*model.Report, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 256<<10))
	dec.UseNumber()
	rep := &model.Report{}
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotReport, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%w: it does not start with an object", ErrNotReport)
	}
	var counts tally
	headerSent := false
	sendHeader := func() error {
		if headerSent {
			return nil
		}
		headerSent = true
		if rep.SchemaVersion == 0 {
			return fmt.Errorf("%w: schema_version missing (it must come before alerts)", ErrNotReport)
		}
		if rep.SchemaVersion != model.SchemaVersion {
			return fmt.Errorf("%w: schema_version %d is not supported (want %d)", ErrNotReport, rep.SchemaVersion, model.SchemaVersion)
		}
		if err := checkHeader(rep); err != nil {
			return err
		}
		if onHeader != nil {
			return onHeader(rep)
		}
		return nil
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("read report: %w", err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return nil, invalid(quoted(key), "the field appears twice")
		}
		seen[key] = true
		var target any
		switch key {
		case "schema_version":
			target = &rep.SchemaVersion
		case "tool":
			target = &rep.Tool
		case "generated_at":
			target = &rep.GeneratedAt
		case "inputs":
			target = &rep.Inputs
		case "input_errors":
			target = &rep.InputErrors
		case "summary":
			target = &rep.Summary
		case "alerts":
			if err := sendHeader(); err != nil {
				return nil, err
			}
			if err := decodeAlerts(dec, &counts, onAlert); err != nil {
				return nil, err
			}
			continue
		default:
			target = &json.RawMessage{}
		}
		if _, unknown := target.(*json.RawMessage); headerSent && !unknown {
			// The header has gone to the sinks: a header field after the
			// alerts could no longer be checked or shown.
			return nil, invalid(quoted(key), "header fields must come before alerts")
		}
		if err := dec.Decode(target); err != nil {
			return nil, fmt.Errorf("%w: field %q: %w", ErrInvalidReport, key, err)
		}
	}
	if err := sendHeader(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: more data after the report", ErrInvalidReport)
	}
	counts.reconcile(rep)
	return rep, nil
}

func decodeAlerts(dec *json.Decoder, counts *tally, onAlert func(*model.Alert) error) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("read report alerts: %w", err)
	}
	if tok == nil {
		return nil // "alerts": null
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("%w: alerts is not an array", ErrNotReport)
	}
	n := 0
	for dec.More() {
		n++
		a := &model.Alert{}
		if err := dec.Decode(a); err != nil {
			return fmt.Errorf("%w: alert %d: %w", ErrInvalidReport, n, err)
		}
		if err := checkAlert(a, n); err != nil {
			return err
		}
		// The same repair as loading alerts: invalid UTF-8 becomes U+FFFD.
		if !utf8.Valid(a.Alert) {
			a.Alert = bytes.ToValidUTF8(a.Alert, []byte("\uFFFD"))
		}
		if a.Classification.Guard(a.Risk) {
			counts.guarded++
		}
		counts.add(a)
		if onAlert != nil {
			if err := onAlert(a); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token()
	return err
}

// ReadAll decodes a whole report into memory (user templates, tests).
func ReadAll(r io.Reader) (*model.Report, error) {
	var alerts []*model.Alert
	rep, err := Decode(r, nil, func(a *model.Alert) error { alerts = append(alerts, a); return nil })
	if err != nil {
		return nil, err
	}
	rep.Alerts = alerts
	if rep.Alerts == nil {
		rep.Alerts = []*model.Alert{}
	}
	return rep, nil
}
