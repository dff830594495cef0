// Package classify implements `verdict classify`: everything enrich does,
// plus a classification per alert from Gemini (or, with no key, offline, or
// past the budget, from deterministic heuristics). Given a JSON report
// written by enrich, it only adds classifications and makes no lookup. It
// is enrich's command with the pipeline's classification stage.
package classify

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	enrichCmd "github.com/verdict-dev/verdict/pkg/cmd/enrich"
	"github.com/verdict-dev/verdict/pkg/cmdutil"
)

// NewCmdClassify builds `verdict classify`.
func NewCmdClassify(f *cmdutil.Factory, runF func(context.Context, *enrichCmd.Options) error) *cobra.Command {
	opts := &enrichCmd.Options{Classify: true}
	cmd := &cobra.Command{
		Use:   "classify FILE...",
		Short: "Enrich and add a Gemini verdict (TRUE_POSITIVE, FALSE_POSITIVE, NEEDS_REVIEW) per alert",
		Long: strings.TrimSpace(`
Run everything enrich does, then classify each alert as TRUE_POSITIVE,
FALSE_POSITIVE or NEEDS_REVIEW with a confidence, three reasons, ATT&CK
techniques and a next step.

The classification comes from Gemini when gemini.api_key (or GEMINI_API_KEY)
is set, and from deterministic heuristics otherwise, offline, past
gemini.max_cost_usd, or when the model fails; the report says which and why.
Alerts identical but for ids and timestamps share one request, and answers are
cached, so a rerun costs nothing. Alert text is treated as untrusted data, and
a FALSE_POSITIVE never stands against a MALICIOUS risk verdict.

Given a JSON report written by enrich, classify only adds classifications:
no lookup is made.`),
		Example: strings.TrimSpace(`
  # Enrich and classify, with keys from the environment
  GEMINI_API_KEY=... verdict classify --feeds /srv/feeds alerts.ndjson

  # Classify an existing enrich report (no new lookups)
  verdict classify reports/verdict-20261123-020000.json

  # What would it cost?
  verdict classify --dry-run alerts.ndjson

  # Nightly, at half price: one Batch API job, answers within hours
  verdict classify --batch --feeds /srv/feeds /var/log/alerts/today.ndjson

  # Heuristic classifications only, nothing leaves the machine
  verdict classify --offline --feeds samples/feeds samples/alerts/*`),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmdutil.FlagErrorf("give at least one alert file, a JSON report, or - for standard input")
			}
			return nil
		},
	}
	enrichCmd.Wire(cmd, f, opts, runF)
	cmd.Flags().BoolVar(&opts.Batch, "batch", false, "send the model requests as one Gemini Batch API job: half price, answers within hours (the command waits)")
	return cmd
}
