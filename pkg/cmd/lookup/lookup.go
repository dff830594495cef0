// Package lookup implements `verdict lookup IOC...`: ask every configured
// source about indicators given on the command line, as `vt ip 1.2.3.4`
// does for one source. The indicators are refanged, typed and skipped as
// the pipeline does it (ioc.Scan, Normalize, the skip Policy), looked up
// through the same engine (cache, rate limits, daily quotas) and scored
// with the same rules; the answer is a table, or JSON with --json.
package lookup

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/config"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/iostreams"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/report"
	"github.com/verdict-dev/verdict/pkg/score"
	"github.com/verdict-dev/verdict/pkg/version"
)

// Options holds what `lookup` runs with: the factory's lazy dependencies,
// then the flags.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Logger *slog.Logger
	Now    func() time.Time
	Engine func(context.Context, cmdutil.EngineOptions) (*cmdutil.Deps, error)
	// Close releases what Engine opened (the cache).
	Close func() error
	// Terminal reports whether standard output is a terminal: an aligned
	// table with a header there, tab-separated rows for scripts otherwise.
	Terminal func() bool

	Args            []string
	JSON            bool
	FailOn          string
	FailOnUnchecked bool
	Offline         bool
	NoCache         bool
	Refresh         bool
}

// FlagKeys are the lookup flags that set config keys (as for enrich).
var FlagKeys = []cmdutil.FlagKey{
	{Flag: "feeds", Key: "feeds.dirs"},
	{Flag: "cache-dir", Key: "cache.dir"},
}

// NewCmdLookup builds `verdict lookup`.
func NewCmdLookup(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "lookup IOC...",
		Short: "Look indicators up in every configured source and score them",
		Long: strings.TrimSpace(`
Ask every configured source (local feeds, VirusTotal, AbuseIPDB, URLhaus,
ThreatFox, ...) about IP addresses, domains, URLs and file hashes given on the
command line, or one a line on standard input with -. Defanged forms are fine
(hxxp://evil[.]com, 1.2.3[.]4). Indicators are typed and skipped exactly as in
enrich (private addresses, reserved names, the allowlist are never sent), the
lookups go through the same cache, rate limits and daily quotas, and each
indicator is scored alone with the same rules.

On a terminal the answer is a table, one row per source per indicator: its
status, the points it adds and its facts; piped, the same rows tab-separated;
with --json, the documented JSON shape (see the README).`),
		Example: strings.TrimSpace(`
  # An address, a defanged domain and a hash
  verdict lookup 8.8.8.8 evil[.]com 275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f

  # From the cache and local feeds only
  verdict lookup --offline --feeds /srv/feeds 185.220.101.45

  # A list, as JSON for jq
  verdict lookup --json - < iocs.txt | jq '.indicators[] | {value, verdict: .risk.verdict}'

  # Fail a script when anything is MALICIOUS
  verdict lookup --fail-on MALICIOUS hxxp://bad[.]example-cdn[.]com/x.exe`),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmdutil.FlagErrorf("give at least one indicator (or - to read them from standard input)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.BindFlags(f, cmd.Flags(), FlagKeys); err != nil {
				return err
			}
			opts.Args = args
			if err := opts.Complete(f); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.JSON, "json", false, "print JSON (the documented lookup shape) instead of a table")
	fl.StringVar(&opts.FailOn, "fail-on", "", "exit 3 if any indicator's risk verdict is this or worse: "+model.VerdictNames())
	fl.BoolVar(&opts.FailOnUnchecked, "fail-on-unchecked", false, "exit 3 if any indicator is UNCHECKED (no source answered for it)")
	fl.BoolVar(&opts.Offline, "offline", false, "no network at all: answer from the cache and local feeds only")
	fl.BoolVar(&opts.NoCache, "no-cache", false, "neither read nor write the lookup cache")
	fl.BoolVar(&opts.Refresh, "refresh", false, "ignore cached answers but store the fresh ones")
	fl.StringArray("feeds", nil, "local blocklist directory or file (repeatable; config feeds.dirs)")
	fl.String("cache-dir", "", "cache directory (config cache.dir; default $XDG_CACHE_HOME/verdict)")
	cmd.MarkFlagsMutuallyExclusive("no-cache", "refresh")
	_ = cmd.RegisterFlagCompletionFunc("fail-on", cmdutil.VerdictCompletion)
	_ = cmd.MarkFlagDirname("cache-dir")
	return cmd
}

