// Package enrich implements `verdict enrich`: load alerts, extract IOCs,
// look them up, score, write reports. The pipeline itself is triage.Run;
// this package parses flags, builds its options and prints. `verdict
// classify` is the same command with a classification stage (Wire).
package enrich

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/verdict-dev/verdict/pkg/alert"
	"github.com/verdict-dev/verdict/pkg/classify"
	"github.com/verdict-dev/verdict/pkg/classify/gemini"
	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/config"
	"github.com/verdict-dev/verdict/pkg/intel/feed"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/iostreams"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/report"
	"github.com/verdict-dev/verdict/pkg/score"
	"github.com/verdict-dev/verdict/pkg/triage"
	"github.com/verdict-dev/verdict/pkg/version"
)

// Options holds everything `enrich` (and `classify`) run with: the
// factory's lazy dependencies, then the flags.
type Options struct {
	IO         *iostreams.IOStreams
	Config     func() (*config.Config, error)
	Logger     *slog.Logger
	Now        func() time.Time
	Engine     func(context.Context, cmdutil.EngineOptions) (*cmdutil.Deps, error)
	Classifier func(context.Context, cmdutil.ClassifierOptions) (*classify.Runner, error)
	// Close releases what Engine and Classifier opened (the cache).
	Close func() error

	Files           []string
	InputFormat     string
	Output          cmdutil.OutputFlags
	FailOn          string
	FailOnUnchecked bool
	Strict          bool
	Offline         bool
	NoCache         bool
	Refresh         bool
	DryRun          bool
	// IDPerFile names alerts without an id field FILE#N instead of #N.
	IDPerFile bool

	// Classify adds a classification to every alert (verdict classify);
	// given a single JSON report, the run only adds classifications.
	Classify bool
	// Batch sends classify's model requests as one Batch API job.
	Batch bool
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
	}
	Wire(cmd, f, opts, runF)
	return cmd
}

// Wire gives a pipeline command (enrich, classify) its shared flags and
// RunE: bind the flags that set config keys, validate, then run (or hand
// the options to runF, for tests).
func Wire(cmd *cobra.Command, f *cmdutil.Factory, opts *Options, runF func(context.Context, *Options) error) {
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
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
	}
	AddFlags(cmd, opts)
}

// AddFlags defines the flags enrich and classify share.
func AddFlags(cmd *cobra.Command, opts *Options) {
	fl := cmd.Flags()
	cmdutil.StringEnumFlag(cmd, &opts.InputFormat, "input-format", "", "auto", []string{"auto", "json", "ndjson", "csv"}, "input format (default: from extension and content)")
	cmdutil.AddOutputFlags(cmd, &opts.Output, "json,txt,html", "report file name without extension (default verdict-YYYYMMDD-HHMMSS, UTC)")
	fl.StringVar(&opts.FailOn, "fail-on", "", "exit 3 if any alert's risk verdict is this or worse: "+model.VerdictNames())
	fl.BoolVar(&opts.FailOnUnchecked, "fail-on-unchecked", false, "exit 3 if any alert is UNCHECKED (it has indicators and no source answered for any)")
	fl.BoolVar(&opts.Strict, "strict", false, "treat any malformed record as fatal (exit 2)")
	fl.BoolVar(&opts.Offline, "offline", false, "no network at all: answer from the cache and local feeds only")
	fl.BoolVar(&opts.NoCache, "no-cache", false, "neither read nor write the lookup cache")
	fl.BoolVar(&opts.Refresh, "refresh", false, "ignore cached answers but store the fresh ones")
	fl.BoolVar(&opts.IDPerFile, "id-per-file", false, "name alerts without an id field FILE#N (N: the record in its own file) instead of #N (the position in the batch), so ids do not move when files are added")
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
	o.Engine, o.Classifier, o.Close = f.Engine, f.Classifier, f.Close
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
	if o.Offline && o.Refresh {
		return cmdutil.FlagErrorf("--offline cannot refresh answers: drop --refresh")
	}
	return nil
}

// Run builds the pipeline's options from the flags and the config, runs
// it (triage.Run) and prints the outcome. A *triage.FailOnError comes back
// after the summary is printed; root maps it to exit status 3.
func Run(ctx context.Context, o *Options) (err error) {
	if o.Close != nil {
		defer func() {
			if cerr := o.Close(); cerr != nil {
				err = errors.Join(err, cerr)
			}
		}()
	}
	cfg, err := o.Config()
	if err != nil {
		return cmdutil.InputError(err)
	}
	if o.Output.Template != "" {
		if _, err := report.LoadTemplate(o.Output.Template); err != nil {
			return cmdutil.InputError(err)
		}
	}
	ro := triage.RunOptions{
		Strict: o.Strict, DryRun: o.DryRun, Now: o.Now(), Version: versionString(),
		FailOn: model.Verdict(o.FailOn), FailOnUnchecked: o.FailOnUnchecked,
		Output: o.Output.OutputOptions(o.Output.Name, o.IO.Out, report.ViewOptions{MaxDetails: cfg.Report.MaxDetails, MaxRows: cfg.Report.MaxRows}),
	}
	ro.Output.Context = ctx // a signal stops rendering too
	if o.Classify && len(o.Files) == 1 && triage.IsReport(o.Files[0]) {
		ro.Report = o.Files[0] // classify REPORT.json: no loading, no lookups
	} else if ro.Options, err = o.pipelineOptions(ctx, cfg); err != nil {
		return err
	}
	var stage *triage.ClassifyStage
	if o.Classify {
		r, err := o.Classifier(ctx, cmdutil.ClassifierOptions{Offline: o.Offline, NoCache: o.NoCache, Batch: o.Batch, Logger: o.Logger})
		if err != nil {
			return err
		}
		// The model is checked before any lookup: a retired or unknown
		// model stops the run before it spends anything.
		if !o.DryRun {
			if err := r.Check(ctx); err != nil {
				if errors.Is(err, classify.ErrModelNotFound) {
					return cmdutil.InputError(err)
				}
				return err
			}
		}
		stage = triage.NewClassifyStage(r)
		ro.Stage = stage
	}
	res, err := triage.Run(ctx, ro)
	if res == nil {
		return err
	}
	switch {
	case res.DryRun:
		if len(res.Plan) > 0 || ro.Report == "" {
			if perr := printPlan(o.IO.ErrOut, res); perr != nil {
				return errors.Join(err, perr)
			}
		}
		if stage != nil && stage.Estimate != nil {
			printEstimate(o.IO.ErrOut, stage.Runner(), *stage.Estimate, cfg)
		}
	case !o.IO.Quiet():
		printSummary(o.IO.ErrOut, res.View, res.Header, res.Paths)
	}
	return err
}

