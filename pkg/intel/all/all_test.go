package all_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/intel"
	_ "github.com/verdict-dev/verdict/pkg/intel/all"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/score"
)

func vt(malicious int) *model.Result {
	return &model.Result{Status: model.StatusFound, Malicious: model.Int(malicious)}
}

func abuse(conf int) *model.Result {
	return &model.Result{Status: model.StatusFound, AbuseConfidenceScore: model.Int(conf)}
}

func feedHit(names ...string) *model.Result {
	r := &model.Result{Status: model.StatusFound}
	for _, n := range names {
		r.Matches = append(r.Matches, model.FeedMatch{Feed: n})
	}
	return r
}

func ind(t ioc.Type, v string, res map[string]*model.Result) score.Indicator {
	return score.Indicator{IOC: ioc.IOC{Type: t, Value: v}, Results: res}
}

// The built-in providers register valid entries, and each provider takes
// exactly the types its registration lists.
func TestBuiltInRegistrations(t *testing.T) {
	t.Parallel()
	require.NoError(t, intel.CheckRegistrations("feeds"))
	regs := intel.Registrations()
	require.GreaterOrEqual(t, len(regs), 2)
	assert.Equal(t, "virustotal", regs[0].Name, "report order")
	assert.Equal(t, "abuseipdb", regs[1].Name)
	for _, r := range regs {
		p, err := r.New(intel.Settings{APIKey: "k", BaseURL: r.Defaults.BaseURL, Params: map[string]string{}})
		require.NoError(t, err, r.Name)
		assert.Equal(t, r.Name, p.Name())
		for _, typ := range ioc.AllTypes {
			assert.Equal(t, r.Supports(typ), p.Supports(typ), "%s %s", r.Name, typ)
		}
		for _, rule := range r.Rules {
			assert.Equal(t, r.Name, rule.Provider)
		}
	}
}

