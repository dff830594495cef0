package report

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/model"
)

const (
	listedHash = "24d004a104d4d54034dbcffc2a4b19a11f39008a575aa614ea04703480b1022c"
	c2IP       = "185.220.101.45"
)

// flaggedAlert is issue 9's case: a MALICIOUS alert whose hash is listed in a
// feed, beside 8.8.8.8 and update.microsoft.com that nobody flagged.
func flaggedAlert() *model.Alert {
	return &model.Alert{
		ID: "mal-1", Risk: model.Risk{Score: 70, Verdict: model.Malicious},
		IOCs: []model.IOC{
			{Type: "sha256", Value: listedHash, Fields: []string{"file.hash.sha256"}},
			{Type: "ipv4", Value: "8.8.8.8", Fields: []string{"dns.resolver"}},
			{Type: "domain", Value: "update.microsoft.com", Fields: []string{"url.domain"}},
			{Type: "ipv4", Value: "10.1.2.3", Fields: []string{"source.ip"}, Skipped: "private"},
		},
		Enrichment: map[string]map[string]*model.Result{
			listedHash: {"feeds": {Status: model.StatusFound, Matches: []model.FeedMatch{{Feed: "malwarebazaar-sha256.txt"}}},
				"virustotal": {Status: model.StatusFound, Malicious: model.Int(52)}},
			"8.8.8.8": {"virustotal": {Status: model.StatusFound, Malicious: model.Int(0)},
				"abuseipdb": {Status: model.StatusFound, AbuseConfidenceScore: model.Int(0)}},
			"update.microsoft.com": {"virustotal": {Status: model.StatusNotFound}},
			"10.1.2.3":             {"feeds": {Status: model.StatusFound, Matches: []model.FeedMatch{{Feed: "internal.txt"}}}},
		},
	}
}

func blocklist(t *testing.T, b *BlocklistWriter, alerts ...*model.Alert) string {
	t.Helper()
	require.NoError(t, b.Begin(&model.Report{GeneratedAt: "2026-11-22T00:00:00Z"}))
	for _, a := range alerts {
		require.NoError(t, b.Alert(a))
	}
	require.NoError(t, b.End(nil))
	return string(b.Bytes())
}

func TestBlocklistHoldsOnlyFlaggedIOCs(t *testing.T) {
	t.Parallel()
	ip := func(value string, results map[string]*model.Result, v model.Verdict) *model.Alert {
		return &model.Alert{ID: "a-" + value, Risk: model.Risk{Verdict: v},
			IOCs: []model.IOC{{Type: "ipv4", Value: value}}, Enrichment: map[string]map[string]*model.Result{value: results}}
	}
	found := func(r model.Result) *model.Result { r.Status = model.StatusFound; return &r }
	tests := []struct {
		name   string
		alerts []*model.Alert
		min    model.Verdict
		want   string
	}{
		{name: "a listed hash beside 8.8.8.8 and update.microsoft.com: the hash alone", alerts: []*model.Alert{flaggedAlert()}, want: listedHash + "\n"},
		{name: "one VirusTotal detection flags", alerts: []*model.Alert{ip(c2IP, map[string]*model.Result{"virustotal": found(model.Result{Malicious: model.Int(1)})}, model.Malicious)}, want: c2IP + "\n"},
		{name: "no VirusTotal detection does not", alerts: []*model.Alert{ip(c2IP, map[string]*model.Result{"virustotal": found(model.Result{Malicious: model.Int(0), Suspicious: model.Int(3)})}, model.Malicious)}},
		{name: "AbuseIPDB 75 flags", alerts: []*model.Alert{ip(c2IP, map[string]*model.Result{"abuseipdb": found(model.Result{AbuseConfidenceScore: model.Int(75)})}, model.Malicious)}, want: c2IP + "\n"},
		{name: "AbuseIPDB 74 does not", alerts: []*model.Alert{ip(c2IP, map[string]*model.Result{"abuseipdb": found(model.Result{AbuseConfidenceScore: model.Int(74)})}, model.Malicious)}},
		{name: "an error answer flags nothing", alerts: []*model.Alert{ip(c2IP, map[string]*model.Result{"virustotal": {Status: model.StatusError, Malicious: model.Int(9)}}, model.Malicious)}},
		{name: "GreyNoise RIOT keeps it off", alerts: []*model.Alert{ip("8.8.4.4", map[string]*model.Result{
			"feeds": found(model.Result{Matches: []model.FeedMatch{{Feed: "overbroad.txt"}}}), "greynoise": found(model.Result{RIOT: model.Bool(true)})}, model.Malicious)}},
		{name: "GreyNoise benign keeps it off", alerts: []*model.Alert{ip("8.8.4.4", map[string]*model.Result{
			"virustotal": found(model.Result{Malicious: model.Int(2)}), "greynoise": found(model.Result{Classification: "benign"})}, model.Malicious)}},
		{name: "GreyNoise malicious does not", alerts: []*model.Alert{ip(c2IP, map[string]*model.Result{
			"virustotal": found(model.Result{Malicious: model.Int(2)}), "greynoise": found(model.Result{Classification: "malicious", RIOT: model.Bool(false)})}, model.Malicious)}, want: c2IP + "\n"},
		{name: "below --blocklist-min", alerts: []*model.Alert{ip(c2IP, map[string]*model.Result{"virustotal": found(model.Result{Malicious: model.Int(5)})}, model.Suspicious)}},
		{name: "at a lower --blocklist-min", min: model.Suspicious, alerts: []*model.Alert{ip(c2IP, map[string]*model.Result{"virustotal": found(model.Result{Malicious: model.Int(5)})}, model.Suspicious)}, want: c2IP + "\n"},
		{name: "an UNCHECKED alert never", min: model.Clean, alerts: []*model.Alert{ip(c2IP, map[string]*model.Result{"virustotal": found(model.Result{Malicious: model.Int(5)})}, model.Unchecked)}},
		{name: "a value that is not one clean token never", alerts: []*model.Alert{ip("1.2.3.4\n0.0.0.0", map[string]*model.Result{"virustotal": found(model.Result{Malicious: model.Int(5)})}, model.Malicious)}},
		{name: "sorted, once each", alerts: []*model.Alert{
			ip("9.9.9.9", map[string]*model.Result{"virustotal": found(model.Result{Malicious: model.Int(5)})}, model.Malicious),
			flaggedAlert(), flaggedAlert(),
			ip(c2IP, map[string]*model.Result{"virustotal": found(model.Result{Malicious: model.Int(5)})}, model.Malicious),
		}, want: c2IP + "\n9.9.9.9\n" + listedHash + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			min := tt.min
			if min == "" {
				min = model.Malicious
			}
			assert.Equal(t, tt.want, blocklist(t, NewBlocklistWriter(min), tt.alerts...))
		})
	}
}

