package triage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/report"
)

// Source is the alerts of a run, scored, for a stage's passes over them:
// a loaded and looked-up Batch, or a JSON report read back.
type Source interface {
	// EachAlert streams every alert in input order.
	EachAlert(ctx context.Context, fn func(*model.Alert) error) error
}

// Stage is an optional pipeline step between the lookups and writing
// (classification).
type Stage interface {
	// Prepare runs once with the whole run's alerts; in a dry run it only
	// estimates and sends nothing.
	Prepare(ctx context.Context, src Source, dryRun bool) error
	// Hook adds to each alert as it is written.
	Hook() AlertHook
	// Summarise adds the stage's totals to the report header.
	Summarise(h *model.Report)
}

// RunOptions is one whole run: what to read, which stage to run, where the
// reports go and what decides exit status 3.
type RunOptions struct {
	// Options loads, extracts, looks up and scores alert files. Unused
	// when Report is set.
	Options
	// Report, when set, runs the pipeline from a JSON report written by an
	// earlier run instead of alert files: nothing is loaded or looked up,
	// the stage adds to what the report holds (classify REPORT.json).
	Report string

	Strict bool // a malformed record is fatal
	DryRun bool // plan the lookups (and let the stage estimate); write nothing
	Stage  Stage

	// Output says where the reports go. An empty Name is the default:
	// verdict-YYYYMMDD-HHMMSS (UTC) for alert files, NAME-classified for a
	// report NAME.json.
	Output  report.OutputOptions
	Now     time.Time
	Version string

	// FailOn, when set, makes Run return a *FailOnError when some alert's
	// risk verdict is that or worse; FailOnUnchecked does for UNCHECKED.
	FailOn          model.Verdict
	FailOnUnchecked bool
}

// Result is what a run produced.
type Result struct {
	// Header is the report header with the summary (nil for a dry run).
	Header *model.Report
	// Paths are the files written; View is the summary view of the reports.
	Paths []string
	View  *report.View

	// DryRun is set for a dry run, with the lookups it would make.
	DryRun   bool
	Alerts   int
	Lookable int
	Plan     []intel.PlanLine
}

// FailOnError says the run found alerts at or above --fail-on, or
// UNCHECKED ones under --fail-on-unchecked: exit status 3 (CONTRACT.md).
// The reports were written.
type FailOnError struct {
	Threshold model.Verdict // "" when only --fail-on-unchecked matched
	Count     int           // alerts at or above Threshold
	Unchecked int           // UNCHECKED alerts, counted under FailOnUnchecked
}

func (e *FailOnError) Error() string {
	var parts []string
	if e.Count > 0 {
		parts = append(parts, fmt.Sprintf("%d alert(s) are %s or worse (--fail-on %s)", e.Count, e.Threshold, e.Threshold))
	}
	if e.Unchecked > 0 {
		parts = append(parts, fmt.Sprintf("%d alert(s) are UNCHECKED (--fail-on-unchecked)", e.Unchecked))
	}
	return strings.Join(parts, "; ")
}

// StrictError is a run stopped by malformed records under --strict; it
// matches ErrInput (exit status 2).
type StrictError struct{ Malformed int }

func (e *StrictError) Error() string {
	return fmt.Sprintf("%d malformed record(s) and --strict is set", e.Malformed)
}

// Is makes errors.Is(err, ErrInput) true.
func (e *StrictError) Is(target error) bool { return target == ErrInput }

// inputError marks an error as unusable input (exit 2) without changing
// its message.
type inputError struct{ err error }

func (e *inputError) Error() string        { return e.err.Error() }
func (e *inputError) Unwrap() error        { return e.err }
func (e *inputError) Is(target error) bool { return target == ErrInput }

// Run is the whole job, the library entry point the commands call: load
// the alerts, extract and look up their indicators, score them, run the
// stage, summarise, write every report and decide --fail-on. With
// RunOptions.Report it is the same pipeline fed from a JSON report.
//
// A *FailOnError comes back with a complete Result: the reports are
// written. Any other error means no report was committed.
func Run(ctx context.Context, o RunOptions) (res *Result, err error) {
	if o.Report != "" {
		return runFrom(ctx, o, &reportSource{path: o.Report})
	}
	batch, err := Load(ctx, o.Options)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := batch.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("remove spool: %w", cerr))
		}
	}()
	if n := len(batch.InputErrors()); n > 0 && o.Strict {
		return nil, &StrictError{Malformed: n}
	}
	if o.DryRun {
		lookable := batch.Lookable()
		plan, err := o.Engine.Plan(ctx, lookable)
		if err != nil {
			return nil, fmt.Errorf("plan lookups: %w", err)
		}
		res := &Result{DryRun: true, Alerts: batch.Alerts(), Lookable: len(lookable), Plan: plan}
		if o.Stage != nil {
			if err := o.Stage.Prepare(ctx, batch, true); err != nil {
				return nil, err
			}
		}
		return res, nil
	}
	if err := batch.Lookup(ctx); err != nil {
		// Everything answered so far is in the cache; a rerun resumes.
		return nil, fmt.Errorf("lookups interrupted: %w", err)
	}
	return runFrom(ctx, o, batch)
}

// source is what the write half of the pipeline reads: a batch or a report.
type source interface {
	Source
	header(ctx context.Context, now time.Time, version string) (*model.Report, error)
	Emit(ctx context.Context, header *model.Report, sink report.Sink, hooks ...AlertHook) error
	defaultName(now time.Time) string
}

