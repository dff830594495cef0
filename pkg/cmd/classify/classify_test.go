package classify

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	enrichCmd "github.com/verdict-dev/verdict/pkg/cmd/enrich"
	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/iostreams"
)

func TestNewCmdClassify(t *testing.T) {
	tests := []struct {
		name     string
		cli      string
		want     func(t *testing.T, o *enrichCmd.Options)
		wantsErr string
	}{
		{name: "happy path: alert files get the classification stage", cli: "a.ndjson b.csv", want: func(t *testing.T, o *enrichCmd.Options) {
			assert.True(t, o.Classify)
			assert.Equal(t, []string{"a.ndjson", "b.csv"}, o.Files)
			assert.NotNil(t, o.Classifier, "the factory's classifier is wired")
		}},
		{name: "happy path: a report and the shared flags", cli: "--dry-run --offline --fail-on malicious -f md reports/r.json", want: func(t *testing.T, o *enrichCmd.Options) {
			assert.True(t, o.Classify && o.DryRun && o.Offline)
			assert.Equal(t, "MALICIOUS", o.FailOn)
			assert.Equal(t, []string{"reports/r.json"}, o.Files)
		}},
		{name: "sad path: nothing to classify", cli: "", wantsErr: "give at least one alert file, a JSON report, or - for standard input"},
		{name: "sad path: bad fail-on", cli: "--fail-on bad x", wantsErr: `--fail-on: unknown verdict "bad"`},
		{name: "sad path: offline refresh", cli: "--offline --refresh x", wantsErr: "--offline cannot refresh"},
		{name: "sad path: unknown flag", cli: "--model x y", wantsErr: "unknown flag: --model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			var got *enrichCmd.Options
			cmd := NewCmdClassify(cmdutil.NewFactory(ios), func(_ context.Context, o *enrichCmd.Options) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(tt.cli))
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			_, err := cmd.ExecuteC()
			if tt.wantsErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantsErr)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			tt.want(t, got)
		})
	}
}
