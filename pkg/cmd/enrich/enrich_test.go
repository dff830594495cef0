package enrich

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cmdutil"
	_ "github.com/verdict-dev/verdict/pkg/intel/all" // the built-in providers, as in the binary
	"github.com/verdict-dev/verdict/pkg/iostreams"
	"github.com/verdict-dev/verdict/pkg/report"
)

// TestNewCmdEnrich turns argv into options through the runF hook (gh's
// first layer): flags, defaults, normalisation and the messages for bad
// flags.
func TestNewCmdEnrich(t *testing.T) {
	tests := []struct {
		name     string
		cli      string
		want     func(t *testing.T, o *Options, f *cmdutil.Factory)
		wantsErr string
	}{
		{name: "happy path: files and defaults", cli: "a.json b.ndjson", want: func(t *testing.T, o *Options, _ *cmdutil.Factory) {
			assert.Equal(t, []string{"a.json", "b.ndjson"}, o.Files)
			assert.Equal(t, "reports", o.Output.Dir)
			assert.Equal(t, []report.Format{report.FormatJSON, report.FormatTXT, report.FormatHTML}, o.Output.Formats)
			assert.Equal(t, "auto", o.InputFormat)
			assert.Equal(t, "MALICIOUS", o.Output.BlocklistMin)
			assert.Empty(t, o.FailOn)
			assert.False(t, o.Classify)
			assert.NotNil(t, o.Engine, "the factory's lazy dependencies are wired")
			assert.NotNil(t, o.Close)
		}},
		{name: "happy path: fail-on is normalised", cli: "--fail-on potentially-suspicious x", want: func(t *testing.T, o *Options, _ *cmdutil.Factory) {
			assert.Equal(t, "POTENTIALLY_SUSPICIOUS", o.FailOn)
		}},
		{name: "happy path: fail-on-unchecked", cli: "--fail-on-unchecked x", want: func(t *testing.T, o *Options, _ *cmdutil.Factory) {
			assert.True(t, o.FailOnUnchecked)
		}},
		{name: "happy path: input format, case-insensitive", cli: "--input-format NDJSON -", want: func(t *testing.T, o *Options, _ *cmdutil.Factory) {
			assert.Equal(t, "ndjson", o.InputFormat)
			assert.Equal(t, []string{"-"}, o.Files)
		}},
		{name: "happy path: switches", cli: "--offline --no-cache --strict --dry-run x", want: func(t *testing.T, o *Options, _ *cmdutil.Factory) {
			assert.True(t, o.Offline && o.NoCache && o.Strict && o.DryRun)
			assert.False(t, o.Refresh)
		}},
		{name: "happy path: ids per file", cli: "--id-per-file a.json b.json", want: func(t *testing.T, o *Options, _ *cmdutil.Factory) {
			assert.True(t, o.IDPerFile)
		}},
		{name: "happy path: outputs", cli: "-o /srv/r --output-name nightly -f json,md --stdout csv --export-blocklist b.txt --blocklist-min suspicious x",
			want: func(t *testing.T, o *Options, _ *cmdutil.Factory) {
				assert.Equal(t, "/srv/r", o.Output.Dir)
				assert.Equal(t, "nightly", o.Output.Name)
				assert.Equal(t, []report.Format{report.FormatJSON, report.FormatMarkdown}, o.Output.Formats)
				assert.Equal(t, "csv", o.Output.Stdout)
				assert.Equal(t, "b.txt", o.Output.ExportBlocklist)
				assert.Equal(t, "SUSPICIOUS", o.Output.BlocklistMin)
			}},
		{name: "happy path: --feeds and --cache-dir set config keys", cli: "--feeds /a --feeds /b --cache-dir /c x", want: func(t *testing.T, _ *Options, f *cmdutil.Factory) {
			assert.Equal(t, []string{"/a", "/b"}, f.Viper.GetStringSlice("feeds.dirs"))
			assert.Equal(t, "/c", f.Viper.GetString("cache.dir"))
		}},
		{name: "sad path: no files", cli: "", wantsErr: "give at least one alert file (or - for standard input)"},
		{name: "sad path: bad verdict", cli: "--fail-on EVIL x", wantsErr: `--fail-on: unknown verdict "EVIL"`},
		{name: "sad path: bad input format", cli: "--input-format xml x", wantsErr: "valid values are auto, json, ndjson, csv"},
		{name: "sad path: bad report format", cli: "-f json,pdf x", wantsErr: `--format: unknown format "pdf"`},
		{name: "sad path: bad stdout format", cli: "--stdout docx x", wantsErr: "--stdout:"},
		{name: "sad path: template output without a template", cli: "--stdout template x", wantsErr: "--stdout template needs --template FILE"},
		{name: "sad path: output name with a directory", cli: "--output-name ../x x", wantsErr: "--output-name must be a file name without directories"},
		{name: "sad path: offline refresh", cli: "--offline --refresh x", wantsErr: "--offline cannot refresh answers: drop --refresh"},
		{name: "sad path: no-cache and refresh", cli: "--no-cache --refresh x", wantsErr: "[no-cache refresh]"},
		{name: "sad path: bad blocklist threshold", cli: "--blocklist-min high x", wantsErr: "--blocklist-min: unknown verdict"},
		{name: "sad path: unknown flag", cli: "--bogus x", wantsErr: "unknown flag: --bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := cmdutil.NewFactory(ios)
			var got *Options
			cmd := NewCmdEnrich(f, func(_ context.Context, o *Options) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(tt.cli))
			cmd.SetIn(&bytes.Buffer{})
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			_, err := cmd.ExecuteC()
			if tt.wantsErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantsErr)
				assert.Nil(t, got, "runF is not reached")
				return
			}
			require.NoError(t, err)
			require.NotNil(t, got)
			tt.want(t, got, f)
		})
	}
}