// pipelineOptions turns the config and flags into what loading, lookups
// and scoring need.
func (o *Options) pipelineOptions(ctx context.Context, cfg *config.Config) (triage.Options, error) {
	scorer, err := score.New(cfg.Scoring)
	if err != nil {
		return triage.Options{}, cmdutil.InputError(err)
	}
	allow, err := ioc.ParseAllowlist(cfg.Allowlist)
	if err != nil {
		return triage.Options{}, cmdutil.InputError(err)
	}
	policy, err := ioc.NewPolicy(allow, cfg.IOC.InternalDomains)
	if err != nil {
		return triage.Options{}, cmdutil.InputError(fmt.Errorf("ioc.internal_domains (%s): %w", config.EnvName("ioc.internal_domains"), err))
	}
	ids, err := alert.NewIDFields(cfg.Input.IDFields)
	if err != nil {
		return triage.Options{}, cmdutil.InputError(fmt.Errorf("input.id_fields (%s): %w", config.EnvName("input.id_fields"), err))
	}
	deps, err := o.Engine(ctx, cmdutil.EngineOptions{
		Offline: o.Offline, NoCache: o.NoCache, Refresh: o.Refresh, Logger: o.Logger, Progress: newProgress(o.IO, o.Logger),
	})
	if err != nil {
		return triage.Options{}, err
	}
	var feeds []model.FeedStatus
	var feedNotes []string
	if deps.Feeds != nil {
		feeds, feedNotes = feed.Summarise(deps.Feeds.Feeds(), o.Now(), cfg.Feeds.MaxAge)
	}
	return triage.Options{
		Inputs: o.Files, Stdin: o.IO.In, Format: alert.Format(strings.TrimPrefix(o.InputFormat, "auto")),
		Policy: policy, Engine: deps.Engine, Scorer: scorer, Logger: o.Logger,
		MaxSpoolBytes: int64(cfg.Input.MaxBytes), IDs: ids, IDPerFile: o.IDPerFile,
		Feeds: feeds, FeedNotes: feedNotes,
	}, nil
}

func versionString() string {
	v, _, _ := version.Info()
	return v
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
			fmt.Fprintf(w, "  %s\n", report.SanitizeLine(p))
		}
	}
}

// printPlan prints a dry run: per provider, lookups after cache hits,
// quota left and time at the configured rate.
func printPlan(w io.Writer, res *triage.Result) error {
	fmt.Fprintf(w, "dry run: %d alerts, %d indicators to look up; nothing will be sent\n\n", res.Alerts, res.Lookable)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tTAKES\tCACHED\tLOOKUPS\tQUOTA LEFT TODAY\tRATE\tTIME\t")
	var notes []string
	for _, p := range res.Plan {
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
			notes = append(notes, fmt.Sprintf("note: %s needs %d lookups but only %d remain in today's quota; the rest would be skipped: quota_exhausted",
				p.Provider, p.Needed, max(p.QuotaLimit-p.QuotaUsed, 0)))
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print plan: %w", err)
	}
	// Last-in first-out, as the deferred prints before this function did.
	for i := len(notes) - 1; i >= 0; i-- {
		fmt.Fprintln(w, notes[i])
	}
	return nil
}

// printEstimate prints a classification dry run.
func printEstimate(w io.Writer, r *classify.Runner, e classify.Estimate, cfg *config.Config) {
	fmt.Fprintf(w, "\nclassification: %d alerts in %d distinct requests (alerts identical but for ids and timestamps share one)\n", e.Alerts, e.Groups)
	tier, thinking, took := cfg.Gemini.ServiceTier, "-", cfg.Gemini.Rate.Duration(e.Requests).Round(time.Second).String()
	if g, ok := r.Classifier().(*gemini.Classifier); ok {
		tier, thinking = string(g.Tier()), g.Thinking()
		if r.Batch() {
			tier, took = string(gemini.TierBatch), "within 24h"
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tTHINKING\tTIER\tCACHED\tREQUESTS\tPROMPT TOKENS\tOUTPUT TOKENS\tTHINKING TOKENS\tCOST (USD)\tTIME\t")
	fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t~%d\t~%d\t~%d\t~%.4f\t%s\t\n", cfg.Gemini.Model, thinking, tier, e.Cached, e.Requests, e.PromptTokens, e.OutputTokens, e.Think, e.CostUSD, took)
	_ = tw.Flush() // a terminal write error has nowhere better to go
	if cfg.Gemini.MaxCostUSD > 0 && e.CostUSD > cfg.Gemini.MaxCostUSD {
		fmt.Fprintf(w, "note: the estimate exceeds gemini.max_cost_usd ($%.4f); alerts past it would get heuristic classifications\n", cfg.Gemini.MaxCostUSD)
	}
}