func TestDefaultScoringTable(t *testing.T) {
	t.Parallel()
	s, err := score.New(intel.DefaultScoring())
	require.NoError(t, err)
	ip := "185.220.101.45"
	tests := []struct {
		name        string
		inds        []score.Indicator
		wantScore   int
		wantVerdict model.Verdict
		wantFactors []string
	}{
		{name: "no indicators", wantScore: 0, wantVerdict: model.Clean, wantFactors: nil},
		{name: "IP with one VT detection", inds: []score.Indicator{ind(ioc.IPv4, ip, map[string]*model.Result{"virustotal": vt(1)})},
			wantScore: 40, wantVerdict: model.Suspicious, wantFactors: []string{"IP 185.220.101.45: 1 VirusTotal malicious detection (+40)"}},
		{name: "IP with zero VT detections scores nothing", inds: []score.Indicator{ind(ioc.IPv4, ip, map[string]*model.Result{"virustotal": vt(0)})},
			wantScore: 0, wantVerdict: model.Clean},
		{name: "hash with VT detections", inds: []score.Indicator{ind(ioc.SHA256, "aa", map[string]*model.Result{"virustotal": vt(15)})},
			wantScore: 40, wantVerdict: model.Suspicious, wantFactors: []string{"SHA-256 aa: 15 VirusTotal malicious detections (+40)"}},
		{name: "domain with VT detections", inds: []score.Indicator{ind(ioc.Domain, "evil.com", map[string]*model.Result{"virustotal": vt(3)})},
			wantScore: 25, wantVerdict: model.PotentiallySuspicious},
		{name: "URL with VT detections", inds: []score.Indicator{ind(ioc.URL, "http://evil.com/", map[string]*model.Result{"virustotal": vt(3)})},
			wantScore: 25, wantVerdict: model.PotentiallySuspicious},
		{name: "AbuseIPDB 75 is high", inds: []score.Indicator{ind(ioc.IPv4, ip, map[string]*model.Result{"abuseipdb": abuse(75)})}, wantScore: 30, wantVerdict: model.PotentiallySuspicious},
		{name: "AbuseIPDB 74 is medium", inds: []score.Indicator{ind(ioc.IPv4, ip, map[string]*model.Result{"abuseipdb": abuse(74)})}, wantScore: 15, wantVerdict: model.PotentiallySuspicious},
		{name: "AbuseIPDB 25 is medium", inds: []score.Indicator{ind(ioc.IPv6, "2001:4860::1", map[string]*model.Result{"abuseipdb": abuse(25)})}, wantScore: 15, wantVerdict: model.PotentiallySuspicious},
		{name: "AbuseIPDB 24 is nothing", inds: []score.Indicator{ind(ioc.IPv4, ip, map[string]*model.Result{"abuseipdb": abuse(24)})}, wantScore: 0, wantVerdict: model.Clean},
		{name: "feed hit", inds: []score.Indicator{ind(ioc.Domain, "evil.com", map[string]*model.Result{"feeds": feedHit("a.txt", "b.csv")})},
			wantScore: 40, wantVerdict: model.Suspicious, wantFactors: []string{"domain evil.com: listed in a.txt (listed), b.csv (listed) (+40)"}},
		{name: "VT, AbuseIPDB and feed add up to MALICIOUS", inds: []score.Indicator{ind(ioc.IPv4, ip, map[string]*model.Result{"virustotal": vt(15), "abuseipdb": abuse(100), "feeds": feedHit("tor.txt")})},
			wantScore: 100, wantVerdict: model.Malicious},
		{name: "sum is capped at 100", inds: []score.Indicator{
			ind(ioc.IPv4, ip, map[string]*model.Result{"virustotal": vt(15), "abuseipdb": abuse(100)}),
			ind(ioc.SHA256, "bb", map[string]*model.Result{"virustotal": vt(30), "feeds": feedHit("mb.csv")}),
		}, wantScore: 100, wantVerdict: model.Malicious},
		{name: "not_found and errors score nothing", inds: []score.Indicator{ind(ioc.IPv4, ip, map[string]*model.Result{
			"virustotal": {Status: model.StatusNotFound}, "abuseipdb": {Status: model.StatusError, AbuseConfidenceScore: model.Int(100)}})},
			wantScore: 0, wantVerdict: model.Clean},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := s.Score(tt.inds)
			assert.Equal(t, tt.wantScore, r.Score)
			assert.Equal(t, tt.wantVerdict, r.Verdict)
			if tt.wantFactors != nil {
				assert.Equal(t, tt.wantFactors, r.Factors)
			}
			assert.NotNil(t, r.Factors, "factors is [] not null in JSON")
		})
	}
}

func listing(feed, category string) *model.Result {
	return &model.Result{Status: model.StatusFound, Matches: []model.FeedMatch{{Feed: feed, Category: category}}}
}

