// Package enrich implements `verdict enrich`: load alerts, extract IOCs,
// look them up, score, write reports. `verdict classify` reuses it.
package enrich

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/verdict-dev/verdict/pkg/alert"
	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/config"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/iostreams"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/report"
	"github.com/verdict-dev/verdict/pkg/score"
	"github.com/verdict-dev/verdict/pkg/triage"
	"github.com/verdict-dev/verdict/pkg/version"
)

// Options holds everything `enrich` (and `classify`) run with.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Logger *slog.Logger
	Now    func() time.Time

	Files       []string
	InputFormat string
	Output      cmdutil.OutputFlags
	FailOn      string
	Strict      bool
	Offline     bool
	NoCache     bool
	Refresh     bool
	DryRun      bool

	// Stage, when set, runs after the lookups and before the report is
	// written (classify adds its verdicts here).
	Stage Stage
}

// Stage is a pipeline step between lookups and report writing.
type Stage interface {
	// Prepare runs once with the loaded, looked-up batch (dry runs too).
	Prepare(ctx context.Context, b *triage.Batch, dryRun bool) error
	// Hook adds to each alert as it is written.
	Hook() triage.AlertHook
	// Summarise adds the stage's totals to the report header.
	Summarise(h *model.Report)
}

// FlagKeys are the enrich flags that set config keys.
var FlagKeys = []cmdutil.FlagKey{
	{Flag: "feeds", Key: "feeds.dirs"},
	{Flag: "cache-dir", Key: "cache.dir"},
}

// NewCmdEnrich builds `verdict enrich`.
func NewCmdEnrich(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "enrich FILE...",
		Short: "Extract IOCs from alerts, look them up, score and write reports",
		Long: strings.TrimSpace(`
Load alerts from JSON, NDJSON or CSV exports (or - for standard input), extract
every IP, domain, URL and file hash, look each unique indicator up once in the
local feeds and the configured providers (through the cache, within rate limits
and daily quotas), score every alert and write the reports.

Several files are one batch. Malformed records are reported and skipped.`),
		Example: strings.TrimSpace(`
  # Offline, with the bundled sample feeds
  verdict enrich --offline --feeds samples/feeds samples/alerts/*.ndjson

  # Only a JSON report, into a chosen directory and name
  verdict enrich -f json -o /srv/reports --output-name nightly alerts.json

  # From a pipe, HTML on standard output
  cat alerts.ndjson | verdict enrich --stdout html - > report.html

  # How many lookups, how much quota and time would this take?
  verdict enrich --dry-run --feeds /srv/feeds alerts.csv

  # Fail a CI job when anything is SUSPICIOUS or worse
  verdict enrich --fail-on SUSPICIOUS alerts.ndjson`),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmdutil.FlagErrorf("give at least one alert file (or - for standard input)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.BindFlags(f, cmd.Flags(), FlagKeys); err != nil {
				return err
			}
			opts.Files = args
			if err := opts.Complete(f); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	AddFlags(cmd, opts)
	return cmd
}

// AddFlags defines the flags enrich and classify share.
func AddFlags(cmd *cobra.Command, opts *Options) {
	fl := cmd.Flags()
	cmdutil.StringEnumFlag(cmd, &opts.InputFormat, "input-format", "", "auto", []string{"auto", "json", "ndjson", "csv"}, "input format (default: from extension and content)")
	cmdutil.AddOutputFlags(cmd, &opts.Output, "json,txt,html", "report file name without extension (default verdict-YYYYMMDD-HHMMSS, UTC)")
	fl.StringVar(&opts.FailOn, "fail-on", "", "exit 3 if any alert's risk verdict is this or worse: "+model.VerdictNames())
	fl.BoolVar(&opts.Strict, "strict", false, "treat any malformed record as fatal (exit 2)")
	fl.BoolVar(&opts.Offline, "offline", false, "no network at all: answer from the cache and local feeds only")
	fl.BoolVar(&opts.NoCache, "no-cache", false, "neither read nor write the lookup cache")
	fl.BoolVar(&opts.Refresh, "refresh", false, "ignore cached answers but store the fresh ones")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "print the lookups needed after cache hits, the quota left and the time they take; send nothing")
	fl.StringArray("feeds", nil, "local blocklist directory or file (repeatable; config feeds.dirs)")
	fl.String("cache-dir", "", "cache directory (config cache.dir; default $XDG_CACHE_HOME/verdict)")
	cmd.MarkFlagsMutuallyExclusive("no-cache", "refresh")
	_ = cmd.RegisterFlagCompletionFunc("fail-on", cmdutil.VerdictCompletion)
	_ = cmd.MarkFlagDirname("cache-dir")
}

