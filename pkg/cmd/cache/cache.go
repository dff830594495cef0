// Package cache implements `verdict cache prune|stats|clear|migrate`.
package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/config"
	"github.com/verdict-dev/verdict/pkg/iostreams"
)

// Options holds the cache subcommands' inputs.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	// Logger gets the store's warnings (a healed corrupt file, a read-only
	// cache); a func because root builds the logger after the commands.
	Logger func() *slog.Logger

	OlderThan time.Duration
	JSON      bool
	To        string // migrate: a PostgreSQL URL, a directory or a database file
}

// NewCmdCache builds `verdict cache` and its subcommands.
func NewCmdCache(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache <command>",
		Short: "Inspect, maintain and move the lookup cache",
		Long: strings.TrimSpace(`
The cache holds provider answers, model classifications, the daily quota
counters and the claims on lookups in flight.

By default it is one SQLite database under cache.dir (default
$XDG_CACHE_HOME/verdict), shared by the verdict processes of one host. With
cache.url (--cache-url, VERDICT_CACHE_URL) set to a PostgreSQL URL or libpq
connection string, it is a PostgreSQL database shared by several hosts:
answers and daily quotas are then shared, and no indicator is asked twice
at the same time. PGPASSWORD, ~/.pgpass and sslmode work as for psql; the
password is never printed.`),
		Example: strings.TrimSpace(`
  verdict cache stats
  verdict cache prune --older-than 720h
  verdict cache clear
  verdict cache stats --cache-url postgres://verdict@db.internal/verdict?sslmode=verify-full
  verdict cache migrate --to postgres://verdict@db.internal/verdict`),
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if p := cmd.Root(); p.PersistentPreRunE != nil {
				if err := p.PersistentPreRunE(cmd, args); err != nil {
					return err
				}
			}
			return cmdutil.BindFlags(f, cmd.Flags(), []cmdutil.FlagKey{
				{Flag: "cache-dir", Key: "cache.dir"},
				{Flag: "cache-url", Key: "cache.url"},
			})
		},
	}
	cmd.PersistentFlags().String("cache-dir", "", "cache directory (config cache.dir; default $XDG_CACHE_HOME/verdict)")
	cmd.PersistentFlags().String("cache-url", "", "PostgreSQL cache shared by several hosts: postgres://... or \"host=... dbname=...\" (config cache.url)")
	cmd.AddCommand(NewCmdPrune(f, nil), NewCmdStats(f, nil), NewCmdClear(f, nil), newCmdMigrate(f))
	return cmd
}

func options(f *cmdutil.Factory) *Options {
	return &Options{
		IO:     f.IOStreams,
		Config: f.Config,
		Logger: func() *slog.Logger { return f.Logger },
	}
}

func (o *Options) logger() *slog.Logger {
	if o.Logger == nil {
		return nil
	}
	return o.Logger()
}

// open opens the configured store: cache.url, else cache.dir.
func open(ctx context.Context, o *Options) (cache.Store, error) {
	cfg, err := o.Config()
	if err != nil {
		return nil, cmdutil.InputError(err)
	}
	s, err := cache.OpenStore(ctx, cache.StoreOptions{URL: cfg.Cache.URL.Reveal(), Dir: cfg.Cache.Dir, Logger: o.logger()})
	if errors.Is(err, cache.ErrBadURL) {
		return nil, cmdutil.InputError(err)
	}
	return s, err
}

// NewCmdPrune builds `verdict cache prune`; runF, when set, receives the
// options instead of the command running (tests).
func NewCmdPrune(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := options(f)
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Drop expired entries (and, with --older-than, entries fetched longer ago)",
		Example: strings.TrimSpace(`
  # Drop answers past their TTL
  verdict cache prune

  # Also drop anything fetched more than 30 days ago
  verdict cache prune --older-than 720h`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.OlderThan < 0 {
				return cmdutil.FlagErrorf("--older-than must be positive")
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return pruneRun(cmd.Context(), o)
		},
	}
	cmd.Flags().DurationVar(&o.OlderThan, "older-than", 0, "also drop entries fetched longer ago than this (e.g. 72h)")
	return cmd
}

func pruneRun(ctx context.Context, o *Options) (err error) {
	if o.OlderThan < 0 {
		return cmdutil.FlagErrorf("--older-than must be positive")
	}
	c, err := open(ctx, o)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.Close()) }()
	n, err := c.Prune(ctx, o.OlderThan)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "pruned %d entries from %s\n", n, c.Describe())
	return nil
}

