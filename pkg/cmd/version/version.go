// Package version implements `verdict version`.
package version

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/verdict-dev/verdict/pkg/attack"
	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/version"
)

// NewCmdVersion builds `verdict version`.
func NewCmdVersion(f *cmdutil.Factory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print the version, commit and build date",
		Example: "  verdict version\n  verdict version --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, c, d := version.Info()
			out := f.IOStreams.Out
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]string{"version": v, "commit": c, "date": d, "go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH,
					"attack": attack.Attribution()})
			}
			fmt.Fprintf(out, "verdict %s\ncommit: %s\nbuilt:  %s\ngo:     %s %s/%s\n", v, c, d, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			// MITRE's terms ask for the copyright designation with any copy of
			// ATT&CK, and the binary embeds one.
			fmt.Fprintf(out, "attack: %s\n", attack.Attribution())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}
