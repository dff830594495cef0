package eval

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzLoadLabels: any input either loads into labels that are all valid,
// or fails with an error; never a panic.
func FuzzLoadLabels(f *testing.F) {
	if data, err := os.ReadFile("../../samples/eval/labels.csv"); err == nil {
		f.Add(string(data))
	}
	f.Add(header + "a.json,#1,TRUE_POSITIVE,r,s,l\n")
	f.Add(header + "a.json,\"#1\nx\",TRUE_POSITIVE,\"r\"\"q\",s,l\n")
	f.Add("file\n")
	f.Add(header + "\"unterminated")
	f.Fuzz(func(t *testing.T, in string) {
		labels, err := LoadLabels(strings.NewReader(in))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, l := range labels {
			if !validLabel(l.Truth) || l.File == "" || l.ID == "" || l.Rationale == "" || l.Source == "" || l.Licence == "" {
				t.Fatalf("invalid label loaded: %+v", l)
			}
			if strings.HasPrefix(l.ID, "#") {
				if _, ok := l.Position(); !ok {
					t.Fatalf("bad position loaded: %q", l.ID)
				}
			}
			if seen[l.Key()] {
				t.Fatalf("duplicate loaded: %q", l.Key())
			}
			seen[l.Key()] = true
		}
	})
}

// FuzzCompare: a hostile report (it carries attacker-written ids and
// reasons) never panics the comparison, and whatever is printed about it
// holds no control character.
func FuzzCompare(f *testing.F) {
	f.Add(`{"schema_version":1,"alerts":[{"id":"A-1","source":{"file":"alerts/a.json","record":1},"classification":{"label":"TRUE_POSITIVE","reasoning":["x"]}}]}`)
	f.Add(`{"schema_version":1,"input_errors":[{"file":"alerts/a.json","record":2,"line":2,"reason":"bad\u001b"}],"alerts":[]}`)
	f.Add(`{"schema_version":1,"alerts":[{"id":"\u202e#1","source":{"file":"../x","record":-1},"classification":null}]}`)
	f.Fuzz(func(t *testing.T, in string) {
		rep, err := ReadReport(strings.NewReader(in))
		if err != nil {
			return
		}
		labels := []Label{lbl(2, "a.json", "A-1", TruePositive), lbl(3, "a.json", "#2", FalsePositive)}
		outs, err := Compare(labels, rep, "alerts")
		var se *SetError
		if err != nil {
			if !errors.As(err, &se) {
				t.Fatalf("Compare returned %T, want *SetError", err)
			}
			for _, p := range se.Problems {
				checkPrintable(t, p)
			}
			return
		}
		var buf bytes.Buffer
		if err := WriteTable(&buf, "t", Compute(outs)); err != nil {
			t.Fatal(err)
		}
		if err := WriteOutcomes(&buf, outs, true); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(buf.String(), "\n") {
			checkPrintable(t, line)
		}
	})
}

// FuzzSanitize: the output is valid UTF-8 with no control or format
// character, whatever the input.
func FuzzSanitize(f *testing.F) {
	f.Add("plain")
	f.Add("\x1b[2J\u202e\u200b\xff\n")
	f.Fuzz(func(t *testing.T, in string) {
		checkPrintable(t, Sanitize(in))
	})
}

func checkPrintable(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("invalid UTF-8 in %q", s)
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			t.Fatalf("%U in %q", r, s)
		}
	}
}