// NewCmdStats builds `verdict cache stats`; runF as for NewCmdPrune.
func NewCmdStats(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := options(f)
	cmd := &cobra.Command{
		Use:     "stats",
		Short:   "Show entries, size, hit/miss counters and today's quota, per provider and IOC type",
		Example: "  verdict cache stats\n  verdict cache stats --json | jq .entries",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return statsRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON on standard output")
	return cmd
}

func statsRun(ctx context.Context, o *Options) (err error) {
	c, err := open(ctx, o)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.Close()) }()
	st, err := c.Stats(ctx)
	if err != nil {
		return err
	}
	if o.JSON {
		if st.Groups == nil {
			st.Groups = []cache.GroupStats{}
		}
		enc := json.NewEncoder(o.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printStats(o.IO.Out, st)
	return nil
}

func printStats(w io.Writer, st cache.Stats) {
	fmt.Fprintf(w, "cache: %s", st.Path)
	if st.ReadOnly {
		fmt.Fprint(w, " (read-only)")
	}
	where := "on disk"
	if st.Backend == "postgres" {
		where = "in PostgreSQL"
	}
	fmt.Fprintf(w, "\nentries: %d (%d expired), %s %s\n\n", st.Entries, st.Expired, cmdutil.HumanBytes(st.SizeBytes), where)
	if len(st.Groups) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PROVIDER\tTYPE\tENTRIES\tNOT FOUND\tEXPIRED\tBYTES\tHITS\tMISSES\tHIT RATE\t")
		for _, g := range st.Groups {
			rate := "-"
			if g.Hits+g.Misses > 0 {
				rate = fmt.Sprintf("%.0f%%", 100*float64(g.Hits)/float64(g.Hits+g.Misses))
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%d\t%d\t%s\t\n", g.Provider, g.Type, g.Entries, g.NotFound, g.Expired, cmdutil.HumanBytes(g.Bytes), g.Hits, g.Misses, rate)
		}
		tw.Flush()
	}
	for _, q := range st.QuotaUsed {
		fmt.Fprintf(w, "quota today (%s UTC): %s used %d requests\n", q.Day, q.Provider, q.Used)
	}
}

// NewCmdClear builds `verdict cache clear`; runF as for NewCmdPrune.
func NewCmdClear(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := options(f)
	return &cobra.Command{
		Use:     "clear",
		Short:   "Empty the cache (answers, classifications and hit counters; today's quota count stays)",
		Example: "  verdict cache clear",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return clearRun(cmd.Context(), o)
		},
	}
}

func clearRun(ctx context.Context, o *Options) (err error) {
	c, err := open(ctx, o)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.Close()) }()
	st, err := c.Stats(ctx)
	if err != nil {
		return err
	}
	if err := c.Clear(ctx); err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "cleared %d entries from %s\n", st.Entries, c.Describe())
	return nil
}

func newCmdMigrate(f *cmdutil.Factory) *cobra.Command {
	o := options(f)
	cmd := &cobra.Command{
		Use:   "migrate --to TARGET",
		Short: "Copy the cache into PostgreSQL, or into a SQLite file or directory",
		Long: strings.TrimSpace(`
Copy the configured cache (cache.url, else cache.dir) into TARGET: a
PostgreSQL URL or libpq connection string, a directory (the database is
DIR/verdict-cache.db) or a database file.

Fresh answers, hit/miss counters and the quota counts are copied; expired
answers are left behind. Copying merges: an answer replaces one in TARGET
only if it was fetched later, and counts take the larger value, so running
it twice changes nothing. Claims of running processes are not copied.`),
		Example: strings.TrimSpace(`
  # One host's SQLite cache into the team's PostgreSQL
  verdict cache migrate --to postgres://verdict@db.internal/verdict

  # The shared cache back into a local file
  verdict cache migrate --cache-url postgres://verdict@db.internal/verdict --to ~/verdict-cache`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(o.To) == "" {
				return cmdutil.FlagErrorf("--to is required: a PostgreSQL URL, a directory or a database file")
			}
			return migrateRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.To, "to", "", "where to copy the cache: postgres://..., \"host=... dbname=...\", a directory or a .db file")
	return cmd
}

// targetOptions turns --to into store options: a PostgreSQL connection
// string, an existing directory, a path that looks like a database file
// (an existing file, or a .db/.sqlite/.sqlite3 name), or else a directory.
func targetOptions(to string) cache.StoreOptions {
	to = strings.TrimSpace(to)
	if cache.IsPostgresURL(to) {
		return cache.StoreOptions{URL: to}
	}
	if st, err := os.Stat(to); err == nil {
		if st.IsDir() {
			return cache.StoreOptions{Dir: to}
		}
		return cache.StoreOptions{File: to}
	}
	switch strings.ToLower(filepath.Ext(to)) {
	case ".db", ".sqlite", ".sqlite3":
		return cache.StoreOptions{File: to}
	}
	return cache.StoreOptions{Dir: to}
}

func migrateRun(ctx context.Context, o *Options) (err error) {
	src, err := open(ctx, o)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, src.Close()) }()
	to := targetOptions(o.To)
	if to.URL == "" && strings.Contains(o.To, "://") {
		return cmdutil.FlagErrorf("--to %s: %v", redactURL(o.To), cache.ErrBadURL)
	}
	to.Logger = o.logger()
	dst, err := cache.OpenStore(ctx, to)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, dst.Close()) }()
	st, err := cache.Copy(ctx, dst, src)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "copied %d entries (%d expired left behind), %d counter rows and %d quota days from %s to %s\n",
		st.Entries, st.Expired, st.Counters, st.QuotaDays, src.Describe(), dst.Describe())
	return nil
}

// redactURL drops the userinfo of something URL-shaped, for an error
// message about a --to that is not PostgreSQL.
func redactURL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		rest = "xxxxx@" + rest[at+1:]
	}
	return scheme + "://" + rest
}
