// Package cache implements `verdict cache prune|stats|clear`.
package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	IO        *iostreams.IOStreams
	Config    func() (*config.Config, error)
	OlderThan time.Duration
	JSON      bool
}

// NewCmdCache builds `verdict cache` and its subcommands.
func NewCmdCache(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache <command>",
		Short: "Inspect and maintain the lookup cache",
		Long: strings.TrimSpace(`
The cache is one SQLite database under cache.dir (default $XDG_CACHE_HOME/verdict)
holding provider answers, model classifications and the daily quota counters.
Several verdict processes can use it at once.`),
		Example: "  verdict cache stats\n  verdict cache prune --older-than 720h\n  verdict cache clear",
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if p := cmd.Root(); p.PersistentPreRunE != nil {
				if err := p.PersistentPreRunE(cmd, args); err != nil {
					return err
				}
			}
			return cmdutil.BindFlags(f, cmd.Flags(), []cmdutil.FlagKey{{Flag: "cache-dir", Key: "cache.dir"}})
		},
	}
	cmd.PersistentFlags().String("cache-dir", "", "cache directory (config cache.dir; default $XDG_CACHE_HOME/verdict)")
	cmd.AddCommand(NewCmdPrune(f, nil), NewCmdStats(f, nil), NewCmdClear(f, nil))
	return cmd
}

func options(f *cmdutil.Factory) *Options {
	return &Options{IO: f.IOStreams, Config: f.Config}
}

func open(o *Options) (*cache.SQLite, error) {
	cfg, err := o.Config()
	if err != nil {
		return nil, cmdutil.InputError(err)
	}
	return cache.Open(cfg.Cache.Dir)
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

// closeInto closes the cache and joins a failure (unflushed counters) into
// the command's error instead of dropping it.
func closeInto(c *cache.SQLite, err *error) {
	if cerr := c.Close(); cerr != nil {
		*err = errors.Join(*err, fmt.Errorf("close cache: %w", cerr))
	}
}

func pruneRun(ctx context.Context, o *Options) (err error) {
	c, err := open(o)
	if err != nil {
		return err
	}
	defer closeInto(c, &err)
	n, err := c.Prune(ctx, o.OlderThan)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "pruned %d entries from %s\n", n, c.Path())
	return nil
}

// NewCmdStats builds `verdict cache stats`; runF as for NewCmdPrune.
func NewCmdStats(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := options(f)
	cmd := &cobra.Command{
		Use:     "stats",
		Short:   "Show entries, size on disk, hit/miss counters and today's quota, per provider and IOC type",
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
	c, err := open(o)
	if err != nil {
		return err
	}
	defer closeInto(c, &err)
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
	fmt.Fprintf(w, "cache: %s\n", st.Path)
	fmt.Fprintf(w, "entries: %d (%d expired), %s on disk\n\n", st.Entries, st.Expired, humanBytes(st.SizeBytes))
	if len(st.Groups) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PROVIDER\tTYPE\tENTRIES\tNOT FOUND\tEXPIRED\tBYTES\tHITS\tMISSES\tHIT RATE\t")
		for _, g := range st.Groups {
			rate := "-"
			if g.Hits+g.Misses > 0 {
				rate = fmt.Sprintf("%.0f%%", 100*float64(g.Hits)/float64(g.Hits+g.Misses))
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%d\t%d\t%s\t\n", g.Provider, g.Type, g.Entries, g.NotFound, g.Expired, humanBytes(g.Bytes), g.Hits, g.Misses, rate)
		}
		tw.Flush()
	}
	for _, q := range st.QuotaUsed {
		fmt.Fprintf(w, "quota today (%s UTC): %s used %d requests\n", q.Day, q.Provider, q.Used)
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
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
	c, err := open(o)
	if err != nil {
		return err
	}
	defer closeInto(c, &err)
	st, err := c.Stats(ctx)
	if err != nil {
		return err
	}
	if err := c.Clear(ctx); err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "cleared %d entries from %s\n", st.Entries, c.Path())
	return nil
}
