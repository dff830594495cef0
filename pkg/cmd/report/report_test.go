package report

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/iostreams"
	"github.com/verdict-dev/verdict/pkg/report"
)

func TestNewCmdReport(t *testing.T) {
	tests := []struct {
		name     string
		cli      string
		want     func(t *testing.T, o *Options)
		wantsErr string
	}{
		{name: "happy path: defaults", cli: "r.json", want: func(t *testing.T, o *Options) {
			assert.Equal(t, "r.json", o.File)
			assert.Equal(t, []report.Format{report.FormatTXT, report.FormatHTML}, o.Output.Formats)
			assert.Equal(t, "reports", o.Output.Dir)
			assert.Empty(t, o.Output.Name)
			assert.NotNil(t, o.Config)
		}},
		{name: "happy path: template to stdout", cli: "--template t.md.tmpl --stdout template r.json", want: func(t *testing.T, o *Options) {
			assert.Equal(t, "template", o.Output.Stdout)
			assert.Equal(t, "t.md.tmpl", o.Output.Template)
		}},
		{name: "happy path: formats and names", cli: "-f csv,md -o out --output-name x r.json", want: func(t *testing.T, o *Options) {
			assert.Equal(t, []report.Format{report.FormatCSV, report.FormatMarkdown}, o.Output.Formats)
			assert.Equal(t, "out", o.Output.Dir)
			assert.Equal(t, "x", o.Output.Name)
		}},
		{name: "sad path: no report", cli: "", wantsErr: "give exactly one JSON report"},
		{name: "sad path: two reports", cli: "a.json b.json", wantsErr: "give exactly one JSON report"},
		{name: "sad path: bad format", cli: "-f pdf r.json", wantsErr: `--format: unknown format "pdf"`},
		{name: "sad path: template without a file", cli: "--stdout template r.json", wantsErr: "--stdout template needs --template FILE"},
		{name: "sad path: unknown flag", cli: "--offline r.json", wantsErr: "unknown flag: --offline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			var got *Options
			cmd := NewCmdReport(cmdutil.NewFactory(ios), func(_ context.Context, o *Options) error { got = o; return nil })
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