// Complete validates flag values and fills defaults from the factory.
func (o *Options) Complete(f *cmdutil.Factory) error {
	o.IO, o.Config, o.Logger, o.Now = f.IOStreams, f.Config, f.Logger, f.Now
	if _, err := alert.ParseFormat(o.InputFormat); err != nil {
		return cmdutil.FlagErrorf("--input-format: %v", err)
	}
	if err := o.Output.Parse(); err != nil {
		return err
	}
	if o.FailOn != "" {
		v, err := model.ParseVerdict(o.FailOn)
		if err != nil {
			return cmdutil.FlagErrorf("--fail-on: %v", err)
		}
		o.FailOn = string(v)
	}
	if n := o.Output.Name; n != "" && (strings.ContainsAny(n, `/\`) || n == "." || n == "..") {
		return cmdutil.FlagErrorf("--output-name must be a file name without directories, got %q", n)
	}
	if o.Offline && o.Refresh {
		return cmdutil.FlagErrorf("--offline cannot refresh answers: drop --refresh")
	}
	return nil
}

// Run is the enrich pipeline.
func Run(ctx context.Context, o *Options) error {
	cfg, err := o.Config()
	if err != nil {
		return cmdutil.InputError(err)
	}
	log := o.Logger
	now := o.Now()
	scorer, err := score.New(cfg.Scoring)
	if err != nil {
		return cmdutil.InputError(err)
	}
	allow, err := ioc.ParseAllowlist(cfg.Allowlist)
	if err != nil {
		return cmdutil.InputError(err)
	}
	if o.Output.Template != "" {
		if _, err := report.LoadTemplate(o.Output.Template); err != nil {
			return cmdutil.InputError(err)
		}
	}
	deps, err := BuildEngine(ctx, cfg, EngineOptions{
		Offline: o.Offline, NoCache: o.NoCache, Refresh: o.Refresh, Logger: log, Progress: newProgress(o.IO, log),
	})
	if err != nil {
		return err
	}
	defer deps.Close()

	batch, err := triage.Load(ctx, triage.Options{
		Inputs: o.Files, Stdin: o.IO.In, Format: alert.Format(strings.TrimPrefix(o.InputFormat, "auto")),
		Allowlist: allow, Engine: deps.Engine, Scorer: scorer, Logger: log,
	})
	if err != nil {
		return err
	}
	defer batch.Close()
	if n := len(batch.InputErrors()); n > 0 && o.Strict {
		return &cmdutil.ExitCodeError{Code: cmdutil.ExitUsage, Err: fmt.Errorf("%d malformed record(s) and --strict is set", n)}
	}
	if o.DryRun {
		if err := dryRun(ctx, o, batch, deps); err != nil {
			return err
		}
		if o.Stage != nil {
			return o.Stage.Prepare(ctx, batch, true)
		}
		return nil
	}

	lookupErr := batch.Lookup(ctx)
	if lookupErr != nil {
		// Everything answered so far is in the cache; a rerun resumes.
		return fmt.Errorf("lookups interrupted: %w", lookupErr)
	}
	if o.Stage != nil {
		if err := o.Stage.Prepare(ctx, batch, false); err != nil {
			return err
		}
	}
	header, err := batch.Summary(ctx, now, versionString())
	if err != nil {
		return err
	}
	if o.Stage != nil {
		o.Stage.Summarise(header)
	}
	paths, view, err := o.write(ctx, batch, header, cfg, now)
	if err != nil {
		return err
	}
	if !o.IO.Quiet() {
		printSummary(o.IO.ErrOut, view, header, paths)
	}
	if o.FailOn != "" {
		min, _ := model.ParseVerdict(o.FailOn)
		for _, v := range model.AllVerdicts {
			if v.AtLeast(min) && header.Summary.ByVerdict.Get(v) > 0 {
				return &cmdutil.ExitCodeError{Code: cmdutil.ExitFailOn, Err: fmt.Errorf("%d alert(s) are %s or worse (--fail-on %s)", countAtLeast(header, min), min, min)}
			}
		}
	}
	return nil
}

func countAtLeast(h *model.Report, min model.Verdict) int {
	n := 0
	for _, v := range model.AllVerdicts {
		if v.AtLeast(min) {
			n += h.Summary.ByVerdict.Get(v)
		}
	}
	return n
}

func versionString() string {
	v, _, _ := version.Info()
	return v
}

// write streams pass 2 into every requested output.
func (o *Options) write(ctx context.Context, batch *triage.Batch, header *model.Report, cfg *config.Config, now time.Time) ([]string, *report.View, error) {
	name := o.Output.Name
	if name == "" {
		name = report.DefaultName(now.UTC().Format("20060102-150405"))
	}
	out, err := report.NewOutput(o.Output.OutputOptions(name, o.IO.Out, report.ViewOptions{MaxDetails: cfg.Report.MaxDetails, MaxRows: cfg.Report.MaxRows}))
	if err != nil {
		return nil, nil, err
	}
	var hooks []triage.AlertHook
	if o.Stage != nil {
		hooks = append(hooks, o.Stage.Hook())
	}
	if err := batch.Emit(ctx, header, out.Sink(), hooks...); err != nil {
		out.Abort()
		return nil, nil, err
	}
	paths, err := out.Commit()
	return paths, out.View, err
}

// printSummary is the terminal summary: the most severe alerts, then where
// the reports are.
func printSummary(w io.Writer, v *report.View, h *model.Report, paths []string) {
	const maxRows = 25
	fmt.Fprintf(w, "\n%d alerts: ", h.Summary.Alerts)
	parts := make([]string, 0, 4)
	for _, c := range v.Verdicts {
		parts = append(parts, fmt.Sprintf("%d %s", c.Count, c.Name))
	}
	fmt.Fprintln(w, strings.Join(parts, ", "))
	if len(v.Rows) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		classified := v.Classified
		if classified {
			fmt.Fprintln(tw, "ALERT ID\tVERDICT\tSCORE\tCLASSIFICATION\t")
		} else {
			fmt.Fprintln(tw, "ALERT ID\tVERDICT\tSCORE\t")
		}
		for _, r := range v.Rows[:min(maxRows, len(v.Rows))] {
			id := r.ID
			if len([]rune(id)) > 40 {
				id = string([]rune(id)[:39]) + "…"
			}
			if classified {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t\n", id, r.Verdict, r.Score, r.Label)
			} else {
				fmt.Fprintf(tw, "%s\t%s\t%d\t\n", id, r.Verdict, r.Score)
			}
		}
		tw.Flush()
		if n := h.Summary.Alerts - min(maxRows, len(v.Rows)); n > 0 {
			fmt.Fprintf(w, "... and %d more (see the reports)\n", n)
		}
	}
	for _, n := range v.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if len(h.InputErrors) > 0 {
		fmt.Fprintf(w, "%d malformed record(s) skipped; listed in the report's input_errors\n", len(h.InputErrors))
	}
	if len(paths) > 0 {
		fmt.Fprintln(w, "\nReports:")
		for _, p := range paths {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
}

// dryRun prints the plan: per provider, lookups after cache hits, quota
// left and time at the configured rate.
func dryRun(ctx context.Context, o *Options, batch *triage.Batch, deps *Deps) error {
	plan, err := deps.Engine.Plan(ctx, batch.Lookable())
	if err != nil {
		return err
	}
	w := o.IO.ErrOut
	fmt.Fprintf(w, "dry run: %d alerts, %d indicators to look up; nothing will be sent\n\n", batch.Alerts(), len(batch.Lookable()))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tTAKES\tCACHED\tLOOKUPS\tQUOTA LEFT TODAY\tRATE\tTIME\t")
	for _, p := range plan {
		quota := "unlimited"
		if p.QuotaLimit > 0 {
			quota = fmt.Sprintf("%d of %d", max(p.QuotaLimit-p.QuotaUsed, 0), p.QuotaLimit)
		}
		rate, dur, lookups := p.Rate.String(), p.Duration.Round(time.Second).String(), fmt.Sprint(p.Needed)
		switch {
		case p.Local:
			quota, rate, dur, lookups = "-", "-", "instant", fmt.Sprint(p.Supported)
		case p.Disabled != "":
			dur = "skipped: " + p.Disabled
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t\n", p.Provider, p.Supported, p.CacheHits, lookups, quota, rate, dur)
		if !p.Local && p.Disabled == "" && p.QuotaLimit > 0 && p.Needed > p.QuotaLimit-p.QuotaUsed {
			defer fmt.Fprintf(w, "note: %s needs %d lookups but only %d remain in today's quota; the rest would be skipped: quota_exhausted\n",
				p.Provider, p.Needed, max(p.QuotaLimit-p.QuotaUsed, 0))
		}
	}
	return tw.Flush()
}
