package eval

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const header = "file,id,label,rationale,source,licence\n"

func TestLoadLabels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    []Label
		wantErr []string // substrings of the error, all required
	}{
		{
			name: "happy path: ids, positions, quoted commas",
			in: header +
				"a.json,ALERT-1,TRUE_POSITIVE,\"C2, confirmed\",written for verdict,verdict\n" +
				"sub/b.ndjson,#2,NEEDS_REVIEW,cannot tell,upstream line 7,MIT\n",
			want: []Label{
				{File: "a.json", ID: "ALERT-1", Truth: TruePositive, Rationale: "C2, confirmed", Source: "written for verdict", Licence: "verdict", Line: 2},
				{File: "sub/b.ndjson", ID: "#2", Truth: NeedsReview, Rationale: "cannot tell", Source: "upstream line 7", Licence: "MIT", Line: 3},
			},
		},
		{
			name: "happy path: columns in another order, an extra column, a BOM",
			in:   "\ufefflabel,id,file,notes,licence,source,rationale\nFALSE_POSITIVE,x,a.json,ignored,MIT,s,r\n",
			want: []Label{{File: "a.json", ID: "x", Truth: FalsePositive, Rationale: "r", Source: "s", Licence: "MIT", Line: 2}},
		},
		{name: "sad path: empty file", in: "", wantErr: []string{"labels file is empty"}},
		{name: "sad path: header only", in: header, wantErr: []string{"no labels"}},
		{name: "sad path: header lacks a column", in: "file,id,label,rationale,source\na,b,TRUE_POSITIVE,r,s\n", wantErr: []string{`lacks the column "licence"`}},
		{name: "sad path: bad label", in: header + "a.json,1,MALICIOUS,r,s,l\n", wantErr: []string{`labels line 2: bad label "MALICIOUS"`}},
		{name: "sad path: lower-case label", in: header + "a.json,1,true_positive,r,s,l\n", wantErr: []string{`bad label "true_positive"`}},
		{name: "sad path: empty rationale and licence", in: header + "a.json,1,TRUE_POSITIVE,,s,\n", wantErr: []string{"empty rationale", "empty licence"}},
		{name: "sad path: rationale over two lines", in: header + "a.json,1,TRUE_POSITIVE,\"one\ntwo\",s,l\n", wantErr: []string{"must be one line"}},
		{name: "sad path: duplicate id", in: header + "a.json,1,TRUE_POSITIVE,r,s,l\na.json,1,FALSE_POSITIVE,r,s,l\n", wantErr: []string{"labels line 3: a.json 1 is already labelled on line 2 (duplicate id)"}},
		{name: "happy path: same id in two files is fine", in: header + "a.json,1,TRUE_POSITIVE,r,s,l\nb.json,1,FALSE_POSITIVE,r,s,l\n",
			want: []Label{{File: "a.json", ID: "1", Truth: TruePositive, Rationale: "r", Source: "s", Licence: "l", Line: 2},
				{File: "b.json", ID: "1", Truth: FalsePositive, Rationale: "r", Source: "s", Licence: "l", Line: 3}}},
		{name: "sad path: position zero", in: header + "a.json,#0,TRUE_POSITIVE,r,s,l\n", wantErr: []string{`id "#0"`}},
		{name: "sad path: position with a leading zero", in: header + "a.json,#01,TRUE_POSITIVE,r,s,l\n", wantErr: []string{`id "#01"`}},
		{name: "sad path: position not a number", in: header + "a.json,#x,TRUE_POSITIVE,r,s,l\n", wantErr: []string{`id "#x"`}},
		{name: "sad path: file escapes the directory", in: header + "../a.json,1,TRUE_POSITIVE,r,s,l\n", wantErr: []string{`file "../a.json"`}},
		{name: "sad path: absolute file", in: header + "/etc/a.json,1,TRUE_POSITIVE,r,s,l\n", wantErr: []string{`file "/etc/a.json"`}},
		{name: "sad path: backslashes", in: header + "sub\\a.json,1,TRUE_POSITIVE,r,s,l\n", wantErr: []string{"forward slashes"}},
		{name: "sad path: unclean path", in: header + "./a.json,1,TRUE_POSITIVE,r,s,l\n", wantErr: []string{`file "./a.json"`}},
		{name: "sad path: broken CSV quoting", in: header + "a.json,1,TRUE_POSITIVE,\"r\"x,s,l\n", wantErr: []string{"labels line 2"}},
		{
			name:    "sad path: every problem is reported, not the first",
			in:      header + "a.json,1,MAYBE,r,s,l\nb.json,#0,TRUE_POSITIVE,r,s,l\n",
			wantErr: []string{"2 problem(s)", `bad label "MAYBE"`, `id "#0"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := LoadLabels(strings.NewReader(tt.in))
			if len(tt.wantErr) > 0 {
				require.Error(t, err)
				assert.True(t, errors.Is(err, ErrBrokenSet), "a bad labels file is a broken set: %v", err)
				for _, w := range tt.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestLabelPosition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id     string
		want   int
		wantOK bool
	}{
		{"#1", 1, true},
		{"#207", 207, true},
		{"1", 0, false},
		{"#", 0, false},
		{"#-1", 0, false},
		{"#+1", 0, false},
		{"#1a", 0, false},
		{"#99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		n, ok := Label{ID: tt.id}.Position()
		assert.Equal(t, tt.wantOK, ok, tt.id)
		assert.Equal(t, tt.want, n, tt.id)
	}
}

func TestLoadLabelsFileMissing(t *testing.T) {
	t.Parallel()
	_, err := LoadLabelsFile("testdata/no-such-labels.csv")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "open labels")
	assert.False(t, errors.Is(err, ErrBrokenSet), "an unreadable file is not a broken set")
}