// TestEnrichRun runs the real run function (gh's second layer) offline,
// with buffers for streams, on a terminal and off one.
func TestEnrichRun(t *testing.T) {
	for _, k := range []string{"XDG_CACHE_HOME", "XDG_CONFIG_HOME"} {
		t.Setenv(k, t.TempDir())
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1795305600")
	dir := t.TempDir()
	alerts := filepath.Join(dir, "a.ndjson")
	require.NoError(t, os.WriteFile(alerts, []byte(`{"id":"a1","dst":"185.220.101.1"}`+"\n"+`{"id":"a2","src":"10.0.0.1"}`+"\n"), 0o644))
	tests := []struct {
		name       string
		tty, quiet bool
		args       []string
		wantStdout string
		wantStderr []string
		noStderr   []string
	}{
		{name: "happy path: summary on a terminal", tty: true, args: []string{"-o", dir, "--output-name", "tty", "-f", "json"},
			wantStderr: []string{"2 alerts: 0 MALICIOUS", "ALERT ID", "Reports:", filepath.Join(dir, "tty.json")}},
		{name: "happy path: the same without a terminal", args: []string{"-o", dir, "--output-name", "pipe", "-f", "json"},
			wantStderr: []string{"2 alerts:", filepath.Join(dir, "pipe.json")}},
		{name: "happy path: quiet prints nothing", quiet: true, args: []string{"-o", dir, "--output-name", "quiet", "-f", "json"}, noStderr: []string{"ALERT ID", "Reports:"}},
		{name: "happy path: stdout carries the report", args: []string{"--stdout", "csv"}, wantStdout: "a1"},
		{name: "happy path: dry run prints the plan", args: []string{"--dry-run"}, wantStderr: []string{"dry run: 2 alerts, 1 indicators to look up", "PROVIDER", "virustotal", "skipped: offline"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, out, errOut := iostreams.Test()
			ios.SetStderrTTY(tt.tty)
			ios.SetQuiet(tt.quiet)
			f := cmdutil.NewFactory(ios)
			f.Logger = slog.New(slog.NewTextHandler(errOut, nil))
			cmd := NewCmdEnrich(f, nil)
			cmd.SetArgs(append(append([]string{"--offline"}, tt.args...), alerts))
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			require.NoError(t, cmd.Execute(), errOut.String())
			if tt.wantStdout != "" {
				assert.Contains(t, out.String(), tt.wantStdout)
			} else {
				assert.Empty(t, out.String(), "stdout only carries --stdout reports")
			}
			for _, s := range tt.wantStderr {
				assert.Contains(t, errOut.String(), s)
			}
			for _, s := range tt.noStderr {
				assert.NotContains(t, errOut.String(), s)
			}
		})
	}
}
