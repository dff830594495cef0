// Package doctor implements `verdict doctor`: one command a cron job runs
// before the nightly batch, to learn that its setup is broken (a retired
// model, a revoked key, a stale feed, a corrupt cache, a full disk) before
// it burns a night.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/config"
	"github.com/verdict-dev/verdict/pkg/iostreams"
	"github.com/verdict-dev/verdict/pkg/version"
)

// Options holds doctor's inputs.
type Options struct {
	IO *iostreams.IOStreams
	// Viper is the run's configuration (file, environment, flags bound).
	Viper  *viper.Viper
	Logger func() *slog.Logger
	Now    func() time.Time
	// Environ is the process environment ("NAME=value"); nil means
	// os.Environ. Only names are ever printed.
	Environ func() []string
	// FileErr is the config file's read error: doctor reports it rather
	// than stopping on it, and checks on with defaults, environment and
	// flags.
	FileErr error
	// FlagsSet are the flags given that set configuration keys, as
	// "--feeds (feeds.dirs)".
	FlagsSet []string

	Offline bool
	JSON    bool
}

func (o *Options) environ() []string {
	if o.Environ != nil {
		return o.Environ()
	}
	return os.Environ()
}

// flagKeys are doctor's flags that set configuration keys, as enrich's do.
var flagKeys = []cmdutil.FlagKey{
	{Flag: "feeds", Key: "feeds.dirs"},
	{Flag: "cache-dir", Key: "cache.dir"},
	{Flag: "cache-url", Key: "cache.url"},
}

// NewCmdDoctor builds `verdict doctor`; runF, when set, receives the
// options instead of the command running (tests).
func NewCmdDoctor(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	// The wall clock, never the factory's: ages and today's quota are
	// about now, whatever SOURCE_DATE_EPOCH fixes for reports.
	o := &Options{IO: f.IOStreams, Now: time.Now, Logger: func() *slog.Logger { return f.Logger }}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the setup before a batch: config, keys, model, cache, feeds",
		Long: strings.TrimSpace(`
Check everything a nightly run depends on, and print one line per check:

  configuration  which file was read, which keys and environment variables set
                 values (names only, never values), unknown keys (which make
                 every other command refuse to run), invalid values
  providers      for each: API key present; accepted, by the cheapest call that
                 spends no quota (VirusTotal's quota summary; AbuseIPDB has none,
                 so its key is not sent and only reachability is checked);
                 latency; requests counted today against the daily quota
  gemini         API key; the model exists (models.get, no tokens billed); its
                 row in verdict's table (retired, re-routed); thinking setting;
                 price at the configured tier
  cache          opens (SQLite or PostgreSQL); integrity (PRAGMA quick_check,
                 read only: a corrupt file is reported, not moved); entries and
                 size; free disk; for PostgreSQL, the connection: URL without
                 its password, server version, database and user, sslmode and
                 whether it is encrypted, schema version
  feeds          each file: category, entries, format and age (from the record
                 of 'verdict feeds update', else its header's date, else the
                 file's time), warning past feeds.max_age
  ATT&CK         the embedded matrix parses

Each check is ok, warn, fail or skip (not checked). Failures: a config file
that cannot be read, unknown keys or invalid values, a rejected key, a provider
or Gemini that cannot be reached, a model that does not exist, a thinking or
tier setting the model refuses, a cache that is corrupt or cannot be opened,
less than 100 MiB free, feeds that cannot be loaded. Warnings: no API key,
rate limited, a quota spent today, a retired or unknown model, a read-only
cache, an unencrypted connection to a PostgreSQL cache on another machine,
less than 1 GiB free, no feeds, a stale or empty feed, a failed feed
update. The exit status is 0 when nothing failed (warnings included), 1 when
any check failed.

--offline sends nothing: the network checks are skipped and say so.`),
		Example: strings.TrimSpace(`
  # Cron, before the batch: stop here if the setup is broken
  verdict doctor --quiet && verdict classify ...

  # What a script reads
  verdict doctor --json | jq '.checks[] | select(.status != "ok")'`),
		Args: cobra.NoArgs,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			// Root's setup reads the config file and stops on a broken
			// one; doctor reports that and checks on.
			if p := cmd.Root(); p != cmd && p.PersistentPreRunE != nil {
				if err := p.PersistentPreRunE(cmd, args); err != nil {
					if !errors.Is(err, config.ErrConfigFile) {
						return err
					}
					o.FileErr = err
				}
			}
			return cmdutil.BindFlags(f, cmd.Flags(), flagKeys)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Viper = f.Viper
			o.FlagsSet = flagsSet(cmd.Flags())
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return Run(cmd.Context(), o)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.Offline, "offline", false, "send nothing: skip the checks that need the network, and say so")
	fl.BoolVar(&o.JSON, "json", false, "print the checks as JSON on standard output (schema_version 1)")
	fl.StringArray("feeds", nil, "local blocklist directory or file (repeatable; config feeds.dirs)")
	fl.String("cache-dir", "", "cache directory (config cache.dir; default $XDG_CACHE_HOME/verdict)")
	fl.String("cache-url", "", "PostgreSQL cache: postgres://... or \"host=... dbname=...\" (config cache.url)")
	_ = cmd.MarkFlagDirname("cache-dir")
	return cmd
}

