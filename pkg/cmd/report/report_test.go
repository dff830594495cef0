package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cmdutil"
	"github.com/verdict-dev/verdict/pkg/iostreams"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/report"
)

// make update-golden passes -update to every package under pkg/cmd; this
// one has no golden file yet, but must accept the flag.
var _ = flag.Bool("update", false, "rewrite golden files")

func TestNewCmdReport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, o *Options)
	}{
		{name: "defaults", args: []string{"r.json"}, check: func(t *testing.T, o *Options) {
			assert.Equal(t, "r.json", o.File)
			assert.Equal(t, []report.Format{report.FormatTXT, report.FormatHTML}, o.Output.Formats)
			assert.Equal(t, "plain", o.Output.BlocklistFormat)
			oo := o.Output.OutputOptions("r", nil, report.ViewOptions{})
			assert.True(t, oo.Unique, "the default name never overwrites")
		}},
		{name: "an explicit name overwrites", args: []string{"--output-name", "nightly", "r.json"}, check: func(t *testing.T, o *Options) {
			assert.False(t, o.Output.OutputOptions("nightly", nil, report.ViewOptions{}).Unique)
		}},
		{name: "blocklist flags", args: []string{"--export-blocklist", "b.txt", "--blocklist-types", "ipv4,hash", "--blocklist-format", "CSV", "r.json"}, check: func(t *testing.T, o *Options) {
			oo := o.Output.OutputOptions("r", nil, report.ViewOptions{})
			assert.Equal(t, []string{"ipv4", "md5", "sha1", "sha256"}, oo.BlocklistTypes)
			assert.Equal(t, report.BlocklistCSV, oo.BlocklistFormat)
		}},
		{name: "sad path: --output-name with directories", args: []string{"--output-name", "../../x", "r.json"}, wantErr: "--output-name must be a file name without directories"},
		{name: "sad path: --output-name ..", args: []string{"--output-name", "..", "r.json"}, wantErr: "--output-name must be a file name"},
		{name: "sad path: --output-name with an escape", args: []string{"--output-name", "x\x1b]52;c;AAAA\x07", "r.json"}, wantErr: "control or invisible characters"},
		{name: "sad path: unknown blocklist format", args: []string{"--export-blocklist", "b", "--blocklist-format", "ipset", "r.json"}, wantErr: "valid values are plain, annotated, csv"},
		{name: "sad path: unknown blocklist type", args: []string{"--export-blocklist", "b", "--blocklist-types", "ip4", "r.json"}, wantErr: `unknown IOC type "ip4"`},
		{name: "sad path: blocklist options without a blocklist", args: []string{"--blocklist-types", "ipv4", "r.json"}, wantErr: "need --export-blocklist FILE"},
		{name: "sad path: two reports", args: []string{"a.json", "b.json"}, wantErr: "give exactly one JSON report"},
		{name: "template to stdout", args: []string{"--template", "t.md.tmpl", "--stdout", "template", "r.json"}, check: func(t *testing.T, o *Options) {
			assert.Equal(t, "template", o.Output.Stdout)
			assert.Equal(t, "t.md.tmpl", o.Output.Template)
		}},
		{name: "formats and names", args: []string{"-f", "csv,md", "-o", "out", "--output-name", "x", "r.json"}, check: func(t *testing.T, o *Options) {
			assert.Equal(t, []report.Format{report.FormatCSV, report.FormatMarkdown}, o.Output.Formats)
			assert.Equal(t, "out", o.Output.Dir)
			assert.Equal(t, "x", o.Output.Name)
		}},
		{name: "sad path: no report", args: []string{}, wantErr: "give exactly one JSON report"},
		{name: "sad path: bad format", args: []string{"-f", "pdf", "r.json"}, wantErr: `--format: unknown format "pdf"`},
		{name: "sad path: template without a file", args: []string{"--stdout", "template", "r.json"}, wantErr: "--stdout template needs --template FILE"},
		{name: "sad path: unknown flag", args: []string{"--offline", "r.json"}, wantErr: "unknown flag: --offline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, _, _ := iostreams.Test()
			var got *Options
			cmd := NewCmdReport(cmdutil.NewFactory(ios), func(_ context.Context, o *Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, got)
		})
	}
}

// writeJSONReport writes a report with the given alerts as enrich would.
func writeJSONReport(t *testing.T, dir, name string, alerts ...*model.Alert) string {
	t.Helper()
	h := &model.Report{SchemaVersion: 1, Tool: model.Tool{Name: "verdict", Version: "test"}, GeneratedAt: "2026-11-22T00:00:00Z", Inputs: []string{"a.json"}}
	for _, a := range alerts {
		h.Summary.ByVerdict.Add(a.Risk.Verdict)
	}
	h.Summary.Alerts = len(alerts)
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	require.NoError(t, err)
	jw := report.NewJSONWriter(f)
	require.NoError(t, jw.Begin(h))
	for _, a := range alerts {
		require.NoError(t, jw.Alert(a))
	}
	require.NoError(t, jw.End(h))
	require.NoError(t, f.Close())
	return path
}

func alert(id string, v model.Verdict, c *model.Classification) *model.Alert {
	return &model.Alert{ID: id, Source: model.Source{File: "a.json", Record: 1}, Alert: json.RawMessage(`{"msg":"x"}`),
		IOCs: []model.IOC{}, Enrichment: map[string]map[string]*model.Result{},
		Risk: model.Risk{Score: map[model.Verdict]int{model.Malicious: 80}[v], Verdict: v, Factors: []string{}}, Classification: c}
}

