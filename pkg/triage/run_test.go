package triage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/report"
	"github.com/verdict-dev/verdict/pkg/score"
)

var runNow = time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC)

// runOptions builds a run over inputs whose fake provider calls every
// indicator malicious, with one rule worth points per hit.
func runOptions(t *testing.T, points int, inputs ...string) RunOptions {
	t.Helper()
	rules := score.Default(score.Rule{Name: "fake", Provider: "fake", Types: []string{"any"}, Field: "malicious", Points: points})
	sc, err := score.New(rules)
	require.NoError(t, err)
	pol, _ := ioc.NewPolicy(nil, nil)
	p := &inteltest.Provider{ProviderName: "fake"}
	eng := intel.NewEngine([]intel.Spec{{Provider: p, Concurrency: 2}}, intel.Options{Cache: cache.Nop{}})
	return RunOptions{
		Options: Options{Inputs: inputs, Stdin: strings.NewReader(""), Policy: pol, Engine: eng, Scorer: sc, TempDir: t.TempDir()},
		Now:     runNow, Version: "test",
		Output: report.OutputOptions{Dir: t.TempDir(), Formats: []report.Format{report.FormatJSON}},
	}
}

// tagStage is a stage that counts what it sees and tags every alert.
type tagStage struct {
	prepared, dry bool
	seen          int
}

func (s *tagStage) Prepare(ctx context.Context, src Source, dryRun bool) error {
	s.prepared, s.dry = true, dryRun
	return src.EachAlert(ctx, func(*model.Alert) error { s.seen++; return nil })
}

func (s *tagStage) Hook() AlertHook {
	return func(_ context.Context, a *model.Alert) error {
		a.Classification = &model.Classification{Label: "NEEDS_REVIEW", Source: "tag", Reasoning: []string{"a", "b", "c"}}
		return nil
	}
}

func (s *tagStage) Summarise(h *model.Report) { h.Summary.Notes = append(h.Summary.Notes, "tagged") }

func readJSON(t *testing.T, path string) *model.Report {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r, err := report.ReadAll(f)
	require.NoError(t, err)
	return r
}

func TestRun(t *testing.T) {
	t.Parallel()
	alerts := `{"id":"a","dst":"185.1.1.1"}` + "\n" + `{"id":"b","dst":"185.1.1.2"}` + "\n" + `{"id":"c","dst":"10.0.0.1"}` + "\n"
	tests := []struct {
		name      string
		input     string
		points    int
		mutate    func(*RunOptions)
		wantErr   string
		wantIs    error
		wantFail  *FailOnError
		wantFiles []string
		check     func(t *testing.T, o RunOptions, res *Result)
	}{
		{name: "happy path: writes the reports with the default name", input: alerts, points: 40, wantFiles: []string{"verdict-20261122-010203.json"},
			check: func(t *testing.T, o RunOptions, res *Result) {
				require.NotNil(t, res.Header)
				assert.Equal(t, 3, res.Header.Summary.Alerts)
				assert.Equal(t, 2, res.Header.Summary.ByVerdict.Suspicious)
				assert.NotNil(t, res.View)
				rep := readJSON(t, res.Paths[0])
				assert.Len(t, rep.Alerts, 3)
				assert.Equal(t, "2026-11-22T01:02:03Z", rep.GeneratedAt)
			}},
		{name: "fail-on: SUSPICIOUS alerts meet --fail-on SUSPICIOUS, reports written", input: alerts, points: 40,
			mutate:    func(o *RunOptions) { o.FailOn = model.Suspicious },
			wantFail:  &FailOnError{Threshold: model.Suspicious, Count: 2},
			wantFiles: []string{"verdict-20261122-010203.json"}},
		{name: "fail-on: below the threshold is no error", input: alerts, points: 40, mutate: func(o *RunOptions) { o.FailOn = model.Malicious },
			wantFiles: []string{"verdict-20261122-010203.json"}},
		{name: "sad path: --strict and a malformed record", input: alerts + "{bad\n", points: 40, mutate: func(o *RunOptions) { o.Strict = true },
			wantErr: "1 malformed record(s) and --strict is set", wantIs: ErrInput},
		{name: "happy path: dry run plans, writes nothing, the stage estimates", input: alerts, points: 40,
			mutate: func(o *RunOptions) { o.DryRun = true; o.Stage = &tagStage{} },
			check: func(t *testing.T, o RunOptions, res *Result) {
				assert.True(t, res.DryRun)
				assert.Equal(t, 3, res.Alerts)
				assert.Equal(t, 2, res.Lookable, "the private address is not looked up")
				require.Len(t, res.Plan, 1)
				assert.Equal(t, 2, res.Plan[0].Needed)
				st := o.Stage.(*tagStage)
				assert.True(t, st.prepared && st.dry)
				assert.Equal(t, 3, st.seen)
			}},
		{name: "happy path: the stage's hook and summary reach the report", input: alerts, points: 0,
			mutate: func(o *RunOptions) { o.Stage = &tagStage{}; o.Output.Name = "tagged" }, wantFiles: []string{"tagged.json"},
			check: func(t *testing.T, o RunOptions, res *Result) {
				rep := readJSON(t, res.Paths[0])
				assert.Contains(t, rep.Summary.Notes, "tagged")
				for _, a := range rep.Alerts {
					require.NotNil(t, a.Classification)
					assert.Equal(t, "tag", a.Classification.Source)
				}
			}},
		{name: "sad path: a missing input", points: 1, mutate: func(o *RunOptions) { o.Inputs = []string{"/no/such/file.json"} }, wantIs: ErrInput, wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var inputs []string
			if tt.input != "" {
				inputs = append(inputs, write(t, t.TempDir(), "alerts.ndjson", tt.input))
			}
			o := runOptions(t, tt.points, inputs...)
			if tt.mutate != nil {
				tt.mutate(&o)
			}
			res, err := Run(context.Background(), o)
			var fe *FailOnError
			switch {
			case tt.wantFail != nil:
				require.ErrorAs(t, err, &fe)
				assert.Equal(t, *tt.wantFail, *fe)
				require.NotNil(t, res, "the reports are written before --fail-on decides")
			case tt.wantErr != "" || tt.wantIs != nil:
				require.Error(t, err)
				assert.Nil(t, res)
				if tt.wantErr != "" {
					assert.Contains(t, err.Error(), tt.wantErr)
				}
				if tt.wantIs != nil {
					assert.ErrorIs(t, err, tt.wantIs)
				}
				entries, _ := os.ReadDir(o.Output.Dir)
				assert.Empty(t, entries, "no report on failure")
				return
			default:
				require.NoError(t, err)
			}
			var names []string
			for _, p := range res.Paths {
				names = append(names, filepath.Base(p))
			}
			assert.Equal(t, tt.wantFiles, names)
			if tt.check != nil {
				tt.check(t, o, res)
			}
			spools, _ := filepath.Glob(filepath.Join(o.TempDir, "verdict-*"))
			assert.Empty(t, spools, "the spool is removed")
		})
	}
}

