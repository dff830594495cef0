package report

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHumanSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int
		want string
	}{
		{0, "0 bytes"}, {1023, "1023 bytes"}, {1024, "1.0 KB"}, {5000, "4.9 KB"},
		{5 << 20, "5.0 MB"}, {50 << 20, "50.0 MB"}, {3 << 30, "3.0 GB"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, humanSize(tt.n), "%d", tt.n)
	}
}

func TestClip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		limit int
		want  string
	}{
		{name: "short stays whole", in: "abc", limit: 3, want: "abc"},
		{name: "long is cut with a note", in: strings.Repeat("a", 5<<20), limit: 4, want: "aaaa… [truncated: 5.0 MB in all; the JSON report has it whole]"},
		{name: "never inside a character", in: "aé" + strings.Repeat("x", 2000), limit: 2, want: "a… [truncated: 2.0 KB in all; the JSON report has it whole]"},
		{name: "never inside a word that began near the cut", in: "beacon to http://evil.example.com/gate.php" + strings.Repeat(" pad", 500), limit: 25,
			want: "beacon to … [truncated: 2.0 KB in all; the JSON report has it whole]"},
		{name: "a word longer than the look-back is cut where it is", in: strings.Repeat("QUJD", 300), limit: 1000,
			want: strings.Repeat("QUJD", 250) + "… [truncated: 1.2 KB in all; the JSON report has it whole]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := clip(tt.in, tt.limit)
			assert.Equal(t, tt.want, got)
			assert.True(t, utf8.ValidString(got))
		})
	}
}

func TestDisplayRaw(t *testing.T) {
	t.Parallel()
	t.Run("indents like json.Indent", func(t *testing.T) {
		t.Parallel()
		raw := `{"a": [1, 2, {"b": {}}], "c":"x\"y", "d": [], "e": null, "f": -1.5e3, "g": true}`
		want, err := indent(raw)
		require.NoError(t, err)
		assert.Equal(t, want, displayRaw([]byte(raw)))
	})
	t.Run("a long string is clipped inside its quotes", func(t *testing.T) {
		t.Parallel()
		long := strings.Repeat("QUJD", 1<<20) // 4 MiB of base64
		raw, _ := json.Marshal(map[string]string{"script": long, "host": "ws-1"})
		got := displayRaw(raw)
		assert.Less(t, len(got), fieldLimit+500)
		assert.Regexp(t, `"script": "(QUJD)+[QUJD]{0,3}… \[truncated: 4\.0 MB in all; the JSON report has it whole\]"`, got)
		assert.Contains(t, got, `"host": "ws-1"`, "the fields after the long one are still shown")
	})
	t.Run("the cut never splits an escape or a character", func(t *testing.T) {
		t.Parallel()
		long := strings.Repeat("é\u0001\"", 3000)
		raw, _ := json.Marshal(map[string]string{"k": long})
		got := displayRaw(raw)
		assert.True(t, utf8.ValidString(got))
		i := strings.Index(got, "…")
		require.Positive(t, i)
		head := got[strings.Index(got, `"k": "`)+6 : i]
		var s string
		require.NoError(t, json.Unmarshal([]byte(`"`+head+`"`), &s), "the kept part is whole escapes: %q", head[max(0, len(head)-20):])
		assert.Contains(t, got, "in all;")
	})
	t.Run("a record with many fields stops at rawLimit", func(t *testing.T) {
		t.Parallel()
		m := map[string]string{}
		for i := range 20000 {
			m[strings.Repeat("k", 10)+itoa(i)] = "value"
		}
		raw, _ := json.Marshal(m)
		got := displayRaw(raw)
		assert.Less(t, len(got), rawLimit+200)
		assert.True(t, strings.HasSuffix(got, "the JSON report has it whole]"))
	})
	t.Run("a URL at the cut is left out whole, never shown half and live", func(t *testing.T) {
		t.Parallel()
		text := strings.Repeat("x ", fieldLimit/2-10) + "http://evil.example.com/a/b/c/d/e/f " + strings.Repeat("y", 100)
		raw, _ := json.Marshal(map[string]string{"msg": text})
		got := shownText(displayRaw(raw))
		assert.NotContains(t, got, "http://")
		assert.NotContains(t, got, "evil.ex")
		assert.Contains(t, got, "x … [truncated:")
	})
	t.Run("invalid input is shown clipped, not dropped", func(t *testing.T) {
		t.Parallel()
		assert.Equal(t, `{"a": "unterminated`, displayRaw([]byte(`{"a": "unterminated`)))
	})
}

func indent(raw string) (string, error) {
	var v json.RawMessage
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	return string(b), err
}

func TestWrap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		width int
		want  []string
	}{
		{name: "fits", in: "short line", width: 20, want: []string{"short line"}},
		{name: "breaks at the last space", in: "aaaa bbbb cccc dddd", width: 10, want: []string{"aaaa bbbb", "cccc dddd"}},
		{name: "a long word is cut", in: strings.Repeat("x", 25), width: 10, want: []string{"xxxxxxxxxx", "xxxxxxxxxx", "xxxxx"}},
		{name: "an early space is not worth a mostly empty line", in: "a " + strings.Repeat("y", 20), width: 10, want: []string{"a yyyyyyyy", "yyyyyyyyyy", "yy"}},
		{name: "wide characters count twice", in: "漢字漢字漢字", width: 8, want: []string{"漢字漢字", "漢字"}},
		{name: "combining marks stay with their letter", in: "e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301", width: 8, want: []string{"e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301", "e\u0301"}},
		{name: "empty", in: "", width: 10, want: []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, wrap(tt.in, tt.width))
		})
	}
}

func TestTruncWidth(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "short", truncWidth(10, "short"))
	assert.Equal(t, "abcdefg...", truncWidth(10, "abcdefghijklmnop"))
	assert.Equal(t, "漢字漢...", truncWidth(10, "漢字漢字漢字"))
}

// The box never grows with a field: every TXT line is 80 columns, whatever
// an alert holds.
func TestTXTBoxHoldsLongFields(t *testing.T) {
	t.Parallel()
	a := longFieldAlert(2 << 20)
	a.ID = strings.Repeat("id-", 5000)
	a.Risk.Factors = []string{strings.Repeat("factor ", 3000)}
	rep := longFieldReport(a)
	rep.Alerts = append(rep.Alerts, a)
	out, err := renderAll(rep, FormatTXT)
	require.NoError(t, err)
	assert.Less(t, len(out), 200<<10, "a 2 MB field is not a 2 MB report")
	flat := strings.Join(strings.Fields(strings.NewReplacer("|", " ").Replace(out)), " ")
	assert.Contains(t, flat, "[truncated: 2.0 MB in all; the JSON report has it whole]", "the raw record's note")
	assert.Contains(t, flat, "[truncated: 14.6 KB in all; the JSON report has it whole]", "the id's note")
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if line != "" {
			assert.LessOrEqual(t, utf8.RuneCountInString(line), 80, "%q", line)
		}
	}
	for _, f := range []Format{FormatHTML, FormatMarkdown} {
		out, err := renderAll(rep, f)
		require.NoError(t, err)
		assert.Less(t, len(out), 300<<10, "%s: a 2 MB field is not a 2 MB report", f)
	}
}
