// Package version implements `verdict version`.
package version

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/verdict-dev/verdict/pkg/attack"
	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/version"
)

// Options holds `verdict version`'s inputs.
type Options struct {
	Out  io.Writer
	JSON bool
}

// NewCmdVersion builds `verdict version`; runF, when set, receives the
// options instead of the command running (tests).
func NewCmdVersion(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print the version, commit and build date",
		Example: "  verdict version\n  verdict version --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Out = f.IOStreams.Out
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return versionRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

func versionRun(o *Options) error {
	v, c, d := version.Info()
	if o.JSON {
		enc := json.NewEncoder(o.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]string{"version": v, "commit": c, "date": d, "go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH,
			"attack": attack.Attribution()})
	}
	// MITRE's terms ask for the copyright designation with any copy of
	// ATT&CK, and the binary embeds one.
	_, err := fmt.Fprintf(o.Out, "verdict %s\ncommit: %s\nbuilt:  %s\ngo:     %s %s/%s\nattack: %s\n", v, c, d, runtime.Version(), runtime.GOOS, runtime.GOARCH, attack.Attribution())
	return err
}
