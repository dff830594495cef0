// Package classify implements `verdict classify`: everything enrich does,
// plus a classification per alert from Gemini (or, with no key, offline, or
// past the budget, from deterministic heuristics). Given a JSON report
// written by enrich, it only adds classifications and makes no lookup.
package classify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/classify"
	"github.com/verdict-dev/verdict/pkg/classify/gemini"
	enrichCmd "github.com/verdict-dev/verdict/pkg/cmd/enrich"
	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/config"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/report"
	"github.com/verdict-dev/verdict/pkg/triage"
)

// NewCmdClassify builds `verdict classify`.
func NewCmdClassify(f *cmdutil.Factory, runF func(context.Context, *enrichCmd.Options) error) *cobra.Command {
	opts := &enrichCmd.Options{}
	var batch bool
	cmd := &cobra.Command{
		Use:   "classify FILE...",
		Short: "Enrich and add a Gemini verdict (TRUE_POSITIVE, FALSE_POSITIVE, NEEDS_REVIEW) per alert",
		Long: strings.TrimSpace(`
Run everything enrich does, then classify each alert as TRUE_POSITIVE,
FALSE_POSITIVE or NEEDS_REVIEW with a confidence, three reasons, ATT&CK
techniques and a next step.

The classification comes from Gemini when gemini.api_key (or GEMINI_API_KEY)
is set, and from deterministic heuristics otherwise, offline, past
gemini.max_cost_usd, or when the model fails; the report says which and why.
Alerts identical but for ids and timestamps share one request, and answers are
cached, so a rerun costs nothing. Alert text is treated as untrusted data, and
a FALSE_POSITIVE never stands against a MALICIOUS risk verdict.

Given a JSON report written by enrich, classify only adds classifications:
no lookup is made.`),
		Example: strings.TrimSpace(`
  # Enrich and classify, with keys from the environment
  GEMINI_API_KEY=... verdict classify --feeds /srv/feeds alerts.ndjson

  # Classify an existing enrich report (no new lookups)
  verdict classify reports/verdict-20261123-020000.json

  # What would it cost?
  verdict classify --dry-run alerts.ndjson

  # Nightly, at half price: one Batch API job, answers within hours
  verdict classify --batch --feeds /srv/feeds /var/log/alerts/today.ndjson

  # Heuristic classifications only, nothing leaves the machine
  verdict classify --offline --feeds samples/feeds samples/alerts/*`),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmdutil.FlagErrorf("give at least one alert file, a JSON report, or - for standard input")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.BindFlags(f, cmd.Flags(), enrichCmd.FlagKeys); err != nil {
				return err
			}
			opts.Files = args
			if err := opts.Complete(f); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts, batch)
		},
	}
	enrichCmd.AddFlags(cmd, opts)
	cmd.Flags().BoolVar(&batch, "batch", false, "send the model requests as one Gemini Batch API job: half price, answers within hours (the command waits)")
	return cmd
}

// Run classifies alert files (the whole pipeline) or a JSON report.
func Run(ctx context.Context, o *enrichCmd.Options) error { return run(ctx, o, false) }

// run is Run, with the model's requests sent as one batch job when batch.
// The classifier is built and the model checked before any lookup, so a
// misconfigured model stops the run before it spends anything.
func run(ctx context.Context, o *enrichCmd.Options, batch bool) error {
	cfg, err := o.Config()
	if err != nil {
		return cmdutil.InputError(err)
	}
	st := &stage{o: o, cfg: cfg}
	defer st.close()
	if st.runner, err = newRunner(ctx, o, cfg, st.openCache(), batch); err != nil {
		return err
	}
	if !o.DryRun {
		if err := st.runner.Check(ctx); err != nil {
			if errors.Is(err, classify.ErrModelNotFound) {
				return cmdutil.InputError(err)
			}
			return err
		}
	}
	if len(o.Files) == 1 && isReport(o.Files[0]) {
		return runOnReport(ctx, o, cfg, st.runner)
	}
	o.Stage = st
	return enrichCmd.Run(ctx, o)
}

