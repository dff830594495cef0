// Package root assembles the verdict command tree, wires flags, environment
// and config file into one viper instance per run, and maps errors to the
// exit codes of CONTRACT.md.
package root

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	cacheCmd "github.com/verdict-dev/verdict/pkg/cmd/cache"
	classifyCmd "github.com/verdict-dev/verdict/pkg/cmd/classify"
	doctorCmd "github.com/verdict-dev/verdict/pkg/cmd/doctor"
	enrichCmd "github.com/verdict-dev/verdict/pkg/cmd/enrich"
	feedsCmd "github.com/verdict-dev/verdict/pkg/cmd/feeds"
	lookupCmd "github.com/verdict-dev/verdict/pkg/cmd/lookup"
	reportCmd "github.com/verdict-dev/verdict/pkg/cmd/report"
	versionCmd "github.com/verdict-dev/verdict/pkg/cmd/version"
	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/config"
	_ "github.com/verdict-dev/verdict/pkg/intel/all" // the built-in providers
	"github.com/verdict-dev/verdict/pkg/interrupt"
	"github.com/verdict-dev/verdict/pkg/iostreams"
	"github.com/verdict-dev/verdict/pkg/report"
	"github.com/verdict-dev/verdict/pkg/safehttp"
	"github.com/verdict-dev/verdict/pkg/triage"
	"github.com/verdict-dev/verdict/pkg/version"
)

// globalOptions are the flags every command has.
type globalOptions struct {
	configFile string
	logLevel   string
	logFormat  string
	verbose    bool
	quiet      bool
}

// NewCmdRoot builds the command tree.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	g := &globalOptions{}
	cmd := &cobra.Command{
		Use:   "verdict <command>",
		Short: "Triage SIEM alerts: extract IOCs, check threat intel, score, classify, report",
		Long: strings.TrimSpace(`
verdict reads exported alerts (JSON, NDJSON or CSV from Splunk, Elastic, Sentinel,
Suricata, Zeek, Wazuh or any SIEM), pulls out every indicator (IPs, domains, URLs,
file hashes), checks each one once against threat intelligence (local blocklist
feeds, VirusTotal, AbuseIPDB, URLhaus, ThreatFox) through a rate-limited cache,
scores every alert with transparent rules, optionally asks Gemini for a verdict,
and writes JSON, TXT, HTML, Markdown and CSV reports.

It works with no API keys and no network: local feeds, the cache and the
scoring rules do the job, and the reports say what was skipped.`),
		Example: strings.TrimSpace(`
  # Triage an export offline with local blocklists
  verdict enrich --offline --feeds samples/feeds samples/alerts/*

  # Nightly job: look indicators up, fail the pipeline on malicious alerts
  verdict enrich --feeds /srv/feeds --fail-on MALICIOUS -o /srv/reports alerts.ndjson

  # Read from a pipe and print Markdown for $GITHUB_STEP_SUMMARY
  splunk search ... | verdict enrich --stdout md - >> "$GITHUB_STEP_SUMMARY"

  # Add a Gemini verdict to an existing report, no new lookups
  verdict classify reports/verdict-20261123-020000.json

  # Ask every source about a few indicators
  verdict lookup 8.8.8.8 evil[.]com`),
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       version.String(),
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return setup(cmd, f, g)
		},
	}
	cmd.SetVersionTemplate("{{ .Version }}\n")
	pf := cmd.PersistentFlags()
	pf.StringVar(&g.configFile, "config", "", "config file (default ./verdict.yaml, then $XDG_CONFIG_HOME/verdict/config.yaml)")
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: {debug|info|warn|error}")
	pf.StringVar(&g.logFormat, "log-format", "text", "log format on stderr: {text|json}")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "debug logging")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "print only errors: no progress, no summary")
	cmd.MarkFlagsMutuallyExclusive("verbose", "quiet")

	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &cmdutil.FlagError{Err: err} })
	cmd.AddCommand(enrichCmd.NewCmdEnrich(f, nil))
	cmd.AddCommand(classifyCmd.NewCmdClassify(f, nil))
	cmd.AddCommand(lookupCmd.NewCmdLookup(f, nil))
	cmd.AddCommand(reportCmd.NewCmdReport(f, nil))
	cmd.AddCommand(cacheCmd.NewCmdCache(f))
	cmd.AddCommand(feedsCmd.NewCmdFeeds(f))
	cmd.AddCommand(doctorCmd.NewCmdDoctor(f, nil))
	cmd.AddCommand(versionCmd.NewCmdVersion(f, nil))
	// cobra adds these when it executes; adding them now lets
	// typeUsageErrors reach their argument checks too.
	cmd.InitDefaultHelpCmd()
	cmd.InitDefaultCompletionCmd()
	typeUsageErrors(cmd)
	// Groups are runnable now (to refuse unknown subcommands); their usage
	// line stays "verdict cache [command]" alone, as before.
	cmd.SetUsageTemplate(strings.Replace(cmd.UsageTemplate(), "{{if .Runnable}}", "{{if and .Runnable (not .HasAvailableSubCommands)}}", 1))
	return cmd
}

