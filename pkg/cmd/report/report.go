// Package report implements `verdict report`: re-render a JSON report in
// other formats, with no network and no lookups.
package report

import (
	"context"
	"errors"
	"fmt"
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
same data. Nothing is looked up.`),
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
	f, err := os.Open(o.File)
	if err != nil {
		return cmdutil.InputError(fmt.Errorf("open report: %w", err))
	}
	defer f.Close()
	name := o.Output.Name
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(o.File), filepath.Ext(o.File))
	}
	out, err := report.NewOutput(o.Output.OutputOptions(name, o.IO.Out, report.ViewOptions{MaxDetails: cfg.Report.MaxDetails, MaxRows: cfg.Report.MaxRows}))
	if err != nil {
		return cmdutil.InputError(err)
	}
	sink := out.Sink()
	var header *model.Report
	started := false
	_, err = report.Decode(f,
		func(h *model.Report) error {
			header, started = h, true
			return sink.Begin(h)
		},
		func(a *model.Alert) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return sink.Alert(a)
		})
	if err == nil && started {
		err = sink.End(header)
	}
	if err != nil {
		out.Abort()
		if errors.Is(err, report.ErrNotReport) || !started {
			return cmdutil.InputError(fmt.Errorf("%s: %w", o.File, err))
		}
		return fmt.Errorf("%s: %w", o.File, err)
	}
	paths, err := out.Commit()
	if err != nil {
		return err
	}
	if !o.IO.Quiet() {
		for _, p := range paths {
			fmt.Fprintf(o.IO.ErrOut, "wrote %s\n", p)
		}
	}
	return nil
}
