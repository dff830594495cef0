// Package feeds implements `verdict feeds update` and `verdict feeds list`:
// downloading the well-known free threat-intel feeds into a feeds
// directory, within each publisher's terms.
package feeds

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/config"
	"github.com/verdict-dev/verdict/pkg/intel/feed"
	"github.com/verdict-dev/verdict/pkg/iostreams"
	"github.com/verdict-dev/verdict/pkg/report"
)

// Options holds the feeds subcommands' inputs.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Logger func() *slog.Logger
	Now    func() time.Time

	Dir     string
	Force   bool
	Offline bool
	JSON    bool
	Names   []string // feeds to update; none means all
	// Sources replaces the catalog (tests point it at a fake server).
	Sources []feed.Source
}

// NewCmdFeeds builds `verdict feeds` and its subcommands.
func NewCmdFeeds(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "feeds <command>",
		Short: "Download the well-known free threat-intel feeds, within their publishers' terms",
		Long: strings.TrimSpace(`
verdict reads local blocklist feeds (feeds.dirs, --feeds) and weighs each
listing by its feed's category. 'verdict feeds update' keeps the well-known
free feeds fresh in a feeds directory: abuse.ch Feodo Tracker, Spamhaus DROP
(IPv4 and IPv6), the Tor exit list, FireHOL level 1, URLhaus (recent URLs)
and, with an abuse.ch Auth-Key, ThreatFox (recent IOCs).`),
		Example: strings.TrimSpace(`
  verdict feeds list
  verdict feeds update --dir /srv/feeds
  verdict feeds update feodo spamhaus-drop-v4`),
	}
	cmd.AddCommand(NewCmdUpdate(f, nil), NewCmdList(f, nil))
	return cmd
}

func options(f *cmdutil.Factory) *Options {
	// The wall clock, never the factory's: SOURCE_DATE_EPOCH fixes report
	// times, and would make every feed look fetched in the past.
	return &Options{
		IO: f.IOStreams, Config: f.Config, Now: time.Now,
		Logger: func() *slog.Logger { return f.Logger },
	}
}