// run runs `verdict report` with args in-process.
func run(t *testing.T, ctx context.Context, args ...string) (stderr string, err error) {
	t.Helper()
	ios, _, _, errOut := iostreams.Test()
	cmd := NewCmdReport(cmdutil.NewFactory(ios), nil)
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	err = cmd.ExecuteContext(ctx)
	return errOut.String(), err
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func TestReportRun(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Chdir(t.TempDir())

	t.Run("the default name never replaces a report", func(t *testing.T) {
		dir := t.TempDir()
		in := writeJSONReport(t, dir, "nightly.json", alert("a-1", model.Clean, nil))
		for range 2 {
			_, err := run(t, context.Background(), in, "-o", dir, "-f", "txt,json")
			require.NoError(t, err)
		}
		assert.Equal(t, []string{"nightly-2.json", "nightly-2.txt", "nightly-3.json", "nightly-3.txt", "nightly.json"}, names(t, dir),
			"the input itself is never overwritten either")
		_, err := run(t, context.Background(), in, "-o", dir, "-f", "txt", "--output-name", "nightly")
		require.NoError(t, err)
		assert.Contains(t, names(t, dir), "nightly.txt", "an explicit name writes what it is told")
	})

	t.Run("a report that breaks the schema is a usage error naming the file and the field", func(t *testing.T) {
		dir := t.TempDir()
		in := writeJSONReport(t, dir, "bad.json", alert("a-1", model.Clean, nil))
		b, err := os.ReadFile(in)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(in, bytes.Replace(b, []byte(`"verdict":"CLEAN"`), []byte(`"verdict":"\u001b]52;c;AAAA\u0007"`), 1), 0o644))
		_, err = run(t, context.Background(), in, "-o", dir)
		require.Error(t, err)
		var ec *cmdutil.ExitCodeError
		require.True(t, errors.As(err, &ec))
		assert.Equal(t, cmdutil.ExitUsage, ec.Code)
		assert.Contains(t, err.Error(), in)
		assert.Contains(t, err.Error(), `alert 1 (id "a-1"): risk.verdict: "\x1b]52;c;AAAA\a" is not a risk verdict`)
		assert.Equal(t, []string{"bad.json"}, names(t, dir), "nothing written")
	})

	t.Run("the guard applies again and the JSON summary follows it", func(t *testing.T) {
		dir := t.TempDir()
		fp := &model.Classification{Label: model.LabelFalsePositive, Confidence: 97, Reasoning: []string{"trust me"}, Source: "gemini"}
		in := writeJSONReport(t, dir, "fp.json", alert("a-1", model.Malicious, fp))
		_, err := run(t, context.Background(), in, "-o", dir, "-f", "json,csv", "--output-name", "out")
		require.NoError(t, err)
		f, err := os.Open(filepath.Join(dir, "out.json"))
		require.NoError(t, err)
		defer f.Close()
		var raw map[string]json.RawMessage
		b, _ := os.ReadFile(filepath.Join(dir, "out.json"))
		require.NoError(t, json.Unmarshal(b, &raw))
		var sum model.Summary
		require.NoError(t, json.Unmarshal(raw["summary"], &sum))
		assert.Equal(t, &model.ByClassification{NeedsReview: 1}, sum.ByClassification, "the header written first already has the recounted summary")
		rep, err := report.ReadAll(f)
		require.NoError(t, err)
		assert.Equal(t, model.LabelNeedsReview, rep.Alerts[0].Classification.Label)
		csvOut, _ := os.ReadFile(filepath.Join(dir, "out.csv"))
		assert.Contains(t, string(csvOut), "a-1,MALICIOUS,80,NEEDS_REVIEW,50")
	})

	t.Run("wrote lines are escaped", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "out\x1b]52;c;AAAA\x07")
		in := writeJSONReport(t, t.TempDir(), "r.json", alert("a-1", model.Clean, nil))
		stderr, err := run(t, context.Background(), in, "-o", dir, "-f", "md")
		require.NoError(t, err)
		assert.NotContains(t, stderr, "\x1b")
		assert.Contains(t, stderr, `out\u001b]52;c;AAAA\u0007/r.md`)
	})

	t.Run("a cancelled run writes nothing", func(t *testing.T) {
		dir := t.TempDir()
		var alerts []*model.Alert
		for i := range 500 {
			alerts = append(alerts, alert(fmt.Sprintf("a-%d", i), model.Clean, nil))
		}
		in := writeJSONReport(t, t.TempDir(), "r.json", alerts...)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := run(t, ctx, in, "-o", dir, "-f", "json,txt,html,md,csv")
		assert.ErrorIs(t, err, context.Canceled)
		assert.Empty(t, names(t, dir), "no report, no temporary file")
	})

	t.Run("a default name that is not a file name falls back", func(t *testing.T) {
		dir := t.TempDir()
		in := writeJSONReport(t, t.TempDir(), "..json", alert("a-1", model.Clean, nil))
		_, err := run(t, context.Background(), in, "-o", dir, "-f", "txt")
		require.NoError(t, err)
		assert.Equal(t, []string{"verdict-report.txt"}, names(t, dir))
	})
}