// flagsSet names the given flags that set configuration keys.
func flagsSet(fs *pflag.FlagSet) []string {
	var out []string
	for _, k := range flagKeys {
		if fl := fs.Lookup(k.Flag); fl != nil && fl.Changed {
			out = append(out, "--"+k.Flag+" ("+k.Key+")")
		}
	}
	return out
}

// ErrChecksFailed is wrapped by the error of a doctor run in which a check
// failed: exit status 1.
var ErrChecksFailed = errors.New("checks failed")

// Run runs every check, prints the table (or JSON) on standard output, and
// returns an error (exit status 1) when any check failed.
func Run(ctx context.Context, o *Options) error {
	log := slog.Default()
	if o.Logger != nil && o.Logger() != nil {
		log = o.Logger()
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	v := o.Viper
	if v == nil {
		v = viper.New()
		config.Defaults(v)
	}
	ver, _, _ := version.Info()
	res := &Result{SchemaVersion: SchemaVersion, Tool: Tool{Name: "verdict", Version: ver},
		GeneratedAt: now().UTC().Format(time.RFC3339), Offline: o.Offline, Status: StatusOK,
		Counts: map[Status]int{StatusOK: 0, StatusWarn: 0, StatusFail: 0, StatusSkip: 0}}
	r := &runner{o: o, log: log, now: now().UTC(), res: res}
	for _, c := range r.checkConfig(v) {
		res.add(c)
	}
	if r.cfg == nil {
		for _, c := range []Check{
			skipAll("providers", SectionProviders, "providers"), skipAll("gemini", SectionGemini, "gemini"),
			skipAll("cache", SectionCache, "cache"), skipAll("feeds", SectionFeeds, "feeds"),
		} {
			res.add(c)
		}
	} else {
		// The cache first: the providers' quota figures come from it.
		cacheChecks := r.checkCache(ctx)
		defer func() {
			if r.store != nil {
				_ = r.store.Close()
			}
		}()
		var providers, gem []Check
		done := make(chan struct{})
		go func() { gem = r.checkGemini(ctx); close(done) }()
		providers = r.providerChecks(ctx)
		<-done
		for _, group := range [][]Check{providers, gem, cacheChecks, r.checkFeeds()} {
			for _, c := range group {
				res.add(c)
			}
		}
	}
	res.add(checkAttack())
	if err := ctx.Err(); err != nil {
		return err
	}

	var err error
	if o.JSON {
		err = writeJSON(o.IO.Out, res)
	} else {
		err = writeTable(o.IO.Out, res)
	}
	if err != nil {
		return fmt.Errorf("write doctor's report: %w", err)
	}
	if failed := res.failures(); len(failed) > 0 {
		return &cmdutil.ExitCodeError{Code: cmdutil.ExitError,
			Err: fmt.Errorf("%w: %d of %d (%s)", ErrChecksFailed, len(failed), len(res.Checks), strings.Join(failed, ", "))}
	}
	return nil
}