func TestBlocklistFormatsAndTypes(t *testing.T) {
	t.Parallel()
	c2 := &model.Alert{ID: "c2", Risk: model.Risk{Verdict: model.Malicious},
		IOCs: []model.IOC{{Type: "ipv4", Value: c2IP}, {Type: "ipv6", Value: "2001:db8::66"}, {Type: "url", Value: "http://evil.example.com/a,b"}},
		Enrichment: map[string]map[string]*model.Result{
			c2IP:                          {"feeds": {Status: model.StatusFound, Matches: []model.FeedMatch{{Feed: "feodo\nipblocklist.txt"}}}, "abuseipdb": {Status: model.StatusFound, AbuseConfidenceScore: model.Int(100)}},
			"2001:db8::66":                {"virustotal": {Status: model.StatusFound, Malicious: model.Int(3)}},
			"http://evil.example.com/a,b": {"virustotal": {Status: model.StatusFound, Malicious: model.Int(7)}},
		}}
	t.Run("plain is values only", func(t *testing.T) {
		t.Parallel()
		got := blocklist(t, NewBlocklistWriter(model.Malicious), c2, flaggedAlert())
		assert.Equal(t, c2IP+"\n2001:db8::66\nhttp://evil.example.com/a,b\n"+listedHash+"\n", got)
		for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
			assert.NotContains(t, line, " ", "a plain line is one value")
			assert.NotContains(t, line, "#")
		}
	})
	t.Run("--blocklist-types ipv4 keeps only IPv4", func(t *testing.T) {
		t.Parallel()
		b := NewBlocklistWriter(model.Malicious)
		b.Types = []string{"ipv4"}
		assert.Equal(t, c2IP+"\n", blocklist(t, b, c2, flaggedAlert()))
	})
	t.Run("annotated: a comment line before each value, never inline", func(t *testing.T) {
		t.Parallel()
		b := NewBlocklistWriter(model.Malicious)
		b.Format = BlocklistAnnotated
		b.Types = []string{"ipv4", "sha256"}
		got := blocklist(t, b, c2, flaggedAlert(), flaggedAlert())
		assert.Equal(t, `# verdict blocklist: indicators a source flagged in alerts with risk verdict MALICIOUS or worse
# generated 2026-11-22T00:00:00Z; 2 entries; review before blocking
# ipv4: listed in feodo\nipblocklist.txt; AbuseIPDB: confidence 100 (1 alert)
`+c2IP+`
# sha256: listed in malwarebazaar-sha256.txt; VirusTotal: 52 malicious detections (2 alerts)
`+listedHash+"\n", got)
		for _, line := range strings.Split(got, "\n") {
			if line != "" && !strings.HasPrefix(line, "#") {
				assert.NotContains(t, line, "#", "no inline comment")
			}
		}
	})
	t.Run("csv: type,value,reason,alerts", func(t *testing.T) {
		t.Parallel()
		b := NewBlocklistWriter(model.Malicious)
		b.Format = BlocklistCSV
		rows, err := csv.NewReader(strings.NewReader(blocklist(t, b, c2, flaggedAlert()))).ReadAll()
		require.NoError(t, err)
		assert.Equal(t, [][]string{
			{"type", "value", "reason", "alerts"},
			{"ipv4", c2IP, `listed in feodo\nipblocklist.txt; AbuseIPDB: confidence 100`, "1"},
			{"ipv6", "2001:db8::66", "VirusTotal: 3 malicious detections", "1"},
			{"url", "http://evil.example.com/a,b", "VirusTotal: 7 malicious detections", "1"},
			{"sha256", listedHash, "listed in malwarebazaar-sha256.txt; VirusTotal: 52 malicious detections", "1"},
		}, rows)
	})
	t.Run("an empty plain list is an empty file", func(t *testing.T) {
		t.Parallel()
		assert.Empty(t, blocklist(t, NewBlocklistWriter(model.Malicious)))
	})
}

func TestParseBlocklistFormat(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"plain", "annotated", "CSV", " csv "} {
		_, err := ParseBlocklistFormat(ok)
		assert.NoError(t, err, ok)
	}
	_, err := ParseBlocklistFormat("ipset")
	assert.ErrorContains(t, err, "want one of plain, annotated, csv")
}
