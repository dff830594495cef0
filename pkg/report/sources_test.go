package report

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/internal/testutil"
	"github.com/verdict-dev/verdict/pkg/model"
)

// sourcesReport holds one alert with an answer from each keyless source:
// a young domain (RDAP), a RIOT address and a malicious scanner
// (GreyNoise), and open ports (InternetDB). Two strings are hostile: a
// GreyNoise name with markup and a bidi override, a registrar naming a
// domain.
func sourcesReport(t *testing.T) *model.Report {
	t.Helper()
	found := func(r model.Result) *model.Result { r.Status = model.StatusFound; return &r }
	a := &model.Alert{
		ID: "SRC-1", Source: model.Source{File: "a.json", Record: 1}, Alert: json.RawMessage(`{"msg":"beacon"}`),
		IOCs: []model.IOC{
			{Type: "domain", Value: "login.evil-new.top", Fields: []string{"dns.query"}},
			{Type: "domain", Value: "google.com", Fields: []string{"referrer"}},
			{Type: "ipv4", Value: "8.8.8.8", Fields: []string{"dns_server"}},
			{Type: "ipv4", Value: "185.220.101.45", Fields: []string{"dst_ip"}},
		},
		Enrichment: map[string]map[string]*model.Result{
			"login.evil-new.top": {"rdap": found(model.Result{Link: "https://rdap.example/domain/evil-new.top", Attrs: map[string]any{
				"registered": "2026-11-18T09:30:00Z", "domain_age_days": 4, "registrar": "Shady Registrar (see phish.example.net)",
				"registered_domain": "evil-new.top", "domain_status": []string{"client hold"}}})},
			"google.com": {"rdap": found(model.Result{Attrs: map[string]any{"registered": "1997-09-15T04:00:00Z", "domain_age_days": 10660,
				"registrar": "MarkMonitor Inc.", "registered_domain": "google.com"}})},
			"8.8.8.8": {
				"greynoise":  found(model.Result{Classification: "benign", RIOT: model.Bool(true), Attrs: map[string]any{"noise": false, "name": "Google <b>Public</b> DNS\u202e", "last_seen": "2026-11-21"}}),
				"internetdb": found(model.Result{Hostnames: []string{"dns.google"}, Attrs: map[string]any{"ports": []int{53, 443}, "cpes": []string{"cpe:/a:isc:bind"}}}),
			},
			"185.220.101.45": {
				"greynoise":  found(model.Result{Classification: "malicious", RIOT: model.Bool(false), Attrs: map[string]any{"noise": true, "last_seen": "2026-11-21"}}),
				"internetdb": found(model.Result{Tags: []string{"tor"}, Attrs: map[string]any{"ports": []int{22, 443, 9001}, "vulns": []string{"CVE-2023-38408"}}}),
			},
		},
		Risk: model.Risk{Score: 40, Verdict: model.Suspicious, Factors: []string{"domain login.evil-new.top: registered 2026-11-18 (4 days ago) (+40)"},
			CheckedBy: []string{"greynoise", "internetdb", "rdap"}},
	}
	var bv model.ByVerdict
	bv.Add(a.Risk.Verdict)
	return &model.Report{SchemaVersion: model.SchemaVersion, Tool: model.Tool{Name: "verdict", Version: "test"}, GeneratedAt: "2026-11-22T00:00:00Z",
		Inputs: []string{"a.json"}, InputErrors: []model.InputError{}, Alerts: []*model.Alert{a},
		Summary: model.Summary{Alerts: 1, ByVerdict: bv, IOCs: model.IOCCounts{Unique: 4}}}
}