// Complete validates flag values and fills the dependencies from the
// factory.
func (o *Options) Complete(f *cmdutil.Factory) error {
	o.IO, o.Config, o.Logger, o.Now = f.IOStreams, f.Config, f.Logger, f.Now
	o.Engine, o.Close = f.Engine, f.Close
	if o.Terminal == nil {
		out := f.IOStreams.Out
		o.Terminal = func() bool {
			file, ok := out.(*os.File)
			return ok && (isatty.IsTerminal(file.Fd()) || isatty.IsCygwinTerminal(file.Fd()))
		}
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
	stdin := 0
	for _, a := range o.Args {
		if a == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return cmdutil.FlagErrorf("standard input (-) given twice")
	}
	return nil
}

// ErrNotIndicator is wrapped by the error for an argument that is not one
// indicator verdict looks up (exit status 2).
var ErrNotIndicator = errors.New("not an indicator")

// Parse types and normalises one argument as the pipeline extracts
// indicators from an alert's text: refanged first, then the indicator that
// spans the whole argument. An argument that holds exactly one indicator
// among other text (1.2.3.4:443, <evil.com>) gives that one; anything else
// is an error wrapping ErrNotIndicator that says what was found.
func Parse(arg string) (ioc.IOC, error) {
	s := strings.TrimSpace(arg)
	if s == "" {
		return ioc.IOC{}, fmt.Errorf("%w: empty argument", ErrNotIndicator)
	}
	r := ioc.Refang(s)
	var whole *ioc.IOC
	var found []ioc.IOC
	// Hosts: an analyst who types evil.zip means the domain, which in an
	// alert's free text would read as a file name.
	ioc.Scan(r, ioc.Options{Hosts: true}, func(m ioc.Match) {
		if m.Start == 0 && m.End == len(r) && whole == nil {
			i := m.IOC
			whole = &i
		}
		if !slices.Contains(found, m.IOC) {
			found = append(found, m.IOC)
		}
	})
	if whole != nil {
		return *whole, nil
	}
	if i, err := ioc.Guess(r); err == nil {
		return i, nil
	}
	switch len(found) {
	case 0:
		return ioc.IOC{}, fmt.Errorf("%w: %q (want an IP address, domain, URL, MD5, SHA-1 or SHA-256)", ErrNotIndicator, report.SanitizeLine(clipArg(s)))
	case 1:
		return found[0], nil
	}
	names := make([]string, 0, len(found))
	for _, i := range found[:min(len(found), 5)] {
		names = append(names, string(i.Type)+" "+ioc.Defang(i))
	}
	return ioc.IOC{}, fmt.Errorf("%w: %q holds %d indicators (%s): give each as an argument of its own",
		ErrNotIndicator, report.SanitizeLine(clipArg(s)), len(found), report.SanitizeLine(strings.Join(names, ", ")))
}

func clipArg(s string) string {
	if r := []rune(s); len(r) > 80 {
		return string(r[:79]) + "…"
	}
	return s
}

// input is one distinct indicator to look up.
type input struct {
	arg string
	ioc ioc.IOC
}

// inputs reads the arguments ("-" is standard input, one indicator a line;
// blank lines and # comments are ignored), parses each, and drops repeats.
// Every argument that is not an indicator is reported together.
func (o *Options) inputs() ([]input, error) {
	var args []string
	for _, a := range o.Args {
		if a != "-" {
			args = append(args, a)
			continue
		}
		if o.IO.In == nil {
			return nil, cmdutil.InputError(errors.New("read standard input: none"))
		}
		sc := bufio.NewScanner(io.LimitReader(o.IO.In, 64<<20))
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
				args = append(args, l)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, cmdutil.InputError(fmt.Errorf("read standard input: %w", err))
		}
	}
	if len(args) == 0 {
		return nil, cmdutil.InputError(errors.New("no indicators given"))
	}
	var out []input
	var errs []error
	seen := map[ioc.IOC]bool{}
	for _, a := range args {
		i, err := Parse(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !seen[i] {
			seen[i] = true
			out = append(out, input{arg: a, ioc: i})
		}
	}
	if len(errs) > 0 {
		return nil, cmdutil.InputError(errors.Join(errs...))
	}
	return out, nil
}

// Run looks the indicators up, scores them and prints the answer. A
// --fail-on or --fail-on-unchecked match comes back, after printing, as an
// exit-status-3 error.
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
	ins, err := o.inputs()
	if err != nil {
		return err
	}
	scorer, err := score.New(cfg.Scoring)
	if err != nil {
		return cmdutil.InputError(err)
	}
	allow, err := ioc.ParseAllowlist(cfg.Allowlist)
	if err != nil {
		return cmdutil.InputError(err)
	}
	policy, err := ioc.NewPolicy(allow, cfg.IOC.InternalDomains)
	if err != nil {
		return cmdutil.InputError(fmt.Errorf("ioc.internal_domains (%s): %w", config.EnvName("ioc.internal_domains"), err))
	}
	deps, err := o.Engine(ctx, cmdutil.EngineOptions{Offline: o.Offline, NoCache: o.NoCache, Refresh: o.Refresh, Logger: o.Logger})
	if err != nil {
		return err
	}
	lr, sources, err := lookup(ctx, ins, policy, deps, scorer, o.Logger)
	if err != nil {
		return err
	}
	lr.Tool = model.Tool{Name: "verdict", Version: versionString()}
	lr.GeneratedAt = o.Now().UTC().Format(time.RFC3339)
	if o.JSON {
		err = writeJSON(o.IO.Out, lr)
	} else {
		err = writeTable(o.IO.Out, lr, sources, o.Terminal())
	}
	if err != nil {
		return fmt.Errorf("write answer: %w", err)
	}
	if !o.IO.Quiet() {
		for _, n := range lr.Summary.Notes {
			fmt.Fprintf(o.IO.ErrOut, "note: %s\n", report.SanitizeLine(n))
		}
	}
	return o.failOn(lr)
}