// URLhaus and ThreatFox listings score as a local feed of their category
// would, in the feeds group: an artifact listed by them and by a local
// feed counts its highest feed signal once.
func TestAbuseChListingsScoreAsFeeds(t *testing.T) {
	t.Parallel()
	s, err := score.New(intel.DefaultScoring())
	require.NoError(t, err)
	ip, url := "185.220.101.45", "http://evil.example-bad.com/x.exe"
	const md5, sha = "5b7e82e051ade4b14d163eea2a17bf8b", "b325c92fa540edeb89b95dbfd4400c1cb33599c66859a87aead820e568a2ebe7"
	tests := []struct {
		name        string
		inds        []score.Indicator
		wantScore   int
		wantFactors []string
	}{
		{name: "URLhaus URL listing is +70", inds: []score.Indicator{ind(ioc.URL, url, map[string]*model.Result{"urlhaus": listing("URLhaus", "malware")})},
			wantScore: 70, wantFactors: []string{"URL " + url + ": listed in URLhaus (malware) (+70)"}},
		{name: "ThreatFox c2 is +70", inds: []score.Indicator{ind(ioc.IPv4, ip, map[string]*model.Result{"threatfox": listing("ThreatFox", "c2")})},
			wantScore: 70, wantFactors: []string{"IP " + ip + ": listed in ThreatFox (c2) (+70)"}},
		{name: "URLhaus host with no listing (abused legitimate site) scores nothing",
			inds:      []score.Indicator{ind(ioc.Domain, "gist.github.com", map[string]*model.Result{"urlhaus": {Status: model.StatusFound, Attrs: map[string]any{"abused_legit": true}}})},
			wantScore: 0},
		{name: "a local feed, URLhaus and ThreatFox on one indicator count once",
			inds: []score.Indicator{ind(ioc.IPv4, ip, map[string]*model.Result{
				"feeds": feedHit("tor.txt"), "urlhaus": listing("URLhaus", "malware"), "threatfox": listing("ThreatFox", "c2")})},
			wantScore: 70},
		{name: "a ThreatFox listing beats a weaker local feed, still once",
			inds: []score.Indicator{ind(ioc.IPv4, ip, map[string]*model.Result{
				"feeds": {Status: model.StatusFound, Matches: []model.FeedMatch{{Feed: "tor-exits.txt", Category: "anonymizer"}}}, "threatfox": listing("ThreatFox", "c2")})},
			wantScore: 70},
		{name: "the MD5 and SHA-256 of one file, listed by URLhaus and a feed, count once", inds: []score.Indicator{
			{IOC: ioc.IOC{Type: ioc.MD5, Value: md5}, Results: map[string]*model.Result{"urlhaus": listing("URLhaus", "malware")}, Artifact: 1},
			{IOC: ioc.IOC{Type: ioc.SHA256, Value: sha}, Results: map[string]*model.Result{"feeds": {Status: model.StatusFound,
				Matches: []model.FeedMatch{{Feed: "malwarebazaar.csv", Category: "malware"}}}}, Artifact: 1},
		}, wantScore: 70},
		{name: "two artifacts listed are two signals", inds: []score.Indicator{
			ind(ioc.IPv4, ip, map[string]*model.Result{"threatfox": listing("ThreatFox", "c2")}),
			ind(ioc.URL, url, map[string]*model.Result{"urlhaus": listing("URLhaus", "malware")}),
		}, wantScore: 100},
		{name: "not_found and skipped score nothing", inds: []score.Indicator{ind(ioc.IPv4, ip, map[string]*model.Result{
			"urlhaus": {Status: model.StatusNotFound}, "threatfox": {Status: model.StatusSkipped, Reason: "no_api_key"}})}, wantScore: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := s.Score(tt.inds)
			assert.Equal(t, tt.wantScore, r.Score)
			if tt.wantFactors != nil {
				assert.Equal(t, tt.wantFactors, r.Factors)
			}
			assert.LessOrEqual(t, len(r.Factors), len(tt.inds), "at most one feed factor per artifact")
		})
	}
}

func rdapAged(registered string, days int) *model.Result {
	return &model.Result{Status: model.StatusFound, Attrs: map[string]any{"registered": registered, "domain_age_days": days, "registrar": "NameSilo, LLC"}}
}

