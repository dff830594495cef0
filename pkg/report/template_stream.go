package report

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"strconv"
	"sync"

	"github.com/verdict-dev/verdict/pkg/interrupt"
	"github.com/verdict-dev/verdict/pkg/model"
)

// TemplateData is what a --template executes over: the JSON report's data,
// field for field as model.Report, except that Alerts is a stream. A
// template ranges over it as over a list ({{ range .Alerts }}), and each
// range reads the alerts again, one at a time: a template over a million
// alerts holds one of them in memory, not the report. It is not a list,
// so len and index do not apply to it; the count is .Summary.Alerts.
type TemplateData struct {
	SchemaVersion int
	Tool          model.Tool
	GeneratedAt   string
	Inputs        []string
	InputErrors   []model.InputError
	Summary       model.Summary
	Alerts        iter.Seq[*model.Alert]
}

// templateData is the data of a report held whole.
func templateData(r *model.Report) *TemplateData {
	return &TemplateData{SchemaVersion: r.SchemaVersion, Tool: r.Tool, GeneratedAt: r.GeneratedAt,
		Inputs: r.Inputs, InputErrors: r.InputErrors, Summary: r.Summary, Alerts: slices.Values(r.Alerts)}
}

// templateSpool is the Sink behind --template: it keeps the header and
// writes each alert, encoded as in the JSON report, to a temporary file,
// so that the template can stream them after the report is complete (with
// the header as the stream's end has it: a report read back is recounted
// there).
type templateSpool struct {
	ctx context.Context // stops the stream, for a template that writes little
	dir string          // for the temporary file; "" is os.TempDir
	f   *os.File
	w   *bufio.Writer
	// untrack ends f's registration with interrupt.Track, which removes it
	// when a second signal ends the process without unwinding.
	untrack func()
	buf     []byte
	cache   enrichmentCache
	header  *model.Report
	size    int64 // bytes of alerts spooled
	// listMax bounds size for a template that uses .Alerts as a list
	// (templateListMax).
	listMax int64

	mu  sync.Mutex
	err error // the first error met while streaming
}

// Begin implements Sink.
func (s *templateSpool) Begin(r *model.Report) error {
	f, err := os.CreateTemp(s.dir, "verdict-template-*.ndjson")
	if err != nil {
		return fmt.Errorf("create template spool: %w", err)
	}
	s.f, s.w, s.header = f, bufio.NewWriterSize(f, 256<<10), r
	s.untrack = interrupt.Track(f.Name())
	return nil
}

// Alert implements Sink.
func (s *templateSpool) Alert(a *model.Alert) error {
	b, err := appendAlert(s.buf[:0], a, &s.cache)
	if err != nil {
		return err
	}
	s.buf = append(b, '\n')
	if _, err := s.w.Write(s.buf); err != nil {
		return fmt.Errorf("write template spool: %w", err)
	}
	s.size += int64(len(s.buf))
	return nil
}

// End implements Sink.
func (s *templateSpool) End(r *model.Report) error {
	s.header = r
	if s.w == nil {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("write template spool: %w", err)
	}
	return nil
}

// data is the template's data: the header, and the spooled alerts read
// back, one at a time, each time the template ranges over them.
func (s *templateSpool) data() *TemplateData {
	h := s.header
	if h == nil {
		h = &model.Report{}
	}
	d := templateData(h)
	d.Alerts = s.alerts
	return d
}

// templateListMax bounds the alerts, as the JSON report encodes them, that
// a template using .Alerts as a list (UserTemplate.ListsAlerts) may be
// given: the list is the whole report in memory, several times the size of
// its JSON. A template that only ranges over .Alerts has no limit.
const templateListMax = 256 << 20

// report is the header with every spooled alert read back, for a template
// that uses .Alerts as a list; an error past max bytes of alerts, naming
// the template and saying how to stream instead.
func (s *templateSpool) report(tmpl string, max int64) (*model.Report, error) {
	h := s.header
	if h == nil {
		h = &model.Report{}
	}
	if s.size > max {
		return nil, fmt.Errorf("template %s uses .Alerts as a list (len, index, a range with an index, with, if, or passing it on), which holds the whole report in memory, and this report's alerts take %s, more than the %s allowed: range over .Alerts instead ({{ range .Alerts }} or {{ range $a := .Alerts }}), which streams them, and count with .Summary.Alerts",
			tmpl, sizeString(s.size), sizeString(max))
	}
	r := *h
	r.Alerts = make([]*model.Alert, 0, h.Summary.Alerts)
	for a := range s.alerts {
		r.Alerts = append(r.Alerts, a)
	}
	if err := s.streamErr(); err != nil {
		return nil, err
	}
	return &r, nil
}

// alerts is the stream of TemplateData.Alerts.
func (s *templateSpool) alerts(yield func(*model.Alert) bool) {
	if s.f == nil {
		return
	}
	// A reader of its own at offset 0: ranging twice reads twice.
	r := bufio.NewReaderSize(io.NewSectionReader(s.f, 0, 1<<62), 256<<10)
	for n := 0; ; n++ {
		if n%checkEvery == 0 && s.ctx != nil && s.ctx.Err() != nil {
			s.fail(s.ctx.Err())
			return
		}
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			a := &model.Alert{}
			if uerr := json.Unmarshal(line, a); uerr != nil {
				s.fail(fmt.Errorf("read template spool: %w", uerr))
				return
			}
			if !yield(a) {
				return
			}
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			s.fail(fmt.Errorf("read template spool: %w", err))
			return
		}
	}
}

func (s *templateSpool) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// streamErr is the first error the stream met: a template that ranged
// over a stream that broke must fail, not write a short report.
func (s *templateSpool) streamErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// close removes the temporary file.
func (s *templateSpool) close() {
	if s.f != nil {
		s.f.Close()
		_ = os.Remove(s.f.Name())
		s.f = nil
		s.untrack()
	}
}

// sizeString writes n bytes in MiB, or in bytes below one.
func sizeString(n int64) string {
	if n < 1<<20 {
		return strconv.FormatInt(n, 10) + " bytes"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}
