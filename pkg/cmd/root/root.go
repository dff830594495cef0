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
	reportCmd "github.com/verdict-dev/verdict/pkg/cmd/report"
	versionCmd "github.com/verdict-dev/verdict/pkg/cmd/version"
	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/config"
	_ "github.com/verdict-dev/verdict/pkg/intel/all" // the built-in providers
	"github.com/verdict-dev/verdict/pkg/iostreams"
	"github.com/verdict-dev/verdict/pkg/report"
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
feeds, VirusTotal, AbuseIPDB) through a rate-limited cache, scores every alert
with transparent rules, optionally asks Gemini for a verdict, and writes JSON,
TXT, HTML, Markdown and CSV reports.

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
  verdict classify reports/verdict-20261123-020000.json`),
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
	cmd.AddCommand(reportCmd.NewCmdReport(f, nil))
	cmd.AddCommand(cacheCmd.NewCmdCache(f))
	cmd.AddCommand(feedsCmd.NewCmdFeeds(f))
	cmd.AddCommand(doctorCmd.NewCmdDoctor(f, nil))
	cmd.AddCommand(versionCmd.NewCmdVersion(f, nil))
	return cmd
}

// setup reads the config file and builds the logger before any command runs.
func setup(cmd *cobra.Command, f *cmdutil.Factory, g *globalOptions) error {
	ios := f.IOStreams
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
	if _, err := config.ReadFile(f.Viper, g.configFile); err != nil {
		return cmdutil.InputError(err)
	}
	return nil
}

// Main runs verdict with args and returns the exit code; main is the only
// caller of os.Exit.
func Main(ctx context.Context, args []string, ios *iostreams.IOStreams) int {
	f := cmdutil.NewFactory(ios)
	cmd := NewCmdRoot(f)
	cmd.SetArgs(args)
	cmd.SetIn(ios.In)
	cmd.SetOut(ios.ErrOut) // help and usage are for people: stderr
	cmd.SetErr(ios.ErrOut)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return cmdutil.ExitOK
	}
	code := ExitCode(err)
	printError(ios, cmd, args, err)
	return code
}

// ExitCode maps an error to the CONTRACT.md exit status.
func ExitCode(err error) int {
	var ec *cmdutil.ExitCodeError
	var fe *cmdutil.FlagError
	var fo *triage.FailOnError
	switch {
	case err == nil:
		return cmdutil.ExitOK
	case errors.As(err, &ec):
		return ec.Code
	case errors.As(err, &fo):
		return cmdutil.ExitFailOn
	case errors.As(err, &fe), errors.Is(err, triage.ErrInput), errors.Is(err, config.ErrConfigFile), errors.Is(err, config.ErrUnknownKey), isUsage(err):
		return cmdutil.ExitUsage
	}
	return cmdutil.ExitError
}

// isUsage recognises cobra's own usage errors, which are plain errors.
func isUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "invalid argument"} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, " "+p) {
			return true
		}
	}
	return false
}

func printError(ios *iostreams.IOStreams, root *cobra.Command, args []string, err error) {
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
	if errors.As(err, &fe) || isUsage(err) {
		c, _, ferr := root.Find(args)
		if ferr != nil || c == nil {
			c = root
		}
		fmt.Fprintf(ios.ErrOut, "Run '%s --help' for usage.\n", c.CommandPath())
	}
}
