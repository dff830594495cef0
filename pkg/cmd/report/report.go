// Package report implements `verdict report`: re-render a JSON report in
// other formats, with no network and no lookups.
package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/config"
	"github.com/verdict-dev/verdict/pkg/iostreams"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/report"
)

// Options holds `verdict report`'s inputs.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	File   string
	Output cmdutil.OutputFlags
}

// NewCmdReport builds `verdict report`.
func NewCmdReport(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "report REPORT.json",
		Short: "Re-render a JSON report in other formats (no network at all)",
		Long: strings.TrimSpace(`
Read a JSON report written by enrich or classify and write it again in other
formats. The output is byte-for-byte what enrich would have written for the
same data. Nothing is looked up.

A report is read as untrusted input: it must follow schema_version 1 (the
error names what is wrong and where), every string goes through the same
sanitisers as a fresh run, and the classification guard is applied again.
With the default name the files are named after the report and never
replace an existing file (-2, -3, ... is added).`),
		Example: strings.TrimSpace(`
  # Text and HTML next to the JSON
  verdict report reports/verdict-20261123-020000.json -f txt,html

  # Markdown for a CI step summary
  verdict report --stdout md reports/nightly.json >> "$GITHUB_STEP_SUMMARY"

  # A custom template
  verdict report --template samples/templates/slack.md.tmpl --stdout template reports/nightly.json`),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.FlagErrorf("give exactly one JSON report")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO, opts.Config, opts.File = f.IOStreams, f.Config, args[0]
			if err := opts.Output.Parse(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return reportRun(cmd.Context(), opts)
		},
	}
	cmdutil.AddOutputFlags(cmd, &opts.Output, "txt,html", "file name without extension (default: the JSON report's name)")
	return cmd
}

func reportRun(ctx context.Context, o *Options) error {
	cfg, err := o.Config()
	if err != nil {
		return cmdutil.InputError(err)
	}
	name := o.Output.Name
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(o.File), filepath.Ext(o.File))
		if report.ValidateName(name) != nil {
			name = "verdict-report"
		}
	}
	oo := o.Output.OutputOptions(name, o.IO.Out, report.ViewOptions{MaxDetails: cfg.Report.MaxDetails, MaxRows: cfg.Report.MaxRows})
	oo.Context = ctx

	// The report is untrusted: Decode checks it, applies the guard and
	// recounts its summary, which is final only after the last alert. The
	// JSON output writes the summary first, so it needs one reading to
	// learn it and a second to write.
	var checked *model.Report
	if wantsJSON(oo) {
		if checked, err = readReport(ctx, o.File, nil, nil); err != nil {
			return err
		}
	}
	out, err := report.NewOutput(oo)
	if err != nil {
		if errors.Is(err, report.ErrWrite) {
			return err // the disk, not the options: a runtime failure
		}
		return cmdutil.InputError(err)
	}
	// No temporary report outlives a failure, a signal or a panic; after
	// Commit there is nothing left to remove.
	defer out.Abort()
	sink := out.Sink()
	header, err := readReport(ctx, o.File,
		func(h *model.Report) error {
			if checked != nil {
				h = checked
			}
			return sink.Begin(h)
		},
		sink.Alert)
	if err == nil {
		if checked != nil {
			header = checked
		}
		err = sink.End(header)
	}
	if err != nil {
		return err
	}
	paths, err := out.Commit()
	if err != nil {
		return err
	}
	if !o.IO.Quiet() {
		for _, p := range paths {
			// Paths hold what the user (or a script) typed: no escape
			// sequence reaches the terminal.
			fmt.Fprintf(o.IO.ErrOut, "wrote %s\n", report.SanitizeLine(p))
		}
	}
	return nil
}

func wantsJSON(oo report.OutputOptions) bool {
	if oo.Stdout != "" {
		return oo.Stdout == report.FormatJSON
	}
	for _, f := range oo.Formats {
		if f == report.FormatJSON {
			return true
		}
	}
	return false
}

// readReport decodes the report file once. A report that cannot be read or
// breaks the schema is a usage error (exit 2) naming the file.
func readReport(ctx context.Context, path string, onHeader func(*model.Report) error, onAlert func(*model.Alert) error) (*model.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, cmdutil.InputError(fmt.Errorf("open report: %w", err))
	}
	defer f.Close()
	inputErr := false
	h, err := report.Decode(f, onHeader, func(a *model.Alert) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if onAlert == nil {
			return nil
		}
		return onAlert(a)
	})
	if err != nil {
		inputErr = errors.Is(err, report.ErrNotReport) || errors.Is(err, report.ErrInvalidReport)
		var se *json.SyntaxError
		if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
			inputErr = true
		}
		err = fmt.Errorf("read report %s: %w", path, err)
		if inputErr {
			return nil, cmdutil.InputError(err)
		}
		return nil, err
	}
	return h, nil
}