// source is one row's worth of a source for one indicator.
type source struct {
	name   string
	result *model.Result // nil: the source does not take the type
	factor string        // "+70", "(+70)" when another source's counts instead
}

// lookup asks the engine about the indicators that are not skipped and
// scores each alone. sources[k] are indicator k's rows, in engine order.
func lookup(ctx context.Context, ins []input, policy *ioc.Policy, deps *cmdutil.Deps, scorer *score.Scorer, log *slog.Logger) (*model.LookupReport, [][]source, error) {
	e := deps.Engine
	var list []ioc.IOC
	at := make([]int, len(ins)) // index into list, or -1
	skip := make([]ioc.SkipReason, len(ins))
	for k, in := range ins {
		at[k] = -1
		skip[k] = policy.Classify(in.ioc)
		if skip[k] == ioc.NotSkipped && e.Supports(in.ioc.Type) {
			at[k] = len(list)
			list = append(list, in.ioc)
		}
	}
	// A slow rate (VirusTotal's public 4/m) makes a few lookups take a
	// while: say so rather than sit silent.
	if plan, err := e.Plan(ctx, list); err == nil && log != nil {
		for _, p := range plan {
			if p.Disabled == "" && p.Duration > 2*time.Second {
				log.Info("waiting for the rate limit", "provider", p.Provider, "lookups", p.Needed, "rate", p.Rate.String(), "duration", p.Duration.Round(time.Second))
			}
		}
	}
	res, err := e.Lookup(ctx, list)
	if err != nil {
		// Everything answered so far is in the cache; a rerun resumes.
		return nil, nil, fmt.Errorf("lookups interrupted: %w", err)
	}
	lr := &model.LookupReport{SchemaVersion: model.SchemaVersion, Indicators: make([]model.LookupIndicator, len(ins)),
		Summary: model.LookupSummary{Indicators: len(ins), Providers: map[string]model.ProviderStats{}, Notes: res.Notes}}
	for name, s := range res.Stats {
		lr.Summary.Providers[name] = model.ProviderStats(s)
	}
	rows := make([][]source, len(ins))
	for k, in := range ins {
		li := model.LookupIndicator{Input: in.arg, Type: string(in.ioc.Type), Value: in.ioc.Value, Skipped: string(skip[k]),
			Enrichment: map[string]*model.Result{}}
		var answers map[string]*model.Result
		if at[k] >= 0 {
			answers = res.For(at[k])
		}
		for name, r := range answers {
			li.Enrichment[name] = r
		}
		li.Risk = risk(in.ioc, skip[k], answers, res.Names, scorer)
		lr.Summary.ByVerdict.Add(li.Risk.Verdict)
		for _, name := range res.Names {
			row := source{name: name, result: answers[name]}
			if skip[k] != ioc.NotSkipped {
				row.result = &model.Result{Status: model.StatusSkipped, Reason: string(skip[k])}
			} else if row.result != nil {
				row.factor = factorOf(scorer, in.ioc, name, row.result, li.Risk.Factors)
			}
			rows[k] = append(rows[k], row)
		}
		lr.Indicators[k] = li
	}
	return lr, rows, nil
}

// risk scores one indicator alone, as the pipeline scores an alert that
// holds only it: UNCHECKED when it was to be checked and no source
// answered, CLEAN with no factor when the policy skipped it.
func risk(i ioc.IOC, skip ioc.SkipReason, answers map[string]*model.Result, names []string, scorer *score.Scorer) model.Risk {
	if skip != ioc.NotSkipped {
		return model.Risk{Verdict: model.Clean, Factors: []string{}, CheckedBy: []string{}}
	}
	checked := []string{}
	for _, n := range names {
		if r := answers[n]; r != nil && (r.Status == model.StatusFound || r.Status == model.StatusNotFound) {
			checked = append(checked, n)
		}
	}
	if len(checked) == 0 {
		return model.Risk{Verdict: model.Unchecked, Factors: []string{}, CheckedBy: checked}
	}
	r := scorer.Score([]score.Indicator{{IOC: i, Results: answers}})
	r.CheckedBy = checked
	return r
}

