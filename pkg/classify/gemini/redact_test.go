package gemini_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/classify"
	"github.com/verdict-dev/verdict/pkg/classify/gemini"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/model"
)

var placeholderRE = regexp.MustCompile(`⟦[a-z-]+-[0-9]+(?:\.v[0-9]+)?:[g-z]+⟧`)

// alertBlock returns the untrusted alert block of a rendered prompt.
func alertBlock(t *testing.T, user string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<<<BEGIN UNTRUSTED ALERT ([0-9a-f]+)>>>\n(.*)\n<<<END UNTRUSTED ALERT ([0-9a-f]+)>>>`).FindStringSubmatch(user)
	require.NotNil(t, m, "no alert block in %s", user)
	require.Equal(t, m[1], m[3])
	return m[2]
}

// wordCount counts case-insensitive occurrences of w that stand as whole
// words (not inside a longer name).
func wordCount(s, w string) int {
	ls, lw := strings.ToLower(s), strings.ToLower(w)
	n := 0
	for i := 0; ; {
		j := strings.Index(ls[i:], lw)
		if j < 0 {
			return n
		}
		a, b := i+j, i+j+len(lw)
		word := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' }
		before, after := ' ', ' '
		if a > 0 {
			before = rune(ls[a-1])
		}
		if b < len(ls) {
			after = rune(ls[b])
		}
		if !word(before) && !word(after) {
			n++
		}
		i = b
	}
}

// vocabularyCase is an alert whose user is named word, with every kind of
// trusted fact: feed, VirusTotal and AbuseIPDB results, a MALICIOUS risk
// verdict and its factors.
func vocabularyCase(word string) classify.Case {
	raw, _ := json.Marshal(map[string]any{
		"user": word, "msg": "login by " + word + "; " + strings.ToLower(word) + " again",
		"rule": map[string]string{"name": "ET CNC Feodo Tracker"}, "dst": "185.220.101.45",
	})
	return classify.Case{
		AlertID: "V", Pos: "v.json#1", Raw: raw,
		Risk: model.Risk{Score: 85, Verdict: model.Malicious, Factors: []string{
			"IP 185.220.101.45: listed in local feed feodo.csv (+40)",
			"IP 185.220.101.45: 12 VirusTotal malicious detections (+30)",
			"IP 185.220.101.45: AbuseIPDB abuse confidence 100 (+15)",
		}},
		IOCs: []model.IOC{{Type: "ipv4", Value: "185.220.101.45", Fields: []string{"dst"}}},
		Enrichment: map[string]map[string]*model.Result{"185.220.101.45": {
			"feeds":      {Status: model.StatusFound, Matches: []model.FeedMatch{{Feed: "feodo.csv", Info: "Pikabot"}}},
			"virustotal": {Status: model.StatusFound, Malicious: model.Int(12), Suspicious: model.Int(2), ThreatLabel: "trojan.pikabot"},
			"abuseipdb":  {Status: model.StatusFound, AbuseConfidenceScore: model.Int(100), IsTor: model.Bool(true), UsageType: "Data Center/Web Hosting/Transit"},
		}},
	}
}

// TestRedactionTrustedVocabulary names a user after each word verdict
// writes into the trusted facts: redaction must hide the user in the alert
// and leave every byte outside the alert block as it is without redaction.
func TestRedactionTrustedVocabulary(t *testing.T) {
	t.Parallel()
	var words []string
	for _, v := range append(append([]model.Verdict(nil), model.AllVerdicts...), model.Unchecked) {
		words = append(words, string(v))
	}
	words = append(words, classify.Labels...)
	words = append(words,
		// providers, feeds and what they say
		"virustotal", "VirusTotal", "abuseipdb", "AbuseIPDB", "feeds", "gemini", "feodo.csv", "Pikabot",
		"trojan.pikabot", "listed", "local", "feed", "malicious", "suspicious", "detections", "abuse",
		"confidence", "Tor", "exit", "node", "usage", "label", "found", "notable",
		// the prompt's own words
		"risk", "verdict", "factor", "factors", "score", "trusted", "untrusted", "rules", "additive",
		"Threat", "intelligence", "indicators", "fields", "ipv4", "IP", "domain", "URL", "rule", "matched",
		"BEGIN", "END", "ALERT", "Classify", "security", "alert", "below", "looked", "private")
	for _, w := range words {
		t.Run(w, func(t *testing.T) {
			t.Parallel()
			c := vocabularyCase(w)
			plain, err := gemini.BuildPrompt(c, nil)
			require.NoError(t, err)
			r := classify.NewRedactor(c, nil)
			red, err := gemini.BuildPrompt(c, r)
			require.NoError(t, err)
			require.Positive(t, r.Len(), "the user %q was not redacted", w)

			assert.Equal(t, plain.System, red.System)
			plainBlock, redBlock := alertBlock(t, plain.User), alertBlock(t, red.User)
			assert.Equal(t, plain.User, strings.Replace(red.User, redBlock, plainBlock, 1),
				"outside the alert block the prompt is byte-identical with and without redaction")
			assert.Zero(t, wordCount(placeholderRE.ReplaceAllString(redBlock, "_"), w), "%q survives in the alert: %s", w, redBlock)
			assert.Equal(t, wordCount(strings.Replace(plain.User, plainBlock, "", 1), w), wordCount(red.User, w),
				"every %q left in the prompt is one of verdict's own", w)
			assert.Contains(t, red.User, "risk verdict MALICIOUS")
		})
	}
}

func TestRedactionPromptFacts(t *testing.T) {
	t.Parallel()
	c := sampleCase("F")
	c.Raw = json.RawMessage(`{"user":"alice","src":"10.0.0.5","dst":"185.220.101.45","msg":"alice from 10.0.0.5 to fs01.corp.example.com"}`)
	c.IOCs = append(c.IOCs, model.IOC{Type: "domain", Value: "fs01.corp.example.com", Fields: []string{"msg"}, Skipped: "internal"})
	plain, err := gemini.BuildPrompt(c, nil)
	require.NoError(t, err)
	r := classify.NewRedactor(c, []string{"corp.example.com"})
	red, err := gemini.BuildPrompt(c, r)
	require.NoError(t, err)
	for _, secret := range []string{"alice", "10.0.0.5", "fs01"} {
		assert.NotContains(t, red.User, secret)
	}
	// Outside the alert, only the indicator values differ.
	want := strings.Replace(plain.User, alertBlock(t, plain.User), alertBlock(t, red.User), 1)
	for _, v := range []string{"10.0.0.5", "fs01.corp.example.com"} {
		want = strings.ReplaceAll(want, " "+v+" (fields", " "+r.Apply(v)+" (fields")
	}
	assert.Equal(t, want, red.User)
	assert.Contains(t, red.User, "ipv4 185.220.101.45 (fields: dst): feeds: listed in feodo.csv (Pikabot); virustotal: 12 malicious")
}

func TestRedaction(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		internal []string
		secrets  []string // never in the prompt
		restored []string // in the answer, mapped back
		kept     []string
	}{
		{name: "happy path", secrets: []string{"alice", "ws-fin-042", "bob.smith", "10.0.0.5", "CORP\\", "svc_backup"},
			restored: []string{"alice", "ws-fin-042.corp.local", "bob.smith", "10.0.0.5", "CORP", "svc_backup"},
			kept:     []string{"185.220.101.45", "@corp.example.com"}},
		{name: "with internal domains", internal: []string{"corp.example.com"},
			secrets:  []string{"alice", "ws-fin-042", "bob.smith", "10.0.0.5", "corp.example.com", "svc_backup"},
			restored: []string{"alice", "ws-fin-042.corp.local", "bob.smith", "10.0.0.5", "CORP", "svc_backup", "corp.example.com"},
			kept:     []string{"185.220.101.45"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := inteltest.NewGemini(t, key)
			fake.Reply = func(req inteltest.GeminiRequest, _ int) inteltest.GeminiReply {
				// The model refers to what it was shown, and makes some up.
				var seen []string
				for _, ph := range placeholderRE.FindAllString(req.User, -1) {
					if !strings.Contains(strings.Join(seen, " "), ph) {
						seen = append(seen, ph)
					}
				}
				tok := strings.TrimSuffix(seen[0][strings.LastIndex(seen[0], ":")+1:], "⟧")
				b, _ := json.Marshal(map[string]any{"classification": "NEEDS_REVIEW", "confidence": 60,
					"reasons":   []string{"seen: " + strings.Join(seen, " "), "invented ⟦user-99:" + tok + "⟧, mangled ⟦user-1⟧ and [USER_1]", "third"},
					"next_step": "Ask " + seen[0] + "."})
				return inteltest.GeminiReply{Text: string(b)}
			}
			c := sampleCase("R")
			c.Raw = json.RawMessage(`{"user":"alice","host":{"name":"ws-fin-042.corp.local"},"msg":"mail from bob.smith@corp.example.com","cmd":"runas /user:CORP\\svc_backup cmd","src":"10.0.0.5","dst":"185.220.101.45"}`)
			cl := newClassifier(t, fake, func(o *gemini.Options) {
				o.Model, o.Redact, o.InternalDomains = "gemini-2.5-flash", true, tt.internal
			})
			assert.Contains(t, cl.CacheParams(), "|redact-v2", "a redacted prompt is another question")
			res := classifyAll(t, runnerWith(t, cl, cache.Nop{}, nil), []classify.Case{c})
			user := fake.Requests()[0].User
			for _, secret := range tt.secrets {
				assert.NotContains(t, strings.ToLower(user), strings.ToLower(secret), "the prompt leaks %s", secret)
			}
			for _, k := range tt.kept {
				assert.Contains(t, user, k, "evidence stays")
			}
			seen := res[0].Reasoning[0]
			assert.NotContains(t, seen, "⟦", "every placeholder the model echoes is mapped back: %s", seen)
			for _, v := range tt.restored {
				assert.Contains(t, strings.Fields(seen), v)
			}
			assert.Equal(t, "invented ⟦user-99:"+placeholderToken(t, user)+"⟧, mangled ⟦user-1⟧ and [USER_1]", res[0].Reasoning[1],
				"placeholders the model made up stay as they are")
			assert.Regexp(t, `^Ask (alice|ws-fin-042\.corp\.local|bob\.smith|10\.0\.0\.5|CORP|svc_backup|corp\.example\.com)\.$`, res[0].NextStep)
		})
	}
}

func placeholderToken(t *testing.T, prompt string) string {
	t.Helper()
	ph := placeholderRE.FindString(prompt)
	require.NotEmpty(t, ph)
	return strings.TrimSuffix(ph[strings.LastIndex(ph, ":")+1:], "⟧")
}
