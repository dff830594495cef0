package eval

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files and samples/eval/baseline.json")

func assertGolden(t *testing.T, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", strings.ReplaceAll(t.Name(), "/", "_")+".golden")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./pkg/eval -update to create it")
	assert.Equal(t, string(want), string(got))
}

// tableOutcomes has every cell of the matrix, tokens, two sources and a
// hostile id.
func tableOutcomes() []Outcome {
	outs := outcomes(tpTP, tpTP, tpFP, tpNR, fpFP, fpFP, fpFP, fpTP, fpNR, nrNR, nrFP)
	outs[0].Source, outs[0].PromptTokens, outs[0].OutputTokens, outs[0].ThoughtTokens, outs[0].CostUSD = "gemini", 812, 160, 44, 0.000634
	outs[1].Source, outs[1].PromptTokens, outs[1].OutputTokens, outs[1].CostUSD = "gemini", 790, 151, 0.000598
	outs[2].Label.File, outs[2].Label.ID = "evil.json", "id-\x1b[2J\u202eexe.txt"
	outs[2].Reason = "No indicator is known to any feed or provider.\x07"
	outs[2].Label.Rationale = "C2 beacon; the alert's id is hostile."
	outs[2].Confidence, outs[2].RiskVerdict, outs[2].Record = 55, "CLEAN", 7
	return outs
}

func TestWriteTable(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	require.NoError(t, WriteTable(&buf, "verdict classify --offline (heuristic) on set/alerts", Compute(tableOutcomes())))
	assertNoControl(t, buf.String())
	assertGolden(t, buf.Bytes())
}

func TestWriteOutcomes(t *testing.T) {
	t.Parallel()
	for _, all := range []bool{false, true} {
		t.Run(map[bool]string{false: "wrong only", true: "all"}[all], func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			require.NoError(t, WriteOutcomes(&buf, tableOutcomes(), all))
			assertNoControl(t, buf.String())
			assertGolden(t, buf.Bytes())
		})
	}
}

func TestWriteTableNoNeedsReviewTruth(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	require.NoError(t, WriteTable(&buf, "t", Compute(outcomes(tpTP, fpFP))))
	assert.NotContains(t, buf.String(), "truth is NEEDS_REVIEW")
	assert.NotContains(t, buf.String(), "dangerous errors (a true positive")
	assert.Contains(t, buf.String(), "classification sources: heuristic 2")
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

func TestWriteTableReportsWriteErrors(t *testing.T) {
	t.Parallel()
	assert.EqualError(t, WriteTable(&failWriter{n: 3}, "t", Compute(tableOutcomes())), "disk full")
	assert.EqualError(t, WriteOutcomes(&failWriter{}, tableOutcomes(), true), "disk full")
}

func TestSanitize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"plain", "NOTABLE-1 #2", "NOTABLE-1 #2"},
		{"unicode letters stay", "bücher-shop.de pаypal", "bücher-shop.de pаypal"},
		{"ANSI escape", "\x1b[31mred", `\u001b[31mred`},
		{"bidi override", "abc\u202egpj.exe", `abc\u202egpj.exe`},
		{"newline and carriage return", "a\nb\rc", `a\u000ab\u000dc`},
		{"tab becomes a space", "a\tb", "a b"},
		{"C1 control", "a\u0085b", `a\u0085b`},
		{"zero-width joiner", "a\u200db", `a\u200db`},
		{"line separator", "a\u2028b", `a\u2028b`},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
		{"long values are cut", strings.Repeat("x", maxShown+10), strings.Repeat("x", maxShown) + "…"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Sanitize(tt.in), tt.name)
	}
}

// assertNoControl fails on any control or format character but newline.
func assertNoControl(t *testing.T, s string) {
	t.Helper()
	for _, r := range s {
		if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
			t.Fatalf("output holds %U", r)
		}
	}
}
