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
	"sync"

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
	ctx    context.Context // stops the stream, for a template that writes little
	dir    string          // for the temporary file; "" is os.TempDir
	f      *os.File
	w      *bufio.Writer
	buf    []byte
	cache  enrichmentCache
	header *model.Report

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
	}
}