// Domain age, by the default rules: within 7 days +40, within 30 +25, one
// group (the highest counts), the factor naming the date.
func TestDomainAgeScoring(t *testing.T) {
	t.Parallel()
	s, err := score.New(intel.DefaultScoring())
	require.NoError(t, err)
	tests := []struct {
		name        string
		res         *model.Result
		wantScore   int
		wantFactors []string
	}{
		{name: "registered today", res: rdapAged("2026-12-03T01:00:00Z", 0), wantScore: 40,
			wantFactors: []string{"domain x.top: registered 2026-12-03 (0 days ago) (+40)"}},
		{name: "4 days: the within-7 rule alone, not both", res: rdapAged("2026-11-29T10:12:00Z", 4), wantScore: 40,
			wantFactors: []string{"domain x.top: registered 2026-11-29 (4 days ago) (+40)"}},
		{name: "boundary: 7 days is within 7", res: rdapAged("2026-11-26T00:00:00Z", 7), wantScore: 40,
			wantFactors: []string{"domain x.top: registered 2026-11-26 (7 days ago) (+40)"}},
		{name: "boundary: 8 days is within 30 only", res: rdapAged("2026-11-25T00:00:00Z", 8), wantScore: 25,
			wantFactors: []string{"domain x.top: registered 2026-11-25 (8 days ago) (+25)"}},
		{name: "boundary: 30 days is within 30", res: rdapAged("2026-11-03T00:00:00Z", 30), wantScore: 25},
		{name: "boundary: 31 days scores nothing", res: rdapAged("2026-11-02T00:00:00Z", 31), wantScore: 0, wantFactors: []string{}},
		{name: "an old domain scores nothing", res: rdapAged("1997-09-15T04:00:00Z", 10671), wantScore: 0, wantFactors: []string{}},
		{name: "found, age unknown, scores nothing", res: &model.Result{Status: model.StatusFound, Attrs: map[string]any{"registrar": "X"}},
			wantScore: 0, wantFactors: []string{}},
		{name: "not found scores nothing", res: &model.Result{Status: model.StatusNotFound}, wantScore: 0, wantFactors: []string{}},
		{name: "an error with an age scores nothing", res: &model.Result{Status: model.StatusError, Attrs: map[string]any{"domain_age_days": 1}},
			wantScore: 0, wantFactors: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := s.Score([]score.Indicator{ind(ioc.Domain, "x.top", map[string]*model.Result{"rdap": tt.res})})
			assert.Equal(t, tt.wantScore, r.Score)
			if tt.wantFactors != nil {
				assert.Equal(t, tt.wantFactors, r.Factors)
			}
		})
	}

	// Two young domains are two artifacts; a young domain listed in a feed
	// adds both signals.
	r := s.Score([]score.Indicator{
		ind(ioc.Domain, "a.top", map[string]*model.Result{"rdap": rdapAged("2026-12-01T00:00:00Z", 2)}),
		ind(ioc.Domain, "b.top", map[string]*model.Result{"rdap": rdapAged("2026-11-20T00:00:00Z", 13), "feeds": feedHit("phish.txt")}),
	})
	assert.Equal(t, 100, r.Score, "40 + 25 + 40 (a listing of no known category), capped")
	assert.Len(t, r.Factors, 3)
}

// GreyNoise and InternetDB add no points by default: GreyNoise's rules are
// there at 0 for users to raise, InternetDB has none.
func TestGreyNoiseAndInternetDBScoreNothingByDefault(t *testing.T) {
	t.Parallel()
	s, err := score.New(intel.DefaultScoring())
	require.NoError(t, err)
	yes := true
	r := s.Score([]score.Indicator{ind(ioc.IPv4, "185.220.101.45", map[string]*model.Result{
		"greynoise":  {Status: model.StatusFound, Classification: "malicious", Attrs: map[string]any{"noise": true}},
		"internetdb": {Status: model.StatusFound, Tags: []string{"compromised"}, Attrs: map[string]any{"ports": []int{22}, "vulns": []string{"CVE-2021-44228"}}},
	}), ind(ioc.IPv4, "8.8.8.8", map[string]*model.Result{"greynoise": {Status: model.StatusFound, Classification: "benign", RIOT: &yes}})})
	assert.Zero(t, r.Score)
	assert.Empty(t, r.Factors, "a 0-point rule adds no (+0) factor")
	reg, ok := intel.Registered("greynoise")
	require.True(t, ok)
	assert.NotEmpty(t, reg.Rules, "the rules exist, for users to raise")

	// Raised in the config, GreyNoise's word scores.
	rules := intel.DefaultScoring()
	for i := range rules.Rules {
		if rules.Rules[i].Name == "greynoise-malicious" {
			rules.Rules[i].Points = 20
		}
	}
	s, err = score.New(rules)
	require.NoError(t, err)
	r = s.Score([]score.Indicator{ind(ioc.IPv4, "185.220.101.45", map[string]*model.Result{
		"greynoise": {Status: model.StatusFound, Classification: "malicious"}})})
	assert.Equal(t, []string{"IP 185.220.101.45: GreyNoise classifies it malicious (+20)"}, r.Factors)
}