// NewCmdUpdate builds `verdict feeds update`; runF, when set, receives the
// options instead of the command running (tests).
func NewCmdUpdate(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := options(f)
	cmd := &cobra.Command{
		Use:   "update [FEED...]",
		Short: "Download the well-known free feeds into the feeds directory",
		Long: strings.TrimSpace(`
Download the well-known free feeds (see 'verdict feeds list') into the feeds
directory: --dir, else the first of feeds.dirs.

Each download is a conditional GET (ETag, Last-Modified): a feed the
publisher has not changed is not downloaded again. A new file is checked as
that feed's format, complete, before it replaces the old one (atomically);
a failed download (an error, an HTML page, garbage, a file cut short) keeps
the old file. When each feed was fetched is recorded in the directory's
` + feed.StateFile + `, which dates the feeds in reports and 'verdict doctor'.

Publishers ask that their feeds be fetched no more often than a given
interval (abuse.ch: 5 minutes; Spamhaus: an hour). verdict waits at least
that long, usually longer, and skips a feed asked too recently unless
--force is given.

ThreatFox needs an abuse.ch Auth-Key (free at https://auth.abuse.ch/):
threatfox.api_key, else urlhaus.api_key (one key serves every abuse.ch
platform; both also read ABUSECH_API_KEY). It is sent only in the Auth-Key header,
and only to abuse.ch.

Exit status 1 when any feed failed to download (the others are updated).`),
		Example: strings.TrimSpace(`
  # Cron, before the nightly batch
  verdict feeds update --dir /srv/feeds

  # Only Spamhaus, now, whatever the interval
  verdict feeds update --force spamhaus-drop-v4 spamhaus-drop-v6`),
		ValidArgs: feed.SourceNames(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Offline {
				return cmdutil.FlagErrorf("feeds update downloads feeds and never runs with --offline; drop --offline (enrich --offline reads the feeds it left)")
			}
			for _, a := range args {
				if !slices.Contains(feed.SourceNames(), a) {
					return cmdutil.FlagErrorf("unknown feed %q: valid feeds are %s", a, strings.Join(feed.SourceNames(), ", "))
				}
			}
			o.Names = args
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return updateRun(cmd.Context(), o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Dir, "dir", "", "feeds directory (default: the first of feeds.dirs)")
	fl.BoolVar(&o.Force, "force", false, "fetch feeds asked more recently than their publisher's interval")
	fl.BoolVar(&o.Offline, "offline", false, "refused: feeds update needs the network")
	fl.BoolVar(&o.JSON, "json", false, "print the outcome as JSON on standard output")
	_ = cmd.MarkFlagDirname("dir")
	return cmd
}

// dir is --dir, else the first of feeds.dirs.
func (o *Options) dir(cfg *config.Config) (string, error) {
	if o.Dir != "" {
		return o.Dir, nil
	}
	if len(cfg.Feeds.Dirs) > 0 {
		d := cfg.Feeds.Dirs[0]
		if st, err := os.Stat(d); err == nil && !st.IsDir() {
			return "", cmdutil.FlagErrorf("feeds.dirs starts with %s, a file, not a directory: give --dir DIR", d)
		}
		return d, nil
	}
	return "", cmdutil.FlagErrorf("no feeds directory: give --dir DIR, or set feeds.dirs in the config file (or %s=DIR); enrich reads the same directory", config.EnvName("feeds.dirs"))
}

// AuthKey is the abuse.ch Auth-Key: abuse.ch gives one key for all its
// platforms, so whichever provider holds it serves the ThreatFox download.
func (o *Options) AuthKey(cfg *config.Config) string {
	for _, name := range []string{"threatfox", "urlhaus"} {
		if p := cfg.Provider(name); p != nil && p.APIKey != "" {
			return p.APIKey.Reveal()
		}
	}
	return ""
}

func (o *Options) sources() []feed.Source {
	all := o.Sources
	if all == nil {
		all = feed.Sources()
	}
	if len(o.Names) == 0 {
		return all
	}
	var out []feed.Source
	for _, s := range all {
		if slices.Contains(o.Names, s.Name) {
			out = append(out, s)
		}
	}
	return out
}

func (o *Options) logger() *slog.Logger {
	if o.Logger != nil {
		if l := o.Logger(); l != nil {
			return l
		}
	}
	return slog.Default()
}

// output is the --json shape of `feeds update`.
type output struct {
	Dir   string         `json:"dir"`
	Feeds []feed.Outcome `json:"feeds"`
}

func updateRun(ctx context.Context, o *Options) error {
	cfg, err := o.Config()
	if err != nil {
		return cmdutil.InputError(err)
	}
	dir, err := o.dir(cfg)
	if err != nil {
		return err
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	outcomes, err := feed.Update(ctx, feed.UpdateOptions{
		Dir: dir, Sources: o.sources(), Force: o.Force, AuthKey: o.AuthKey(cfg),
		Now: now, Logger: o.logger(),
	})
	if err != nil {
		return fmt.Errorf("update feeds in %s: %w", dir, err)
	}
	if o.JSON {
		enc := json.NewEncoder(o.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(output{Dir: dir, Feeds: outcomes}); err != nil {
			return err
		}
	} else {
		printOutcomes(o.IO.Out, dir, outcomes)
	}
	failed := 0
	for _, oc := range outcomes {
		if oc.Result == feed.Failed {
			failed++
		}
	}
	if failed > 0 {
		return &cmdutil.ExitCodeError{Code: cmdutil.ExitError,
			Err: fmt.Errorf("%d of %d feeds failed to update; their old files are kept", failed, len(outcomes))}
	}
	return nil
}

func printOutcomes(w io.Writer, dir string, outcomes []feed.Outcome) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FEED\tRESULT\tENTRIES\tNOTE")
	counts := map[feed.Result]int{}
	for _, oc := range outcomes {
		counts[oc.Result]++
		entries := "-"
		if oc.Entries > 0 || oc.Result == feed.Updated {
			entries = fmt.Sprint(oc.Entries)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", oc.Source, strings.ReplaceAll(string(oc.Result), "_", " "), entries, report.SanitizeLine(oc.Note))
	}
	tw.Flush()
	fmt.Fprintf(w, "%s: %d updated, %d not modified, %d skipped, %d failed\n", report.SanitizeLine(dir),
		counts[feed.Updated], counts[feed.NotModified], counts[feed.Skipped], counts[feed.Failed])
}

// NewCmdList builds `verdict feeds list`: the catalog, with each feed's
// file, interval, key and terms.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := options(f)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the feeds 'feeds update' downloads: file, interval, key and publisher's terms",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return listRun(o)
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print as JSON on standard output")
	return cmd
}

// listed is one catalog entry as `feeds list --json` prints it.
type listed struct {
	Name               string `json:"name"`
	Title              string `json:"title"`
	URL                string `json:"url"`
	File               string `json:"file"`
	MinIntervalSeconds int64  `json:"min_interval_seconds"`
	Key                string `json:"key"`
	Terms              string `json:"terms"`
	Asks               string `json:"publisher_asks"`
}

func listRun(o *Options) error {
	srcs := o.sources()
	if o.JSON {
		out := make([]listed, 0, len(srcs))
		for _, s := range srcs {
			out = append(out, listed{s.Name, s.Title, s.URL, s.File, int64(s.MinInterval / time.Second), keyWord(s.Key), s.Terms, s.Asks})
		}
		enc := json.NewEncoder(o.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(o.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FEED\tFILE\tEVERY\tKEY\tSOURCE")
	for _, s := range srcs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.File, feed.FormatAge(s.MinInterval), keyWord(s.Key), s.URL)
	}
	tw.Flush()
	fmt.Fprintln(o.IO.Out, "\nTerms:")
	for _, s := range srcs {
		fmt.Fprintf(o.IO.Out, "  %s: %s; %s\n", s.Name, s.Asks, s.Terms)
	}
	return nil
}

func keyWord(k feed.KeyUse) string {
	switch k {
	case feed.KeyRequired:
		return "abuse.ch Auth-Key (required)"
	case feed.KeyOptional:
		return "abuse.ch Auth-Key (sent if set)"
	}
	return "none"
}
