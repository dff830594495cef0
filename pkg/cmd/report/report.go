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
	"github.com/verdict-dev/verdict/pkg/report"
	"github.com/verdict-dev/verdict/pkg/score"
)

// Options holds `verdict report`'s inputs.
type Options struct {
	IO              *iostreams.IOStreams
	Config          func() (*config.Config, error)
	File            string
	OutputDir       string
	OutputName      string
	FormatList      string
	Formats         []report.Format
	Stdout          string
	Template        string
	ExportBlocklist string
	BlocklistMin    string
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
			formats, err := report.ParseFormats(opts.FormatList)
			if err != nil {
				return cmdutil.FlagErrorf("--format: %v", err)
			}
			opts.Formats = formats
			if opts.Stdout != "" {
				sf, err := report.ParseFormat(opts.Stdout)
				if err != nil {
					return cmdutil.FlagErrorf("--stdout: %v", err)
				}
				opts.Stdout = string(sf)
			}
			if _, err := score.ParseVerdict(opts.BlocklistMin); err != nil {
				return cmdutil.FlagErrorf("--blocklist-min: %v", err)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return reportRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.OutputDir, "output-dir", "o", "reports", "directory for the reports")
	fl.StringVar(&opts.OutputName, "output-name", "", "file name without extension (default: the JSON report's name)")
	fl.StringVarP(&opts.FormatList, "format", "f", "txt,html", "comma-separated formats: "+report.FormatNames())
	fl.StringVar(&opts.Stdout, "stdout", "", "write this one format to standard output instead of files")
	fl.StringVar(&opts.Template, "template", "", "also render this Go template over the report data")
	fl.StringVar(&opts.ExportBlocklist, "export-blocklist", "", "write the IOCs of alerts at or above --blocklist-min to this file")
	fl.StringVar(&opts.BlocklistMin, "blocklist-min", string(score.Malicious), "lowest risk verdict whose IOCs go to --export-blocklist")
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
	name := o.OutputName
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(o.File), filepath.Ext(o.File))
	}
	out, err := report.NewOutput(report.OutputOptions{
		Dir: o.OutputDir, Name: name, Formats: o.Formats,
		Stdout: report.Format(o.Stdout), StdoutWriter: o.IO.Out, Template: o.Template,
		View: report.ViewOptions{MaxDetails: cfg.Report.MaxDetails, MaxRows: cfg.Report.MaxRows},
	})
	if err != nil {
		return cmdutil.InputError(err)
	}
	var sink report.Sink = out.Sink()
	var bl *report.BlocklistWriter
	if o.ExportBlocklist != "" {
		min, _ := score.ParseVerdict(o.BlocklistMin)
		bl = report.NewBlocklistWriter(min)
		sink = report.Multi{sink, bl}
	}
	var header *report.Report
	started := false
	_, err = report.Decode(f,
		func(h *report.Report) error {
			header, started = h, true
			return sink.Begin(h)
		},
		func(a *report.Alert) error {
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
	if bl != nil {
		if err := report.WriteFileAtomic(o.ExportBlocklist, bl.Bytes()); err != nil {
			return fmt.Errorf("export blocklist: %w", err)
		}
		paths = append(paths, o.ExportBlocklist)
	}
	if !o.IO.Quiet() {
		for _, p := range paths {
			fmt.Fprintf(o.IO.ErrOut, "wrote %s\n", p)
		}
	}
	return nil
}