// isReport sniffs a verdict JSON report: an object whose first key is
// schema_version.
func isReport(path string) bool {
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

// newRunner builds the classification runner from the config: Gemini when
// a key is set and the run is online, the heuristic otherwise. A thinking or
// tier value the model does not take is an input error naming the key.
func newRunner(ctx context.Context, o *enrichCmd.Options, cfg *config.Config, c cache.Cache, batch bool) (*classify.Runner, error) {
	log := o.Logger
	g := cfg.Gemini
	keyHint := "gemini.api_key (" + config.EnvName("gemini.api_key") + ", GEMINI_API_KEY or GOOGLE_API_KEY)"
	ro := classify.Options{
		Cache: c, Rate: g.Rate, Concurrency: g.Concurrency, MaxCostUSD: g.MaxCostUSD, MaxRetries: cfg.HTTP.MaxRetries,
		BackoffBase: cfg.HTTP.RetryBackoff, Logger: log, KeyHint: keyHint, Batch: batch,
	}
	switch {
	case o.Offline:
		ro.Why = classify.WhyOffline
	case g.APIKey == "":
		ro.Why = classify.WhyNoKey
		log.Info("no Gemini API key: classifications come from the heuristic", "key", keyHint)
	default:
		gen, err := gemini.New(ctx, gemini.Options{APIKey: g.APIKey.Reveal(), BaseURL: g.BaseURL, Model: g.Model,
			ThinkingLevel: g.ThinkingLevel, ThinkingBudget: g.ThinkingBudget, ServiceTier: g.ServiceTier,
			PriceInput: g.PriceInput, PriceOutput: g.PriceOutput, Timeout: g.Timeout, MaxOutputTokens: g.MaxOutputTokens,
			Redact: g.Redact, Cache: c, Logger: log})
		if err != nil {
			var se *gemini.SettingError
			if errors.As(err, &se) {
				return nil, cmdutil.InputError(fmt.Errorf("%w (%s)", err, config.EnvName(se.Key)))
			}
			return nil, err
		}
		ro.Classifier = gen
	}
	return classify.NewRunner(ro), nil
}

// stage plugs classification into the enrich pipeline.
type stage struct {
	o      *enrichCmd.Options
	cfg    *config.Config
	runner *classify.Runner
	store  *cache.SQLite
	bc     model.ByClassification
}

func (s *stage) close() {
	if s.store != nil {
		s.store.Close()
	}
}

func (s *stage) openCache() cache.Cache {
	if s.o.NoCache {
		return cache.Nop{}
	}
	st, err := cache.Open(s.cfg.Cache.Dir)
	if err != nil {
		s.o.Logger.Warn("cache unavailable: classifications will not be reused", "error", err.Error())
		return cache.Nop{}
	}
	s.store = st
	return st
}

// Prepare implements enrich.Stage: group the alerts, then classify.
func (s *stage) Prepare(ctx context.Context, b *triage.Batch, dryRun bool) error {
	r := s.runner
	if err := b.EachAlert(ctx, func(a *model.Alert) error { r.Add(classify.FromAlert(a)); return nil }); err != nil {
		return err
	}
	if dryRun {
		printEstimate(s.o.IO.ErrOut, r, r.Estimate(ctx), s.cfg)
		return nil
	}
	if err := r.Run(ctx); err != nil {
		return fmt.Errorf("classification interrupted: %w", err)
	}
	return b.EachAlert(ctx, func(a *model.Alert) error { r.Tally(classify.FromAlert(a), &s.bc); return nil })
}

// Hook implements enrich.Stage.
func (s *stage) Hook() triage.AlertHook {
	return func(_ context.Context, a *model.Alert) error {
		a.Classification = s.runner.Result(classify.FromAlert(a))
		return nil
	}
}

// Summarise implements enrich.Stage.
func (s *stage) Summarise(h *model.Report) {
	summarise(h, s.runner, s.bc)
}

func summarise(h *model.Report, r *classify.Runner, bc model.ByClassification) {
	st := r.Stats()
	h.Summary.ByClassification = &bc
	h.Summary.Classification = &st
	h.Summary.Notes = append(h.Summary.Notes, r.Notes()...)
}

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
	tw.Flush()
	if cfg.Gemini.MaxCostUSD > 0 && e.CostUSD > cfg.Gemini.MaxCostUSD {
		fmt.Fprintf(w, "note: the estimate exceeds gemini.max_cost_usd ($%.4f); alerts past it would get heuristic classifications\n", cfg.Gemini.MaxCostUSD)
	}
}

// runOnReport adds classifications to an existing JSON report: two streaming
// reads, no lookups.
func runOnReport(ctx context.Context, o *enrichCmd.Options, cfg *config.Config, r *classify.Runner) error {
	path := o.Files[0]
	readAlerts := func(fn func(*model.Alert) error) (*model.Report, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, cmdutil.InputError(err)
		}
		defer f.Close()
		var header *model.Report
		_, err = report.Decode(f, func(h *model.Report) error { header = h; return nil }, fn)
		if err != nil {
			return nil, cmdutil.InputError(fmt.Errorf("%s: %w", path, err))
		}
		return header, nil
	}
	if _, err := readAlerts(func(a *model.Alert) error { r.Add(classify.FromAlert(a)); return nil }); err != nil {
		return err
	}
	if o.DryRun {
		printEstimate(o.IO.ErrOut, r, r.Estimate(ctx), cfg)
		return nil
	}
	if err := r.Run(ctx); err != nil {
		return fmt.Errorf("classification interrupted: %w", err)
	}
	var bc model.ByClassification
	header, err := readAlerts(func(a *model.Alert) error { r.Tally(classify.FromAlert(a), &bc); return nil })
	if err != nil {
		return err
	}
	summarise(header, r, bc)
	name := o.Output.Name
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)) + "-classified"
	}
	out, err := report.NewOutput(o.Output.OutputOptions(name, o.IO.Out, report.ViewOptions{MaxDetails: cfg.Report.MaxDetails, MaxRows: cfg.Report.MaxRows}))
	if err != nil {
		return cmdutil.InputError(err)
	}
	sink := out.Sink()
	if err := sink.Begin(header); err != nil {
		out.Abort()
		return err
	}
	if _, err := readAlerts(func(a *model.Alert) error {
		a.Classification = r.Result(classify.FromAlert(a))
		return sink.Alert(a)
	}); err != nil {
		out.Abort()
		return err
	}
	if err := sink.End(header); err != nil {
		out.Abort()
		return err
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
	if o.FailOn != "" {
		min, _ := model.ParseVerdict(o.FailOn)
		for _, v := range model.AllVerdicts {
			if v.AtLeast(min) && header.Summary.ByVerdict.Get(v) > 0 {
				return &cmdutil.ExitCodeError{Code: cmdutil.ExitFailOn, Err: fmt.Errorf("alerts are %s or worse (--fail-on %s)", min, min)}
			}
		}
	}
	return nil
}
