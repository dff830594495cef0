package report

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/verdict-dev/verdict/pkg/model"
)

// OutputOptions says where the reports go.
type OutputOptions struct {
	Dir     string   // --output-dir
	Name    string   // --output-name, without extension
	Formats []Format // --format
	// Stdout, when set, writes that one format to StdoutWriter instead of
	// writing any file.
	Stdout       Format
	StdoutWriter io.Writer
	// Template is a user template file (--template).
	Template string
	View     ViewOptions
	// Blocklist, when set, is written with the indicators of every alert at
	// or above BlocklistMin (--export-blocklist, --blocklist-min).
	Blocklist    string
	BlocklistMin model.Verdict
}

// Output turns one report stream into every requested format, each written
// atomically: to a temporary file in the target directory, renamed into
// place only when complete, so no reader ever sees half a report.
type Output struct {
	opts    OutputOptions
	sinks   Multi
	files   []*pendingFile
	views   []viewTarget
	builder *ViewBuilder
	collect *Collect
	tmpl    *UserTemplate
	block   *BlocklistWriter
	View    *View // the built view, after Commit
}

type pendingFile struct {
	f     *os.File
	final string
}

type viewTarget struct {
	format Format
	w      io.Writer
	file   *pendingFile
}

// NewOutput prepares the sinks. Nothing is visible on disk until Commit.
func NewOutput(opts OutputOptions) (*Output, error) {
	o := &Output{opts: opts, builder: NewViewBuilder(opts.View)}
	o.sinks = append(o.sinks, o.builder)
	if opts.Blocklist != "" {
		min := opts.BlocklistMin
		if min == "" {
			min = model.Malicious
		}
		o.block = NewBlocklistWriter(min)
		o.sinks = append(o.sinks, o.block)
	}
	if opts.Template != "" {
		t, err := LoadTemplate(opts.Template)
		if err != nil {
			return nil, err
		}
		o.tmpl = t
		o.collect = &Collect{}
		o.sinks = append(o.sinks, o.collect)
	}
	if opts.Stdout != "" {
		if opts.Stdout == FormatTemplate && o.tmpl == nil {
			return nil, fmt.Errorf("--stdout template needs --template FILE")
		}
		if err := o.target(opts.Stdout, opts.StdoutWriter, nil); err != nil {
			return nil, err
		}
		return o, nil
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create output directory: %w", err)
	}
	formats := opts.Formats
	if o.tmpl != nil && !hasFormat(formats, FormatTemplate) {
		formats = append(formats, FormatTemplate)
	}
	for _, f := range formats {
		pf, err := o.create(f)
		if err != nil {
			o.Abort()
			return nil, err
		}
		if err := o.target(f, pf.f, pf); err != nil {
			o.Abort()
			return nil, err
		}
	}
	return o, nil
}

func hasFormat(fs []Format, f Format) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}

// FileName is the file a format is written to.
func (o *Output) FileName(f Format) string {
	if f == FormatTemplate && o.tmpl != nil {
		return filepath.Join(o.opts.Dir, o.opts.Name+"."+o.tmpl.Suffix)
	}
	return filepath.Join(o.opts.Dir, o.opts.Name+"."+string(f))
}

func (o *Output) create(f Format) (*pendingFile, error) {
	final := o.FileName(f)
	tmp, err := os.CreateTemp(filepath.Dir(final), "."+filepath.Base(final)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create report: %w", err)
	}
	pf := &pendingFile{f: tmp, final: final}
	o.files = append(o.files, pf)
	return pf, nil
}

// target wires format f to w: JSON and CSV stream, the rest render the view.
func (o *Output) target(f Format, w io.Writer, pf *pendingFile) error {
	switch f {
	case FormatJSON:
		o.sinks = append(o.sinks, NewJSONWriter(w))
	case FormatCSV:
		o.sinks = append(o.sinks, NewCSVWriter(w))
	case FormatTXT, FormatHTML, FormatMarkdown, FormatTemplate:
		o.views = append(o.views, viewTarget{format: f, w: w, file: pf})
	default:
		return fmt.Errorf("unknown format %q", f)
	}
	return nil
}

// Sink is where the report stream goes.
func (o *Output) Sink() Sink { return o.sinks }

// Commit renders the view formats and moves every file into place. It
// returns the paths written (none with --stdout).
func (o *Output) Commit() ([]string, error) {
	o.View = o.builder.Build()
	// The view is read-only from here on: render the formats side by side.
	errs := make([]error, len(o.views))
	var wg sync.WaitGroup
	for i, t := range o.views {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			switch t.format {
			case FormatTemplate:
				err = o.tmpl.Execute(t.w, o.collect.Report)
			default:
				err = RenderView(t.w, t.format, o.View)
			}
			if err != nil {
				errs[i] = fmt.Errorf("render %s report: %w", t.format, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		o.Abort()
		return nil, err
	}
	var paths []string
	for _, pf := range o.files {
		if err := pf.f.Sync(); err != nil {
			o.Abort()
			return nil, fmt.Errorf("write report: %w", err)
		}
		if err := pf.f.Close(); err != nil {
			o.Abort()
			return nil, fmt.Errorf("write report: %w", err)
		}
		_ = os.Chmod(pf.f.Name(), 0o644)
		if err := os.Rename(pf.f.Name(), pf.final); err != nil {
			o.Abort()
			return nil, fmt.Errorf("write report: %w", err)
		}
		paths = append(paths, pf.final)
	}
	if o.block != nil {
		if err := WriteFileAtomic(o.opts.Blocklist, o.block.Bytes()); err != nil {
			return paths, fmt.Errorf("export blocklist: %w", err)
		}
		paths = append(paths, o.opts.Blocklist)
	}
	return paths, nil
}

// Abort removes every temporary file; finished reports from earlier runs
// are untouched.
func (o *Output) Abort() {
	for _, pf := range o.files {
		pf.f.Close()
		_ = os.Remove(pf.f.Name()) // best effort: it may already be renamed or gone
	}
	o.files = nil
}

// RenderView renders a built-in view format.
func RenderView(w io.Writer, f Format, v *View) error {
	switch f {
	case FormatTXT:
		return renderTXT(w, v)
	case FormatHTML:
		return renderHTML(w, v)
	case FormatMarkdown:
		return renderMarkdown(w, v)
	}
	return fmt.Errorf("format %s is not rendered from the view", f)
}

// DefaultName is the default --output-name for a UTC time string
// "20060102-150405".
func DefaultName(stamp string) string { return "verdict-" + strings.TrimSpace(stamp) }
