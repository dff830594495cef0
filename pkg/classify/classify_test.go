package classify

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/model"
)

func TestFingerprintIgnoresVolatileFields(t *testing.T) {
	t.Parallel()
	a, _ := Fingerprint(json.RawMessage(`{"id":"1","@timestamp":"2026-11-22T01:00:00Z","flow_id":1,"event":{"id":"e1","created":"x"},"rule":"r","dst":"1.2.3.4","when":"2026-11-22 01:02:03"}`))
	b, _ := Fingerprint(json.RawMessage(`{"rule":"r","dst":"1.2.3.4","id":"2","@timestamp":"2026-11-23T09:00:00Z","flow_id":2,"event":{"id":"e2","created":"y"},"when":"2026-11-23 05:06:07"}`))
	c, _ := Fingerprint(json.RawMessage(`{"rule":"r","dst":"1.2.3.5"}`))
	d, _ := Fingerprint(json.RawMessage(`{"rule":"r","dst":"1.2.3.4","DeviceName":"ws-1"}`))
	e, _ := Fingerprint(json.RawMessage(`{"rule":"r","dst":"1.2.3.4","src_port":51234,"source":{"port":1}}`))
	f, _ := Fingerprint(json.RawMessage(`{"rule":"r","dst":"1.2.3.4","dest_port":22}`))
	base, _ := Fingerprint(json.RawMessage(`{"rule":"r","dst":"1.2.3.4"}`))
	assert.Equal(t, base, e, "ephemeral source ports are noise")
	assert.NotEqual(t, a, f, "the destination port matters")
	assert.Equal(t, a, b, "only ids and timestamps differ")
	assert.NotEqual(t, a, c, "a different address is a different alert")
	assert.NotEqual(t, a, d, "stable attributes such as the device stay")
}

func TestGuard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		label   string
		verdict model.Verdict
		want    string
	}{
		{name: "FP on MALICIOUS becomes NEEDS_REVIEW", label: FalsePositive, verdict: model.Malicious, want: NeedsReview},
		{name: "FP on SUSPICIOUS stands", label: FalsePositive, verdict: model.Suspicious, want: FalsePositive},
		{name: "TP on MALICIOUS stands", label: TruePositive, verdict: model.Malicious, want: TruePositive},
		{name: "NEEDS_REVIEW on MALICIOUS stands", label: NeedsReview, verdict: model.Malicious, want: NeedsReview},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &model.Classification{Label: tt.label, Confidence: 95, Reasoning: []string{"a", "b", "c"}, Source: SourceGemini}
			Guard(c, model.Risk{Score: 80, Verdict: tt.verdict, Factors: []string{"IP 1.2.3.4: listed (+40)"}})
			assert.Equal(t, tt.want, c.Label)
			if tt.want != tt.label {
				assert.True(t, strings.HasPrefix(c.Reasoning[0], "Conflict:"))
				assert.Contains(t, c.Reasoning[0], "IP 1.2.3.4")
				assert.Len(t, c.Reasoning, 4)
				assert.LessOrEqual(t, c.Confidence, 50)
			} else {
				assert.Len(t, c.Reasoning, 3)
			}
		})
	}
}

func feedHit(feed string) map[string]*model.Result {
	return map[string]*model.Result{"feeds": {Status: model.StatusFound, Matches: []model.FeedMatch{{Feed: feed}}}}
}

