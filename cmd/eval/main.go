// Command eval measures verdict's classifier on the labelled set in
// samples/eval: it runs `verdict classify --offline --no-cache --feeds ...`
// over the set's alerts and prints accuracy, the confusion matrix, the
// NEEDS_REVIEW rate, the dangerous errors, and tokens and cost per alert;
// when GEMINI_API_KEY is set it does the same with the model. It exits 1 when
// the set is broken (a label with no alert, an alert with no label, a bad
// label, a duplicate id) or a run fails, and 2 on a usage error.
//
//	go run ./cmd/eval -verdict bin/verdict        # what `make eval` runs
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/verdict-dev/verdict/pkg/eval"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type options struct {
	set      string
	verdict  string
	feeds    listFlag
	config   string
	model    string
	lookups  bool
	cache    bool
	keep     string
	verbose  bool
	baseline bool
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	var o options
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.set, "set", "samples/eval", "labelled set: `DIR` holding labels.csv and alerts/")
	fs.StringVar(&o.verdict, "verdict", "bin/verdict", "verdict binary to run (`PATH`)")
	fs.Var(&o.feeds, "feeds", "feed `DIR` or file passed to verdict --feeds (repeatable; default samples/feeds)")
	fs.StringVar(&o.config, "config", "", "verdict config `FILE` (default: an empty one, so no local config changes the figures)")
	fs.StringVar(&o.model, "model", "auto", "also classify with Gemini: auto (when GEMINI_API_KEY is set), on, off")
	fs.BoolVar(&o.lookups, "lookups", false, "model run: run the whole pipeline online (VirusTotal/AbuseIPDB when keyed) instead of classifying the offline report")
	fs.BoolVar(&o.cache, "cache", false, "model run: reuse cached model answers (they cost 0 and show as source cache)")
	fs.StringVar(&o.keep, "keep", "", "keep the JSON reports in `DIR` (default: a temporary directory, removed)")
	fs.BoolVar(&o.verbose, "v", false, "list every wrong alert with the classifier's reason and the label's rationale")
	fs.BoolVar(&o.baseline, "baseline", true, "compare the heuristic with the set's baseline.json, when there is one")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: eval [flags]\n\nMeasure verdict's classifier on a labelled set (see samples/eval/README.md).\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "eval: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return 2
	}
	useModel := false
	switch o.model {
	case "auto":
		useModel = getenv("GEMINI_API_KEY") != ""
	case "on":
		useModel = true
	case "off":
	default:
		fmt.Fprintf(stderr, "eval: -model %q: want auto, on or off\n", o.model)
		return 2
	}
	if len(o.feeds) == 0 {
		o.feeds = listFlag{"samples/feeds"}
	}
	if err := evaluate(ctx, o, useModel, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "eval: %v\n", err)
		return 1
	}
	return 0
}

func evaluate(ctx context.Context, o options, useModel bool, stdout, stderr io.Writer) error {
	set := eval.Set{Dir: o.set}
	// The labels are checked before anything runs: a broken set fails fast.
	if _, err := eval.LoadLabelsFile(set.LabelsFile()); err != nil {
		return err
	}
	work := o.keep
	if work == "" {
		dir, err := os.MkdirTemp("", "verdict-eval-")
		if err != nil {
			return fmt.Errorf("create work directory: %w", err)
		}
		defer os.RemoveAll(dir)
		work = dir
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		return fmt.Errorf("create report directory: %w", err)
	}
	r := eval.Run{Verdict: eval.Exec(o.verdict), Set: set, Feeds: o.feeds, Config: o.config, WorkDir: work}

	offline, err := r.Offline(ctx)
	if err != nil {
		return err
	}
	outcomes, err := set.Evaluate(offline)
	if err != nil {
		return err
	}
	m := eval.Compute(outcomes)
	title := fmt.Sprintf("verdict classify --offline --no-cache --feeds %s (heuristic) on %s", strings.Join(o.feeds, " --feeds "), set.AlertsDir())
	if err := show(stdout, title, m, outcomes, o.verbose); err != nil {
		return err
	}
	if o.baseline {
		if err := compareBaseline(stdout, set, m); err != nil {
			return err
		}
	}

	if !useModel {
		fmt.Fprintf(stdout, "\nmodel: not run (set GEMINI_API_KEY, or -model on, to classify the set with Gemini too)\n")
		return nil
	}
	fmt.Fprintln(stdout)
	online, err := r.Online(ctx, offline, o.lookups, o.cache)
	if err != nil {
		return err
	}
	outcomes, err = set.Evaluate(online)
	if err != nil {
		return err
	}
	m = eval.Compute(outcomes)
	mode := "over the offline report: same evidence, no lookups"
	if o.lookups {
		mode = "whole pipeline online"
	}
	if err := show(stdout, fmt.Sprintf("verdict classify with the model (%s) on %s", mode, set.AlertsDir()), m, outcomes, o.verbose); err != nil {
		return err
	}
	if n := m.Sources["heuristic"]; n > 0 {
		fmt.Fprintf(stdout, "note: %d alert(s) fell back to the heuristic (no key reached verdict, the budget ran out, or the model failed); see the reports with -keep\n", n)
	}
	return nil
}

func show(w io.Writer, title string, m eval.Metrics, outcomes []eval.Outcome, verbose bool) error {
	if err := eval.WriteTable(w, title, m); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	if verbose {
		fmt.Fprintf(w, "\nwrong alerts:\n")
		if err := eval.WriteOutcomes(w, outcomes, false); err != nil {
			return fmt.Errorf("write outcomes: %w", err)
		}
	}
	return nil
}

func compareBaseline(w io.Writer, set eval.Set, m eval.Metrics) error {
	b, err := eval.LoadBaseline(set.BaselineFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nbaseline (%s): accuracy %.3f, %d dangerous error(s)\n", set.BaselineFile(), b.Accuracy, len(b.Dangerous))
	for _, r := range b.Regressions(m) {
		fmt.Fprintf(w, "  worse: %s\n", r)
	}
	for _, r := range b.Improvements(m) {
		fmt.Fprintf(w, "  better: %s (raise the bar: go test ./pkg/eval -run TestHeuristicBaseline -update)\n", r)
	}
	return nil
}
