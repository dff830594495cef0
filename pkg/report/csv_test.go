package report

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/model"
)

func TestCSVSafe(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"=HYPERLINK(\"http://evil\",\"x\")", "'=HYPERLINK(\"http://evil\",\"x\")"},
		{"+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
		{"-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
		{"@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"},
		{"\t=1+1", "'\t=1+1"},
		{"\r=1+1", "'\r=1+1"},
		{"-12.5", "-12.5"},
		{"-1e3", "-1e3"},
		{"plain", "plain"},
		{"", ""},
		{"a=b", "a=b"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, csvSafe(tt.in), "%q", tt.in)
	}
}

func TestCSVWriterNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	w := NewCSVWriter(&b)
	require.NoError(t, w.Begin(&model.Report{}))
	hostile := []string{`=HYPERLINK("http://evil.example.com","click")`, "+1+1", "-cmd", "@A1", "\t=x"}
	for i, id := range hostile {
		require.NoError(t, w.Alert(&model.Alert{ID: id, Source: model.Source{File: "=evil.csv", Record: i + 1},
			Risk: model.Risk{Score: 40, Verdict: model.Suspicious, Factors: []string{"=1+1 factor"}}}))
	}
	require.NoError(t, w.End(nil))
	rows, err := csv.NewReader(&b).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, len(hostile)+1)
	assert.Equal(t, CSVHeader, rows[0])
	for _, row := range rows[1:] {
		for _, cell := range row {
			if cell == "" {
				continue
			}
			switch cell[0] {
			case '=', '+', '@', '\t', '\r':
				t.Errorf("cell %q starts a formula", cell)
			case '-':
				assert.Regexp(t, `^-[0-9.]+$`, cell)
			}
		}
	}
	assert.Equal(t, `'=HYPERLINK("hxxp://evil.example[.]com","click")`, rows[1][0], "neutralised and defanged")
	assert.Equal(t, "'=evil.csv", rows[1][15])
}
