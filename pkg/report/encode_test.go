package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/model"
)

// reference encodes like the hand-written encoder claims to.
func reference(t testing.TB, a *model.Alert, l layout) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if !l.compact {
		enc.SetIndent(l.prefix, "  ")
	}
	require.NoError(t, enc.Encode(a))
	return strings.TrimRight(b.String(), "\n")
}

func sampleAlerts() []*model.Alert {
	shared := map[string]*model.Result{
		"feeds":      {Status: model.StatusFound, Matches: []model.FeedMatch{{Feed: "a.txt", Entry: "1.2.0.0/16", Info: "<b>&\"x\""}}},
		"virustotal": {Status: model.StatusFound, Malicious: model.Int(0), Tags: []string{}, Country: "DE"},
		"abuseipdb":  {Status: model.StatusSkipped, Reason: "offline"},
	}
	return []*model.Alert{
		{
			ID:     "A-1 <script>\u2028\x01\"\\",
			Source: model.Source{File: "x/alerts.json", Record: 3, Line: 7},
			Alert:  json.RawMessage(`{"b": [1, 2, {"c":"\u003c\/x\u003e"}], "a" : "caf\u00e9 \u2028", "n": null}`),
			IOCs: []model.IOC{
				{Type: "ipv4", Value: "1.2.3.4", Fields: []string{"src", "msg"}},
				{Type: "ipv4", Value: "10.0.0.1", Fields: []string{"dst"}, Skipped: "private"},
				{Type: "domain", Value: "bad.example.com", Fields: []string{}},
			},
			Enrichment: map[string]map[string]*model.Result{"1.2.3.4": shared, "bad.example.com": {}},
			Risk:       model.Risk{Score: 40, Verdict: model.Suspicious, Factors: []string{"IP 1.2.3.4: listed (+40)"}},
			Classification: &model.Classification{Label: "NEEDS_REVIEW", Confidence: 50, Reasoning: []string{"a <b> & c", "b", "c"},
				Source: "heuristic", Why: "no key", CostUSD: 0.00012},
		},
		{ID: "bare", Alert: json.RawMessage(`{}`), IOCs: []model.IOC{}, Enrichment: map[string]map[string]*model.Result{}, Risk: model.Risk{Verdict: model.Clean, Factors: []string{}}},
		{ID: "nils", Alert: nil, Risk: model.Risk{Verdict: model.Clean}},
		{ID: "bad utf8 \xff\xfe", Source: model.Source{File: "f", Record: 1}, Alert: json.RawMessage("{\"k\":\"v\"}"), Enrichment: map[string]map[string]*model.Result{"x": nil}},
	}
}

func TestEncodeAlertMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, l := range []layout{alertLayout, {compact: true}, {prefix: "    "}, {prefix: ""}} {
		cache := &enrichmentCache{}
		for _, a := range sampleAlerts() {
			for _, shared := range []bool{false, true, true} { // the second shared pass hits the cache
				a.SharedEnrichment = shared
				got, err := l.appendAlert(nil, a, cache)
				require.NoError(t, err)
				a.SharedEnrichment = false
				require.Equal(t, reference(t, a, l), string(got), "alert %q, layout %+v", a.ID, l)
			}
		}
	}
}

func FuzzAppendIndented(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,{"b":{}},[]],"c":"x\"}{[,:"}`, ` { "a" : [ ] , "b":{ } } `, `"s"`, `12.5e3`, `[{"k":"\u2028"}]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !json.Valid([]byte(s)) {
			return
		}
		var want bytes.Buffer
		if err := json.Indent(&want, []byte(s), "  ", "  "); err != nil {
			t.Fatal(err)
		}
		got, err := layout{prefix: "  "}.appendIndented(nil, []byte(s), "  ")
		if err != nil {
			t.Fatal(err)
		}
		if w := strings.TrimSpace(want.String()); string(got) != w {
			t.Fatalf("appendIndented(%q) = %q, want %q", s, got, w)
		}
		want.Reset()
		if err := json.Compact(&want, []byte(s)); err != nil {
			t.Fatal(err)
		}
		got, err = layout{compact: true}.appendIndented(nil, []byte(s), "")
		if err != nil {
			t.Fatal(err)
		}
		if w := strings.TrimSpace(want.String()); string(got) != w {
			t.Fatalf("compact appendIndented(%q) = %q, want %q", s, got, w)
		}
	})
}