// runFrom runs the stage, summarises, writes and decides --fail-on.
func runFrom(ctx context.Context, o RunOptions, src source) (*Result, error) {
	if o.Stage != nil {
		if err := o.Stage.Prepare(ctx, src, o.DryRun); err != nil {
			return nil, err
		}
	}
	if o.DryRun {
		return &Result{DryRun: true}, nil
	}
	h, err := src.header(ctx, o.Now, o.Version)
	if err != nil {
		return nil, err
	}
	if o.Stage != nil {
		o.Stage.Summarise(h)
	}
	opts := o.Output
	if opts.Name == "" {
		opts.Name = src.defaultName(o.Now)
	}
	out, err := report.NewOutput(opts)
	if err != nil {
		if errors.Is(err, report.ErrWrite) {
			return nil, err // the disk, not the options: a runtime failure
		}
		return nil, &inputError{err}
	}
	// Deferred, so that no temporary report outlives a failure, a
	// cancellation or a panic; after Commit it has nothing left to remove.
	defer out.Abort()
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.Stdout != "" {
		log.Info("writing report", "format", string(opts.Stdout), "to", "stdout")
	} else {
		log.Info("writing reports", "dir", opts.Dir, "name", opts.Name)
	}
	var hooks []AlertHook
	if o.Stage != nil {
		hooks = append(hooks, o.Stage.Hook())
	}
	if err := src.Emit(ctx, h, out.Sink(), hooks...); err != nil {
		return nil, err
	}
	paths, err := out.Commit()
	if err != nil {
		return nil, err
	}
	res := &Result{Header: h, Paths: paths, View: out.View}
	return res, failOn(o, h)
}

// failOn is the --fail-on and --fail-on-unchecked decision.
func failOn(o RunOptions, h *model.Report) error {
	e := &FailOnError{}
	if o.FailOn != "" {
		for _, v := range model.AllVerdicts {
			if v.AtLeast(o.FailOn) {
				e.Count += h.Summary.ByVerdict.Get(v)
			}
		}
		if e.Count > 0 {
			e.Threshold = o.FailOn
		}
	}
	if o.FailOnUnchecked {
		e.Unchecked = h.Summary.ByVerdict.Unchecked
	}
	if e.Count > 0 || e.Unchecked > 0 {
		return e
	}
	return nil
}

// header, Emit and defaultName make a Batch a source.
func (b *Batch) header(ctx context.Context, now time.Time, version string) (*model.Report, error) {
	return b.Summary(ctx, now, version)
}

func (b *Batch) defaultName(now time.Time) string {
	return report.DefaultName(now.UTC().Format("20060102-150405"))
}

// reportSource reads a JSON report written by an earlier run, once per
// pass, streaming: memory does not grow with the report.
type reportSource struct {
	path string
}

func (r *reportSource) read(ctx context.Context, onHeader func(*model.Report) error, onAlert func(*model.Alert) error) (*model.Report, error) {
	f, err := os.Open(r.path)
	if err != nil {
		return nil, &inputError{fmt.Errorf("open report: %w", err)}
	}
	defer f.Close()
	var h *model.Report
	started := false
	_, err = report.Decode(f, func(rh *model.Report) error {
		h, started = rh, true
		if onHeader != nil {
			return onHeader(rh)
		}
		return nil
	}, func(a *model.Alert) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if onAlert != nil {
			return onAlert(a)
		}
		return nil
	})
	switch {
	case err == nil:
		return h, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, report.ErrNotReport) || !started:
		return nil, &inputError{fmt.Errorf("%s: %w", r.path, err)}
	}
	return nil, fmt.Errorf("%s: %w", r.path, err)
}

// EachAlert implements Source.
func (r *reportSource) EachAlert(ctx context.Context, fn func(*model.Alert) error) error {
	_, err := r.read(ctx, nil, fn)
	return err
}

// header is the report's own header: its summary and time stay. The
// header comes before the alerts, so reading stops there.
func (r *reportSource) header(ctx context.Context, _ time.Time, _ string) (*model.Report, error) {
	var h *model.Report
	_, err := r.read(ctx, func(rh *model.Report) error { h = rh; return errStopEarly }, nil)
	if err != nil && !errors.Is(err, errStopEarly) {
		return nil, err
	}
	return h, nil
}

var errStopEarly = errors.New("stop")

// Emit streams the report's alerts through the hooks into sink.
func (r *reportSource) Emit(ctx context.Context, h *model.Report, sink report.Sink, hooks ...AlertHook) error {
	if err := sink.Begin(h); err != nil {
		return err
	}
	if _, err := r.read(ctx, nil, func(a *model.Alert) error {
		for _, hook := range hooks {
			if err := hook(ctx, a); err != nil {
				return err
			}
		}
		return sink.Alert(a)
	}); err != nil {
		return err
	}
	return sink.End(h)
}

func (r *reportSource) defaultName(time.Time) string {
	return strings.TrimSuffix(filepath.Base(r.path), filepath.Ext(r.path)) + "-classified"
}

// IsReport sniffs a verdict JSON report: an object whose first key is
// schema_version. Anything else (alert exports) is not, and neither is
// anything but a regular file: sniffing a pipe would eat what the run is to
// read (and opening one blocks until its writer comes).
func IsReport(path string) bool {
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	dec := json.NewDecoder(io.LimitReader(f, 4096))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	t, err := dec.Token()
	return err == nil && t == "schema_version"
}