// Every human format shows the new sources' facts: the domain's age, what
// GreyNoise calls an address, what Shodan saw open.
func TestNewSourcesInReports(t *testing.T) {
	t.Parallel()
	rep := sourcesReport(t)

	txt, err := renderAll(rep, FormatTXT)
	require.NoError(t, err)
	md, err := renderAll(rep, FormatMarkdown)
	require.NoError(t, err)
	html, err := renderAll(rep, FormatHTML)
	require.NoError(t, err)

	for name, out := range map[string]string{"txt": txt, "md": md, "html": html} {
		assert.Contains(t, out, "registered 2026-11-18 (4 days ago)", name)
		assert.Contains(t, out, "open ports 22, 443, 9001; 1 known CVE", name)
		assert.Contains(t, out, "malicious, internet scanner", name)
		assert.NotContains(t, out, "phish.example.net", "%s: a registrar's text is defanged like any text", name)
		assert.NotContains(t, out, "\u202e", "%s: no bidi override reaches a reader", name)
	}
	// Text shows the headline and the rest of the answer on one line.
	assert.Contains(t, txt, "rdap: found - registered 2026-11-18 (4 days ago); domain status")
	assert.Contains(t, txt, "registered 1997-09-15 (10660 days ago)")
	assert.Contains(t, txt, "greynoise: found - benign, known service (RIOT): Google")
	assert.Contains(t, txt, "hosts: dns[.]google")

	// The HTML detail sets the headline apart: a young domain and a
	// malicious label stand out in red, a known service in green.
	assert.Contains(t, html, `<span class="tag t-bad">registered 2026-11-18 (4 days ago)</span>`)
	assert.Contains(t, html, `<span class="tag">registered 1997-09-15 (10660 days ago)</span>`, "an old domain is not a warning")
	assert.Contains(t, html, `<span class="tag t-good">benign, known service (RIOT): Google &lt;b&gt;Public&lt;/b&gt; DNS\u202e</span>`, "markup is text, the override shown escaped")
	assert.Contains(t, html, `<span class="tag t-bad">malicious, internet scanner</span>`)
	for _, p := range htmlProblems(html) {
		t.Error(p)
	}

	// Markdown lists the headlines under the alert's factors.
	assert.Contains(t, md, `- login.evil-new\[.\]top: rdap registered 2026-11-18 (4 days ago)`)
	assert.Contains(t, md, `- 8.8.8\[.\]8: greynoise benign, known service (RIOT): Google &lt;b&gt;Public&lt;/b&gt; DNS`)
	testutil.Golden(t, *update, []byte(strings.Join([]string{txt, md}, "\n----- md -----\n")))
}

func TestHeadline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		provider   string
		r          model.Result
		label      string
		tone       string
		wantDetail string
	}{
		{name: "a young domain", provider: "rdap", r: model.Result{Attrs: map[string]any{"registered": "2026-11-30T00:00:00Z", "domain_age_days": json.Number("3")}},
			label: "registered 2026-11-30 (3 days ago)", tone: "bad"},
		{name: "boundary: 30 days is still young", provider: "rdap", r: model.Result{Attrs: map[string]any{"registered": "2026-11-03T00:00:00Z", "domain_age_days": 30}},
			label: "registered 2026-11-03 (30 days ago)", tone: "bad"},
		{name: "31 days is not", provider: "rdap", r: model.Result{Attrs: map[string]any{"registered": "2026-11-02T00:00:00Z", "domain_age_days": 31}},
			label: "registered 2026-11-02 (31 days ago)"},
		{name: "one day", provider: "rdap", r: model.Result{Attrs: map[string]any{"registered": "2026-12-02T00:00:00Z", "domain_age_days": 1}},
			label: "registered 2026-12-02 (1 day ago)", tone: "bad"},
		{name: "a date without an age", provider: "rdap", r: model.Result{Attrs: map[string]any{"registered": "2027-06-01T00:00:00Z"}},
			label: "registered 2027-06-01"},
		{name: "found, age unknown", provider: "rdap", r: model.Result{Attrs: map[string]any{"registrar": "X"}},
			label: "registration date unknown", wantDetail: "registrar X"},
		{name: "GreyNoise unknown, a scanner", provider: "greynoise", r: model.Result{Classification: "unknown", RIOT: model.Bool(false), Attrs: map[string]any{"noise": true}},
			label: "unknown, internet scanner"},
		{name: "RIOT without a name", provider: "greynoise", r: model.Result{RIOT: model.Bool(true)}, label: "known service (RIOT)", tone: "good"},
		{name: "a benign scanner keeps its name in the detail", provider: "greynoise",
			r: model.Result{Classification: "benign", Attrs: map[string]any{"noise": true, "name": "Shodan.io"}}, label: "benign, internet scanner", tone: "good",
			wantDetail: "name Shodan[.]io"},
		{name: "ports read back from JSON", provider: "internetdb", r: model.Result{Attrs: map[string]any{"ports": []any{json.Number("80")}}},
			label: "open ports 80"},
		{name: "many ports", provider: "internetdb", r: model.Result{Attrs: map[string]any{"ports": []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}}},
			label: "open ports 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 (+2 more)"},
		{name: "no headline for others", provider: "virustotal", r: model.Result{Malicious: model.Int(1)}, wantDetail: "1 malicious"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.r.Status = model.StatusFound
			rv := resultView(tt.provider, &tt.r)
			assert.Equal(t, tt.label, rv.Label)
			assert.Equal(t, tt.tone, rv.Tone)
			if tt.wantDetail != "" {
				assert.Equal(t, tt.wantDetail, rv.Detail)
			}
		})
	}
}