// typeUsageErrors makes cobra's own usage errors *cmdutil.FlagErrors where
// cobra makes them, so that the exit status comes from the error's type and
// never from its text: every argument validator is wrapped, and a command
// that only groups others (verdict, verdict cache, verdict completion)
// refuses an unknown subcommand itself. Cobra checks unknown commands only
// for the root, with a plain error, and for any other group prints help and
// exits 0. Flag parsing errors go through the root's flag error func, and
// required or mutually exclusive flags are checked in setup.
func typeUsageErrors(c *cobra.Command) {
	switch {
	case c.HasSubCommands() && !c.Runnable():
		c.Args = unknownCommand
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	case c.Args != nil:
		check := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error { return asFlagError(check(cmd, args)) }
	}
	for _, sub := range c.Commands() {
		typeUsageErrors(sub)
	}
}

// unknownCommand is the argument check of a command that only groups
// others: any argument is a subcommand that does not exist.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return &cmdutil.FlagError{Err: errors.New(msg)}
}

// asFlagError types a usage error from cobra (nil stays nil).
func asFlagError(err error) error {
	var fe *cmdutil.FlagError
	if err == nil || errors.As(err, &fe) {
		return err
	}
	return &cmdutil.FlagError{Err: err}
}

// setup reads the config file and builds the logger before any command runs.
func setup(cmd *cobra.Command, f *cmdutil.Factory, g *globalOptions) error {
	// cobra checks these after this hook, with plain errors: check them
	// here first so that they are usage errors by type.
	if err := cmd.ValidateRequiredFlags(); err != nil {
		return asFlagError(err)
	}
	if err := cmd.ValidateFlagGroups(); err != nil {
		return asFlagError(err)
	}
	if cmd.HasSubCommands() {
		return nil // a group only prints its help: no config to read
	}
	ios := f.IOStreams
	if _, err := config.ReadFile(f.Viper, g.configFile); err != nil {
		return cmdutil.InputError(err)
	}
	// From here on, everything for people goes through a scrubber of the
	// configured keys: logs, progress, the summary and the final error.
	if sc := safehttp.NewScrubber(config.SecretValues(f.Viper)...); !sc.Empty() {
		ios.ErrOut = sc.Writer(ios.ErrOut)
		cmd.Root().SetOut(ios.ErrOut)
		cmd.Root().SetErr(ios.ErrOut)
	}
	level := slog.LevelInfo
	switch strings.ToLower(g.logLevel) {
	case "debug":
		level = slog.LevelDebug
	case "info":
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		return cmdutil.FlagErrorf("invalid --log-level %q: valid values are debug, info, warn, error", g.logLevel)
	}
	if g.verbose {
		level = slog.LevelDebug
	}
	if g.quiet {
		level = slog.LevelError
		ios.SetQuiet(true)
	}
	var h slog.Handler
	switch strings.ToLower(g.logFormat) {
	case "text":
		h = newTextHandler(ios.ErrOut, level, ios.IsStderrTTY())
	case "json":
		h = slog.NewJSONHandler(ios.ErrOut, &slog.HandlerOptions{Level: level})
		ios.SetProgress(false)
	default:
		return cmdutil.FlagErrorf("invalid --log-format %q: valid values are text, json", g.logFormat)
	}
	f.Logger = slog.New(h)
	slog.SetDefault(f.Logger)
	return nil
}