// factorOf is the points one source's answer adds by itself, in
// parentheses when that signal does not count because another source's
// counts instead (rules of one group, the feeds, count once).
func factorOf(scorer *score.Scorer, i ioc.IOC, name string, r *model.Result, counted []string) string {
	c := scorer.Contribute(score.Indicator{IOC: i, Results: map[string]*model.Result{name: r}})
	var parts []string
	for _, f := range c.Factors {
		p := fmt.Sprintf("%+d", f.Points)
		if !slices.Contains(counted, f.Text) {
			p = "(" + p + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}

// writeJSON writes the lookup report, indented, HTML characters as they
// are (as the JSON report does).
func writeJSON(w io.Writer, lr *model.LookupReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(lr)
}

// maxFacts bounds the facts cell on a terminal; piped rows keep them whole
// (as clipped by the reports: 4 KB).
const maxFacts = 160

// writeTable writes one row per source per indicator. On a terminal:
// aligned columns under a header, the indicator, its verdict and score on
// its first row only. Piped: every row complete and tab-separated, no
// header, for cut and awk. Indicators are defanged either way: --json has
// them as they are.
func writeTable(w io.Writer, lr *model.LookupReport, rows [][]source, terminal bool) error {
	var tw io.Writer = w
	var flush func() error
	if terminal {
		t := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		tw, flush = t, t.Flush
		fmt.Fprintln(tw, "INDICATOR\tTYPE\tVERDICT\tSCORE\tSOURCE\tSTATUS\tPOINTS\tFACTS")
	}
	uncounted := false
	for k, li := range lr.Indicators {
		shown := report.SanitizeLine(ioc.Defang(ioc.IOC{Type: ioc.Type(li.Type), Value: li.Value}))
		score := fmt.Sprint(li.Risk.Score)
		if li.Risk.Verdict == model.Unchecked {
			score = "-"
		}
		if len(rows[k]) == 0 {
			rows[k] = []source{{name: "-", result: &model.Result{Status: model.StatusSkipped, Reason: "no source is configured"}}}
		}
		for j, s := range rows[k] {
			status, facts := "-", "does not take "+li.Type
			if s.result != nil {
				rv := report.DescribeResult(s.name, s.result)
				status, facts = rv.Status, rv.Detail
				if li.Skipped != "" {
					facts = li.Skipped + ": never sent to any source"
				}
			}
			uncounted = uncounted || strings.HasPrefix(s.factor, "(")
			ind, typ, verdict, sc := shown, li.Type, string(li.Risk.Verdict), score
			if terminal {
				if j > 0 {
					ind, typ, verdict, sc = "", "", "", ""
				}
				if r := []rune(facts); len(r) > maxFacts {
					facts = string(r[:maxFacts-1]) + "…"
				}
			}
			if _, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ind, typ, verdict, sc, report.SanitizeLine(s.name), status, s.factor, facts); err != nil {
				return err
			}
		}
	}
	if flush != nil {
		if err := flush(); err != nil {
			return err
		}
	}
	if terminal && uncounted {
		_, err := fmt.Fprintln(w, "(+N): the same signal from another source counts instead (a listing counts once per indicator)")
		return err
	}
	return nil
}

// failOn is the --fail-on and --fail-on-unchecked decision (exit status 3).
func (o *Options) failOn(lr *model.LookupReport) error {
	var parts []string
	if o.FailOn != "" {
		n := 0
		for _, v := range model.AllVerdicts {
			if v.AtLeast(model.Verdict(o.FailOn)) {
				n += lr.Summary.ByVerdict.Get(v)
			}
		}
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d indicator(s) are %s or worse (--fail-on %s)", n, o.FailOn, o.FailOn))
		}
	}
	if n := lr.Summary.ByVerdict.Unchecked; o.FailOnUnchecked && n > 0 {
		parts = append(parts, fmt.Sprintf("%d indicator(s) are UNCHECKED: no source answered for them (--fail-on-unchecked)", n))
	}
	if len(parts) == 0 {
		return nil
	}
	return &cmdutil.ExitCodeError{Code: cmdutil.ExitFailOn, Err: errors.New(strings.Join(parts, "; "))}
}

func versionString() string {
	v, _, _ := version.Info()
	return v
}