func TestHeuristic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		raw        string
		risk       model.Risk
		iocs       []model.IOC
		enrichment map[string]map[string]*model.Result
		want       string
		reason     string
	}{
		{name: "MALICIOUS is a true positive", raw: `{"rule":"x"}`, risk: model.Risk{Score: 80, Verdict: model.Malicious},
			iocs: []model.IOC{{Type: "ipv4", Value: "1.2.3.4"}}, enrichment: map[string]map[string]*model.Result{"1.2.3.4": feedHit("feodo.csv")},
			want: TruePositive, reason: "listed in feodo.csv"},
		{name: "SUSPICIOUS plus Tor is a true positive", raw: `{"msg":"login"}`, risk: model.Risk{Score: 40, Verdict: model.Suspicious},
			iocs: []model.IOC{{Type: "ipv4", Value: "1.2.3.4"}}, enrichment: map[string]map[string]*model.Result{"1.2.3.4": feedHit("tor-exits.txt")},
			want: TruePositive, reason: "Tor exit node"},
		{name: "SUSPICIOUS alone needs review", raw: `{"msg":"dns query"}`, risk: model.Risk{Score: 40, Verdict: model.Suspicious}, want: NeedsReview},
		{name: "POTENTIALLY_SUSPICIOUS needs review", raw: `{}`, risk: model.Risk{Score: 15, Verdict: model.PotentiallySuspicious}, want: NeedsReview},
		{name: "clean policy alert is a false positive", raw: `{"alert":{"signature":"ET POLICY curl User-Agent Outbound","severity":3}}`,
			risk: model.Risk{Verdict: model.Clean}, want: FalsePositive, reason: "policy"},
		{name: "clean but failed logins then success", raw: `{"full_log":"Failed password for root from 10.0.0.9; Accepted password for root from 10.0.0.9"}`,
			risk: model.Risk{Verdict: model.Clean}, want: NeedsReview, reason: "brute force that worked"},
		{name: "clean but high severity", raw: `{"rule":{"level":12,"description":"Multiple authentication failures"}}`,
			risk: model.Risk{Verdict: model.Clean}, want: NeedsReview, reason: "severe"},
		{name: "clean but the rule names an attack", raw: `{"rule_name":"Possible ransomware activity"}`,
			risk: model.Risk{Verdict: model.Clean}, want: NeedsReview, reason: "ransom"},
		{name: "off-hours raises it for a suspicious alert", raw: `{"@timestamp":"2026-11-24T03:12:00Z","msg":"x"}`,
			risk: model.Risk{Score: 40, Verdict: model.Suspicious}, want: NeedsReview, reason: "off-hours (03:12 UTC)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Heuristic(Case{Raw: json.RawMessage(tt.raw), Risk: tt.risk, IOCs: tt.iocs, Enrichment: tt.enrichment}, WhyNoKey)
			assert.Equal(t, tt.want, c.Label)
			assert.Equal(t, SourceHeuristic, c.Source)
			assert.Equal(t, WhyNoKey, c.Why)
			require.Len(t, c.Reasoning, 3)
			assert.GreaterOrEqual(t, c.Confidence, 0)
			assert.LessOrEqual(t, c.Confidence, 100)
			if tt.reason != "" {
				assert.Contains(t, strings.Join(c.Reasoning, " "), tt.reason)
			}
		})
	}
}

func TestRedactorTokens(t *testing.T) {
	t.Parallel()
	// Whole tokens only ("admin" is not in "administrator"); every
	// non-global address, not only the indicators (10.1.2.30 too).
	r := NewRedactor(Case{Raw: json.RawMessage(`{"user":{"name":"admin"},"hostname":"DC01","msg":"admin logged into administrator console on DC01. Mail jo@x.example.com"}`),
		IOCs: []model.IOC{{Type: "ipv4", Value: "10.1.2.3", Skipped: "private"}}}, nil)
	in := "admin and administrator on DC01. from 10.1.2.3 and 10.1.2.30, jo@x.example.com"
	out := r.Apply(in)
	want := "⟦user-1:T⟧ and administrator on ⟦host-1:T⟧. from ⟦ip-private-1:T⟧ and ⟦ip-private-2:T⟧, ⟦user-2:T⟧@x.example.com"
	assert.Equal(t, strings.ReplaceAll(want, ":T⟧", ":"+r.token+"⟧"), out)
	assert.Equal(t, in, r.Restore(out))
}