// Main runs verdict with args and returns the exit code; main is the only
// caller of os.Exit. ctx is the run's context: main cancels it on SIGINT
// or SIGTERM with an *interrupt.SignalError cause, and the run then exits
// 130 or 143.
func Main(ctx context.Context, args []string, ios *iostreams.IOStreams) int {
	f := cmdutil.NewFactory(ios)
	cmd := NewCmdRoot(f)
	if args == nil {
		args = []string{} // cobra reads os.Args for nil: a test binary's flags
	}
	cmd.SetArgs(args)
	cmd.SetIn(ios.In)
	cmd.SetOut(ios.ErrOut) // help and usage are for people: stderr
	cmd.SetErr(ios.ErrOut)
	// Say at once that the signal was heard: stopping can take a moment
	// (a request in flight, a report being removed), and a second signal
	// is the way out of a stuck write.
	stopNotice := context.AfterFunc(ctx, func() {
		if se := interrupt.Cause(ctx); se != nil {
			slog.Default().Warn("interrupted: stopping and removing temporary files; a second signal exits at once",
				"signal", interrupt.Name(se.Signal))
		}
	})
	defer stopNotice()
	defer ios.FlushErrOut() //nolint:errcheck // stderr has nowhere to report its own failure
	err := interrupted(ctx, cmd.ExecuteContext(ctx))
	if err == nil {
		return cmdutil.ExitOK
	}
	code := ExitCode(err)
	printError(ios, cmd, args, err)
	return code
}

// interrupted types the error of a run that a signal stopped: whatever the
// stopped work returned (a wrapped context.Canceled, or an error from a
// library that lost it on the way), the exit status is the signal's. A run
// that finished before it saw the signal keeps its own outcome: no error,
// or --fail-on's exit 3 with every report written.
func interrupted(ctx context.Context, err error) error {
	se := interrupt.Cause(ctx)
	var fo *triage.FailOnError
	if err == nil || se == nil || errors.As(err, &fo) {
		return err
	}
	return &cmdutil.InterruptedError{Signal: se.Signal, Err: err}
}

// ExitCode maps an error to the CONTRACT.md exit status, by the error's
// type alone (errors.As, errors.Is), never by its text.
func ExitCode(err error) int {
	var ie *cmdutil.InterruptedError
	var ec *cmdutil.ExitCodeError
	var fe *cmdutil.FlagError
	var fo *triage.FailOnError
	switch {
	case err == nil:
		return cmdutil.ExitOK
	case errors.As(err, &ie):
		return ie.ExitCode()
	case errors.As(err, &ec):
		return ec.Code
	case errors.As(err, &fo):
		return cmdutil.ExitFailOn
	case errors.As(err, &fe), errors.Is(err, triage.ErrInput), errors.Is(err, config.ErrConfigFile), errors.Is(err, config.ErrUnknownKey):
		return cmdutil.ExitUsage
	}
	return cmdutil.ExitError
}

func printError(ios *iostreams.IOStreams, root *cobra.Command, args []string, err error) {
	var ie *cmdutil.InterruptedError
	if errors.As(err, &ie) {
		// What the stopped work returned ("context canceled") says nothing
		// more; the warning logged at the signal said what happens.
		fmt.Fprintf(ios.ErrOut, "verdict: %s\n", ie.Error())
		return
	}
	var ec *cmdutil.ExitCodeError
	if errors.As(err, &ec) && ec.Silent {
		return
	}
	if errors.Is(err, cmdutil.ErrSilent) {
		return
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(ios.ErrOut, "verdict: interrupted")
		return
	}
	// Errors quote file names, alert ids and server answers: escape control
	// characters so that no escape sequence (OSC 52 writes the clipboard)
	// reaches the terminal. Newlines stay: joined errors read line by line.
	fmt.Fprintf(ios.ErrOut, "verdict: %s\n", report.Sanitize(err.Error()))
	var fe *cmdutil.FlagError
	if errors.As(err, &fe) {
		c, _, ferr := root.Find(args)
		if ferr != nil || c == nil {
			c = root
		}
		fmt.Fprintf(ios.ErrOut, "Run '%s --help' for usage.\n", c.CommandPath())
	}
}
