package eval

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// alert builds a report alert read from dir/file at record, classified as
// label by the heuristic.
func alert(dir, file string, record int, id, label string) Alert {
	return Alert{ID: id, Source: AlertSource{File: filepath.Join(dir, file), Record: record},
		Risk:           Risk{Verdict: "CLEAN"},
		Classification: &Classification{Label: label, Confidence: 55, Reasoning: []string{"because"}, Source: "heuristic"}}
}

func lbl(line int, file, id, truth string) Label {
	return Label{File: file, ID: id, Truth: truth, Rationale: "r", Source: "s", Licence: "l", Line: line}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("set", "alerts")
	base := func() *Report {
		return &Report{SchemaVersion: 1, Alerts: []Alert{
			alert(dir, "b.ndjson", 1, "#3", FalsePositive),
			alert(dir, "b.ndjson", 2, "#4", NeedsReview),
			alert(dir, "a.json", 1, "A-1", TruePositive),
			alert(dir, "a.json", 2, "A-2", FalsePositive),
		}}
	}
	labels := []Label{
		lbl(2, "a.json", "A-1", TruePositive),
		lbl(3, "a.json", "A-2", TruePositive),
		lbl(4, "b.ndjson", "#1", FalsePositive),
		lbl(5, "b.ndjson", "#2", FalsePositive),
	}
	tests := []struct {
		name    string
		labels  []Label
		report  func(r *Report)
		want    []string // file id truth->predicted, in order
		wantErr []string
	}{
		{
			name:   "happy path: ids and positions, sorted by file and record",
			labels: labels,
			want:   []string{"a.json A-1 TRUE_POSITIVE->TRUE_POSITIVE", "a.json A-2 TRUE_POSITIVE->FALSE_POSITIVE", "b.ndjson #1 FALSE_POSITIVE->FALSE_POSITIVE", "b.ndjson #2 FALSE_POSITIVE->NEEDS_REVIEW"},
		},
		{
			name:    "sad path: label with no alert",
			labels:  append(append([]Label{}, labels...), lbl(6, "a.json", "A-3", FalsePositive), lbl(7, "c.csv", "#1", FalsePositive)),
			wantErr: []string{"labels line 6: label with no alert: a.json A-3", "labels line 7: label with no alert: c.csv #1"},
		},
		{
			name:    "sad path: alert with no label",
			labels:  labels[:3],
			wantErr: []string{`alert with no label: b.ndjson record 2 (id "#4")`},
		},
		{
			name:    "sad path: duplicate ids in one file",
			labels:  labels,
			report:  func(r *Report) { r.Alerts[3].ID = "A-1" },
			wantErr: []string{`a.json: records 1, 2 share the id "A-1" (duplicate id)`},
		},
		{
			name:   "happy path: the same id in two files",
			labels: []Label{lbl(2, "a.json", "X", TruePositive), lbl(3, "b.ndjson", "X", FalsePositive)},
			report: func(r *Report) {
				r.Alerts = []Alert{alert(dir, "a.json", 1, "X", TruePositive), alert(dir, "b.ndjson", 1, "X", TruePositive)}
			},
			want: []string{"a.json X TRUE_POSITIVE->TRUE_POSITIVE", "b.ndjson X FALSE_POSITIVE->TRUE_POSITIVE"},
		},
		{
			name:    "sad path: one alert labelled by id and by position",
			labels:  append(append([]Label{}, labels...), lbl(6, "a.json", "#1", FalsePositive)),
			wantErr: []string{"labels line 6: a.json #1 labels the same alert (record 1) as line 2"},
		},
		{
			name:   "sad path: a malformed record",
			labels: labels,
			report: func(r *Report) {
				r.InputErrors = []InputError{{File: filepath.Join(dir, "b.ndjson"), Record: 3, Line: 3, Reason: "invalid JSON\x1b[31m"}}
			},
			wantErr: []string{`b.ndjson record 3 (line 3) is malformed: invalid JSON\u001b[31m`},
		},
		{
			name:    "sad path: no classification",
			labels:  labels,
			report:  func(r *Report) { r.Alerts[2].Classification = nil },
			wantErr: []string{`a.json record 1 (id "A-1"): no classification in the report`},
		},
		{
			name:    "sad path: unknown classification label",
			labels:  labels,
			report:  func(r *Report) { r.Alerts[2].Classification.Label = "UNCHECKED" },
			wantErr: []string{`unknown classification label "UNCHECKED"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep := base()
			if tt.report != nil {
				tt.report(rep)
			}
			got, err := Compare(tt.labels, rep, dir)
			if len(tt.wantErr) > 0 {
				require.Error(t, err)
				assert.True(t, errors.Is(err, ErrBrokenSet))
				for _, w := range tt.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				return
			}
			require.NoError(t, err)
			var lines []string
			for _, o := range got {
				lines = append(lines, o.Label.Key()+" "+o.Label.Truth+"->"+o.Predicted)
			}
			assert.Equal(t, tt.want, lines)
		})
	}
}

func TestCompareCarriesClassification(t *testing.T) {
	t.Parallel()
	rep := &Report{SchemaVersion: 1, Alerts: []Alert{{ID: "X", Source: AlertSource{File: "alerts/a.json", Record: 4},
		Risk: Risk{Score: 70, Verdict: "MALICIOUS"},
		Classification: &Classification{Label: TruePositive, Confidence: 91, Reasoning: []string{"first", "second"}, Source: "gemini",
			PromptTokens: 800, OutputTokens: 150, ThoughtTokens: 40, CostUSD: 0.0006}}}}
	got, err := Compare([]Label{lbl(2, "a.json", "X", TruePositive)}, rep, "alerts")
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, Outcome{Label: lbl(2, "a.json", "X", TruePositive), AlertID: "X", Record: 4, Predicted: TruePositive, Confidence: 91,
		Source: "gemini", Reason: "first", RiskVerdict: "MALICIOUS", RiskScore: 70, PromptTokens: 800, OutputTokens: 150, ThoughtTokens: 40, CostUSD: 0.0006}, got[0])
	assert.True(t, got[0].Correct())
	assert.False(t, got[0].Dangerous())
}

func TestRelFile(t *testing.T) {
	t.Parallel()
	abs, err := filepath.Abs(filepath.Join("set", "alerts", "sub", "a.json"))
	require.NoError(t, err)
	tests := []struct {
		name, dir, file, want string
	}{
		{"relative under the directory", "set/alerts", "set/alerts/a.json", "a.json"},
		{"absolute file, relative directory", "set/alerts", abs, "sub/a.json"},
		{"unclean directory", "./set//alerts/", "set/alerts/a.json", "a.json"},
		{"outside the directory keeps its path", "set/alerts", "other/a.json", "other/a.json"},
		{"a sibling whose name starts with ..", "set/alerts", "set/alerts/..a.json", "..a.json"},
		{"no directory", "", "x/a.json", "x/a.json"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, relFile(filepath.FromSlash(tt.dir), filepath.FromSlash(tt.file)), tt.name)
	}
}

func TestReadReport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		wantErr string
		alerts  int
	}{
		{name: "happy path: unknown fields are ignored", alerts: 1,
			in: `{"schema_version":1,"tool":{"name":"verdict"},"summary":{"alerts":1},"alerts":[{"id":"x","source":{"file":"a","record":1},"alert":{"deep":[1,{"a":"b"}]},"risk":{"score":0,"verdict":"CLEAN"},"classification":{"label":"FALSE_POSITIVE","source":"heuristic","future":true}}]}`},
		{name: "sad path: another schema version", in: `{"schema_version":2,"alerts":[]}`, wantErr: "schema_version 2, want 1"},
		{name: "sad path: not a report", in: `[1,2]`, wantErr: "decode report"},
		{name: "sad path: truncated", in: `{"schema_version":1,"alerts":[{"id":`, wantErr: "decode report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := ReadReport(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Len(t, r.Alerts, tt.alerts)
		})
	}
	_, err := ReadReportFile(filepath.Join(t.TempDir(), "missing.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}