// classify REPORT.json is the same pipeline fed from a report: no loading,
// no lookups, the stage adds, the report's own summary stays.
func TestRunFromReport(t *testing.T) {
	t.Parallel()
	in := write(t, t.TempDir(), "alerts.ndjson", `{"id":"a","dst":"185.1.1.1"}`+"\n"+`{"id":"b","dst":"185.1.1.2"}`+"\n")
	first := runOptions(t, 80, in)
	first.Output.Name = "nightly"
	res, err := Run(context.Background(), first)
	require.NoError(t, err)
	reportPath := res.Paths[0]
	assert.True(t, IsReport(reportPath))
	assert.False(t, IsReport(in))

	stage := &tagStage{}
	o := RunOptions{Report: reportPath, Stage: stage, Now: runNow.Add(time.Hour), Version: "later", FailOn: model.Malicious,
		Output: report.OutputOptions{Dir: t.TempDir(), Formats: []report.Format{report.FormatJSON}}}
	res, err = Run(context.Background(), o)
	var fe *FailOnError
	require.ErrorAs(t, err, &fe, "--fail-on decides on a report too")
	assert.Equal(t, 2, fe.Count)
	require.Len(t, res.Paths, 1)
	assert.Equal(t, "nightly-classified.json", filepath.Base(res.Paths[0]))
	assert.Equal(t, 2, stage.seen)
	rep := readJSON(t, res.Paths[0])
	assert.Equal(t, "2026-11-22T01:02:03Z", rep.GeneratedAt, "the report's header stays")
	assert.Contains(t, rep.Summary.Notes, "tagged")
	require.Len(t, rep.Alerts, 2)
	assert.Equal(t, "tag", rep.Alerts[1].Classification.Source)

	for _, tc := range []struct{ name, body string }{{"not a report", `[1,2]`}, {"empty", ``}} {
		bad := write(t, t.TempDir(), "bad.json", tc.body)
		_, err := Run(context.Background(), RunOptions{Report: bad, Output: report.OutputOptions{Dir: t.TempDir(), Formats: []report.Format{report.FormatJSON}}})
		assert.ErrorIs(t, err, ErrInput, tc.name)
	}
	_, err = Run(context.Background(), RunOptions{Report: "/no/such.json"})
	assert.ErrorIs(t, err, ErrInput)
}

func TestFailOnDecision(t *testing.T) {
	t.Parallel()
	h := &model.Report{Summary: model.Summary{ByVerdict: model.ByVerdict{Suspicious: 2, Clean: 3, Unchecked: 4}}}
	tests := []struct {
		name string
		o    RunOptions
		want string
	}{
		{name: "nothing asked", o: RunOptions{}},
		{name: "at the threshold", o: RunOptions{FailOn: model.Suspicious}, want: "2 alert(s) are SUSPICIOUS or worse (--fail-on SUSPICIOUS)"},
		{name: "clean counts everything checked", o: RunOptions{FailOn: model.Clean}, want: "5 alert(s) are CLEAN or worse"},
		{name: "above it", o: RunOptions{FailOn: model.Malicious}},
		{name: "unchecked", o: RunOptions{FailOnUnchecked: true}, want: "4 alert(s) are UNCHECKED (--fail-on-unchecked)"},
		{name: "both", o: RunOptions{FailOn: model.Suspicious, FailOnUnchecked: true}, want: "2 alert(s) are SUSPICIOUS or worse (--fail-on SUSPICIOUS); 4 alert(s) are UNCHECKED"},
	}
	for _, tt := range tests {
		err := failOn(tt.o, h)
		if tt.want == "" {
			assert.NoError(t, err, tt.name)
			continue
		}
		var fe *FailOnError
		require.True(t, errors.As(err, &fe), tt.name)
		assert.Contains(t, err.Error(), tt.want, tt.name)
	}
}
