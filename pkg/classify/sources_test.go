package classify

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/verdict-dev/verdict/pkg/model"
)

// GreyNoise's word that an address is a known benign service is a reason to
// call an alert a false positive, and the heuristic says so; it never
// outweighs threat-intel evidence.
func TestHeuristicCitesKnownServices(t *testing.T) {
	t.Parallel()
	riot := func(name string) *model.Result {
		return &model.Result{Status: model.StatusFound, Classification: "benign", RIOT: model.Bool(true), Attrs: map[string]any{"name": name, "noise": false}}
	}
	ip := func(v string) model.IOC { return model.IOC{Type: "ipv4", Value: v, Fields: []string{"dst"}} }
	clean := model.Risk{Score: 0, Verdict: model.Clean, Factors: []string{}, CheckedBy: []string{"greynoise"}}
	tests := []struct {
		name       string
		risk       model.Risk
		iocs       []model.IOC
		enrichment map[string]map[string]*model.Result
		wantLabel  string
		wantReason string // "" means no GreyNoise reason at all
	}{
		{name: "happy path: a RIOT address is a false positive, and GreyNoise is cited", risk: clean, iocs: []model.IOC{ip("8.8.8.8")},
			enrichment: map[string]map[string]*model.Result{"8.8.8.8": {"greynoise": riot("Google Public DNS")}},
			wantLabel:  FalsePositive, wantReason: "GreyNoise: 8.8.8.8 is Google Public DNS, a known benign service (RIOT)."},
		{name: "RIOT without a name", risk: clean, iocs: []model.IOC{ip("1.1.1.1")},
			enrichment: map[string]map[string]*model.Result{"1.1.1.1": {"greynoise": {Status: model.StatusFound, RIOT: model.Bool(true)}}},
			wantLabel:  FalsePositive, wantReason: "GreyNoise: 1.1.1.1 is a known benign service (RIOT)."},
		{name: "a benign scanner", risk: clean, iocs: []model.IOC{ip("71.6.135.131")},
			enrichment: map[string]map[string]*model.Result{"71.6.135.131": {"greynoise": {Status: model.StatusFound, Classification: "benign",
				RIOT: model.Bool(false), Attrs: map[string]any{"name": "Shodan.io", "noise": true}}}},
			wantLabel: FalsePositive, wantReason: "GreyNoise: 71.6.135.131 is classified benign (Shodan.io)."},
		{name: "a malicious verdict from the feeds wins; no false-positive talk", risk: model.Risk{Score: 70, Verdict: model.Malicious,
			Factors: []string{"IP 185.220.101.45: listed in c2.txt (c2) (+70)"}, CheckedBy: []string{"feeds", "greynoise"}},
			iocs: []model.IOC{ip("8.8.8.8"), ip("185.220.101.45")},
			enrichment: map[string]map[string]*model.Result{
				"8.8.8.8":        {"greynoise": riot("Google Public DNS"), "feeds": {Status: model.StatusNotFound}},
				"185.220.101.45": {"feeds": {Status: model.StatusFound, Matches: []model.FeedMatch{{Feed: "c2.txt", Category: "c2"}}}},
			},
			wantLabel: TruePositive},
		{name: "a malicious label that scores nothing is still no false positive", risk: clean, iocs: []model.IOC{ip("185.220.101.45")},
			enrichment: map[string]map[string]*model.Result{"185.220.101.45": {"greynoise": {Status: model.StatusFound, Classification: "malicious",
				RIOT: model.Bool(false), Attrs: map[string]any{"noise": true}}}},
			wantLabel: NeedsReview, wantReason: "GreyNoise classifies 185.220.101.45 as malicious (seen scanning the internet)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Heuristic(Case{Raw: json.RawMessage(`{"rule":"Outbound DNS","severity":"medium"}`), Risk: tt.risk, IOCs: tt.iocs, Enrichment: tt.enrichment}, WhyNoKey)
			assert.Equal(t, tt.wantLabel, c.Label, "%v", c.Reasoning)
			joined := strings.Join(c.Reasoning, "\n")
			if tt.wantReason == "" {
				assert.NotContains(t, joined, "known benign service")
				assert.NotContains(t, joined, "classified benign")
				return
			}
			assert.Contains(t, c.Reasoning, tt.wantReason)
		})
	}
}

// The prompt and the heuristic see the new sources' facts; the summary,
// part of the classification cache key, leaves out what only the run's
// clock changes (a domain's age in days), not the date it comes from.
func TestEnrichmentSummaryNewSources(t *testing.T) {
	t.Parallel()
	c := Case{
		IOCs: []model.IOC{{Type: "ipv4", Value: "45.9.148.7", Fields: []string{"dst"}}, {Type: "domain", Value: "evil-new.top", Fields: []string{"query"}}},
		Enrichment: map[string]map[string]*model.Result{
			"45.9.148.7": {
				"greynoise":  {Status: model.StatusFound, Classification: "malicious", RIOT: model.Bool(false), Attrs: map[string]any{"noise": true}},
				"internetdb": {Status: model.StatusFound, Tags: []string{"compromised"}, Hostnames: []string{"vps.example.net"}, Attrs: map[string]any{"ports": []int{22, 80}, "vulns": []string{"CVE-2021-44228"}}},
			},
			"evil-new.top": {"rdap": {Status: model.StatusFound, Attrs: map[string]any{"registered": "2026-11-29T10:12:00Z", "domain_age_days": 4, "registrar": "NameSilo, LLC"}}},
		},
	}
	lines := EnrichmentSummary(c)
	assert.Equal(t, []string{
		"ipv4 45.9.148.7 (fields: dst): greynoise: classification malicious, noise true; " +
			"internetdb: tags compromised, hostnames vps.example.net, ports 22, 80, vulns CVE-2021-44228",
		"domain evil-new.top (fields: query): rdap: registered 2026-11-29T10:12:00Z, registrar NameSilo, LLC",
	}, lines)

	later := c
	later.Enrichment = map[string]map[string]*model.Result{"45.9.148.7": c.Enrichment["45.9.148.7"],
		"evil-new.top": {"rdap": {Status: model.StatusFound, Attrs: map[string]any{"registered": "2026-11-29T10:12:00Z", "domain_age_days": 5, "registrar": "NameSilo, LLC"}}}}
	assert.Equal(t, Digest(c), Digest(later), "a day later the same answer is the same question")
	assert.Contains(t, c.Enrichment["evil-new.top"]["rdap"].Attrs, "domain_age_days", "the answer itself is left alone")
}
