package gemini

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/verdict-dev/verdict/pkg/attack"
	"github.com/verdict-dev/verdict/pkg/classify"
)

// FuzzParseAnswer: model output is untrusted. Whatever it is, parsing never
// panics, and an accepted answer is within the schema, with only active
// ATT&CK techniques once checked.
func FuzzParseAnswer(f *testing.F) {
	f.Add(`{"classification":"TRUE_POSITIVE","confidence":90,"reasons":["a","b","c"],"mitre_techniques":["T1071.001","T1073","x"],"next_step":"n"}`)
	f.Add("```json\n{\"classification\":\"NEEDS_REVIEW\",\"confidence\":0,\"reasons\":[\" \",\"b\",\"c\"]}\n```")
	f.Add(`{"classification":"FALSE_POSITIVE","confidence":1e400,"reasons":["a","b","c"]}`)
	f.Add(`{"classification":"TRUE_POSITIVE","confidence":"90","reasons":null}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, text string) {
		c, err := parseAnswer(text)
		if err != nil {
			if c != nil {
				t.Fatalf("a classification with an error: %+v", c)
			}
			return
		}
		if !classify.ValidLabel(c.Label) || c.Confidence < 0 || c.Confidence > 100 || len(c.Reasoning) != 3 {
			t.Fatalf("accepted outside the schema: %+v", c)
		}
		for _, r := range c.Reasoning {
			if strings.TrimSpace(r) == "" || utf8.RuneCountInString(r) > 501 {
				t.Fatalf("reason %q", r)
			}
		}
		if utf8.RuneCountInString(c.NextStep) > 501 {
			t.Fatalf("next step of %d runes", utf8.RuneCountInString(c.NextStep))
		}
		kept, _ := classify.Techniques(c.Techniques)
		if len(kept) > classify.MaxTechniques {
			t.Fatalf("%d techniques", len(kept))
		}
		for _, id := range kept {
			if _, ok := attack.Lookup(id); !ok {
				t.Fatalf("kept %q, not an active technique", id)
			}
		}
	})
}
