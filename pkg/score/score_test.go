package score

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

func vt(malicious int) *model.Result {
	return &model.Result{Status: model.StatusFound, Malicious: model.Int(malicious)}
}

func abuse(conf int) *model.Result {
	return &model.Result{Status: model.StatusFound, AbuseConfidenceScore: model.Int(conf)}
}

// feedHit lists an indicator in feeds given as "name:category" (a bare
// name is "listed").
func feedHit(feeds ...string) *model.Result {
	r := &model.Result{Status: model.StatusFound}
	for _, f := range feeds {
		name, cat, ok := strings.Cut(f, ":")
		if !ok {
			cat = model.CategoryListed
		}
		r.Matches = append(r.Matches, model.FeedMatch{Feed: name, Category: cat})
	}
	return r
}

func ind(t ioc.Type, v string, res map[string]*model.Result) Indicator {
	return Indicator{IOC: ioc.IOC{Type: t, Value: v}, Results: res}
}

// contractTable is CONTRACT.md's whole default table: the rules VirusTotal
// and AbuseIPDB register (copied here: pkg/score must not import the
// providers; pkg/intel/all checks the real composition), then the feeds.
func contractTable() Rules {
	return Default(
		Rule{Name: "virustotal-ip", Types: []string{"ip"}, Provider: "virustotal", Field: "malicious", Min: f(1), Points: 40,
			Description: "{n} VirusTotal malicious detection{s}"},
		Rule{Name: "virustotal-hash", Types: []string{"hash"}, Provider: "virustotal", Field: "malicious", Min: f(1), Points: 40,
			Description: "{n} VirusTotal malicious detection{s}"},
		Rule{Name: "abuseipdb-high", Types: []string{"ip"}, Provider: "abuseipdb", Field: "abuse_confidence_score", Min: f(75), Points: 30,
			Description: "AbuseIPDB confidence {n}"},
		Rule{Name: "virustotal-domain", Types: []string{"domain"}, Provider: "virustotal", Field: "malicious", Min: f(1), Points: 25,
			Description: "{n} VirusTotal malicious detection{s}"},
		Rule{Name: "virustotal-url", Types: []string{"url"}, Provider: "virustotal", Field: "malicious", Min: f(1), Points: 25,
			Description: "{n} VirusTotal malicious detection{s}"},
		Rule{Name: "abuseipdb-medium", Types: []string{"ip"}, Provider: "abuseipdb", Field: "abuse_confidence_score", Min: f(25), Max: f(74), Points: 15,
			Description: "AbuseIPDB confidence {n}"},
	)
}

func TestScoreFeedOnlyDefault(t *testing.T) {
	t.Parallel()
	s, err := New(Default())
	require.NoError(t, err)
	r := s.Score([]Indicator{ind(ioc.Domain, "evil.com", map[string]*model.Result{"feeds": feedHit("a.txt", "b.csv"), "virustotal": vt(50)})})
	assert.Equal(t, 40, r.Score, "without provider rules only the feed scores")
	assert.Equal(t, []string{"domain evil.com: listed in a.txt (listed), b.csv (listed) (+40)"}, r.Factors)
}

func TestDefaultComposesProviderRulesFirst(t *testing.T) {
	t.Parallel()
	r := Default(Rule{Name: "x", Provider: "x", Types: []string{"ip"}, Points: 1})
	require.Len(t, r.Rules, 1+len(FeedRules()))
	assert.Equal(t, "x", r.Rules[0].Name)
	assert.Equal(t, FeedRules()[0].Name, r.Rules[1].Name)
	assert.Equal(t, DefaultCap, r.Cap)
	assert.Equal(t, DefaultBands(), r.Bands)
}

func TestRuleFieldsDeclaredByTheCaller(t *testing.T) {
	t.Parallel()
	r := Default(Rule{Name: "fake", Provider: "fakeintel", Types: []string{"ip"}, Field: "fake_score", Min: f(50), Points: 35, Description: "score {n}"})
	require.ErrorContains(t, r.Validate(), `unknown field "fake_score"`)
	r.Fields = []string{"fake_score"}
	s, err := New(r)
	require.NoError(t, err)
	res := &model.Result{Status: model.StatusFound, Attrs: map[string]any{"fake_score": 87}}
	risk := s.Score([]Indicator{ind(ioc.IPv4, "203.0.113.7", map[string]*model.Result{"fakeintel": res})})
	assert.Equal(t, 35, risk.Score)
	assert.Equal(t, []string{"IP 203.0.113.7: score 87 (+35)"}, risk.Factors)
}

func TestScoreDefaultTable(t *testing.T) {
	t.Parallel()
	s, err := New(contractTable())
	require.NoError(t, err)
	ip := "185.220.101.45"
	tests := []struct {
		name        string
		inds        []Indicator
		wantScore   int
		wantVerdict model.Verdict
		wantFactors []string
	}{
		{name: "no indicators", wantScore: 0, wantVerdict: model.Clean, wantFactors: nil},
		{name: "IP with one VT detection", inds: []Indicator{ind(ioc.IPv4, ip, map[string]*model.Result{"virustotal": vt(1)})},
			wantScore: 40, wantVerdict: model.Suspicious, wantFactors: []string{"IP 185.220.101.45: 1 VirusTotal malicious detection (+40)"}},
		{name: "IP with zero VT detections scores nothing", inds: []Indicator{ind(ioc.IPv4, ip, map[string]*model.Result{"virustotal": vt(0)})},
			wantScore: 0, wantVerdict: model.Clean},
		{name: "hash with VT detections", inds: []Indicator{ind(ioc.SHA256, "aa", map[string]*model.Result{"virustotal": vt(15)})},
			wantScore: 40, wantVerdict: model.Suspicious, wantFactors: []string{"SHA-256 aa: 15 VirusTotal malicious detections (+40)"}},
		{name: "domain with VT detections", inds: []Indicator{ind(ioc.Domain, "evil.com", map[string]*model.Result{"virustotal": vt(3)})},
			wantScore: 25, wantVerdict: model.PotentiallySuspicious},
		{name: "URL with VT detections", inds: []Indicator{ind(ioc.URL, "http://evil.com/", map[string]*model.Result{"virustotal": vt(3)})},
			wantScore: 25, wantVerdict: model.PotentiallySuspicious},
		{name: "AbuseIPDB 75 is high", inds: []Indicator{ind(ioc.IPv4, ip, map[string]*model.Result{"abuseipdb": abuse(75)})}, wantScore: 30, wantVerdict: model.PotentiallySuspicious},
		{name: "AbuseIPDB 74 is medium", inds: []Indicator{ind(ioc.IPv4, ip, map[string]*model.Result{"abuseipdb": abuse(74)})}, wantScore: 15, wantVerdict: model.PotentiallySuspicious},
		{name: "AbuseIPDB 25 is medium", inds: []Indicator{ind(ioc.IPv6, "2001:4860::1", map[string]*model.Result{"abuseipdb": abuse(25)})}, wantScore: 15, wantVerdict: model.PotentiallySuspicious},
		{name: "AbuseIPDB 24 is nothing", inds: []Indicator{ind(ioc.IPv4, ip, map[string]*model.Result{"abuseipdb": abuse(24)})}, wantScore: 0, wantVerdict: model.Clean},
		{name: "feed hit", inds: []Indicator{ind(ioc.Domain, "evil.com", map[string]*model.Result{"feeds": feedHit("a.txt", "b.csv")})},
			wantScore: 40, wantVerdict: model.Suspicious, wantFactors: []string{"domain evil.com: listed in a.txt (listed), b.csv (listed) (+40)"}},
		{name: "VT, AbuseIPDB and feed add up to MALICIOUS", inds: []Indicator{ind(ioc.IPv4, ip, map[string]*model.Result{"virustotal": vt(15), "abuseipdb": abuse(100), "feeds": feedHit("tor.txt:anonymizer")})},
			wantScore: 90, wantVerdict: model.Malicious},
		{name: "sum is capped at 100", inds: []Indicator{
			ind(ioc.IPv4, ip, map[string]*model.Result{"virustotal": vt(15), "abuseipdb": abuse(100)}),
			ind(ioc.SHA256, "bb", map[string]*model.Result{"virustotal": vt(30), "feeds": feedHit("mb.csv")}),
		}, wantScore: 100, wantVerdict: model.Malicious},
		{name: "not_found and errors score nothing", inds: []Indicator{ind(ioc.IPv4, ip, map[string]*model.Result{
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

// Every feed category scores its CONTRACT.md weight alone, names the feed
// and its category, and lands in the band its points say.
func TestScoreFeedCategories(t *testing.T) {
	t.Parallel()
	s, err := New(contractTable())
	require.NoError(t, err)
	for _, tt := range []struct {
		cat    string
		points int
		want   model.Verdict
	}{
		{model.CategoryC2, 70, model.Malicious},
		{model.CategoryMalware, 70, model.Malicious},
		{model.CategoryPhishing, 70, model.Malicious},
		{model.CategoryDrop, 50, model.Suspicious},
		{model.CategoryCompromised, 40, model.Suspicious},
		{model.CategoryListed, 40, model.Suspicious},
		{"", 40, model.Suspicious}, // a match from before categories is "listed"
		{model.CategoryAnonymizer, 20, model.PotentiallySuspicious},
	} {
		t.Run("category "+tt.cat, func(t *testing.T) {
			t.Parallel()
			res := &model.Result{Status: model.StatusFound, Matches: []model.FeedMatch{{Feed: "f.txt", Category: tt.cat}}}
			r := s.Score([]Indicator{ind(ioc.IPv4, "192.9.135.73", map[string]*model.Result{"feeds": res})})
			assert.Equal(t, tt.points, r.Score)
			assert.Equal(t, tt.want, r.Verdict)
			cat := tt.cat
			if cat == "" {
				cat = model.CategoryListed
			}
			assert.Equal(t, []string{fmt.Sprintf("IP 192.9.135.73: listed in f.txt (%s) (+%d)", cat, tt.points)}, r.Factors)
		})
	}
	// Every category the model knows has a weight in the default table.
	for _, c := range model.FeedCategories {
		r := s.Score([]Indicator{ind(ioc.Domain, "x.example", map[string]*model.Result{"feeds": feedHit("f:" + c)})})
		assert.Positive(t, r.Score, c)
	}
}

func TestScoreArtifacts(t *testing.T) {
	t.Parallel()
	s, err := New(contractTable())
	require.NoError(t, err)
	const (
		h256 = "1d233362395405a19be5da8fc1f3fba060e658fb30718a47eedc0925a7226e52"
		h1   = "4bf5f76757cdf2280df61f970246222aa0b8f8a8"
		h5   = "7564553469f8675a41cb1ee014b3dfdd"
	)
	mb := func() map[string]*model.Result {
		return map[string]*model.Result{"feeds": feedHit("mb.csv:malware"), "virustotal": vt(30)}
	}
	hashes := func(art int) []Indicator {
		return []Indicator{
			{IOC: ioc.IOC{Type: ioc.MD5, Value: h5}, Results: mb(), Artifact: art},
			{IOC: ioc.IOC{Type: ioc.SHA1, Value: h1}, Results: mb(), Artifact: art},
			{IOC: ioc.IOC{Type: ioc.SHA256, Value: h256}, Results: mb(), Artifact: art},
		}
	}
	alone := s.Score([]Indicator{{IOC: ioc.IOC{Type: ioc.SHA256, Value: h256}, Results: mb()}})
	assert.Equal(t, 100, alone.Score, "70 + 40 capped")
	tests := []struct {
		name        string
		inds        []Indicator
		wantScore   int
		wantFactors []string
	}{
		{name: "the three hashes of one file score as the SHA-256 alone", inds: hashes(7), wantScore: alone.Score, wantFactors: alone.Factors},
		{name: "unlinked, they are three artifacts", inds: hashes(0), wantScore: 100,
			wantFactors: []string{"MD5 " + h5 + ": listed in mb.csv (malware) (+70)", "SHA-1 " + h1 + ": listed in mb.csv (malware) (+70)"}},
		{name: "two files are two artifacts", inds: append(hashes(1)[:1], hashes(2)[2:]...), wantScore: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := s.Score(tt.inds)
			assert.Equal(t, tt.wantScore, r.Score)
			if tt.wantFactors != nil {
				assert.Equal(t, tt.wantFactors, r.Factors[:len(tt.wantFactors)])
			}
		})
	}
	// Uncapped, the counting shows: one file, one feed signal and one VT signal.
	uncapped := contractTable()
	uncapped.Cap = 1000
	su, err := New(uncapped)
	require.NoError(t, err)
	assert.Equal(t, 110, su.Score(hashes(3)).Score)
	assert.Equal(t, 330, su.Score(hashes(0)).Score)
	// A signal carried by the MD5 alone still counts for the file.
	only := hashes(4)
	only[1].Results, only[2].Results = nil, map[string]*model.Result{"virustotal": {Status: model.StatusNotFound}}
	r := su.Score(only)
	assert.Equal(t, 110, r.Score)
	assert.Equal(t, "MD5 "+h5+": listed in mb.csv (malware) (+70)", r.Factors[0])
}

// An artifact listed by several feeds counts its highest feed signal once;
// different artifacts add up.
func TestScoreFeedGroup(t *testing.T) {
	t.Parallel()
	s, err := New(contractTable())
	require.NoError(t, err)
	ip := func(v string, feeds ...string) Indicator {
		return ind(ioc.IPv4, v, map[string]*model.Result{"feeds": feedHit(feeds...)})
	}
	tests := []struct {
		name        string
		inds        []Indicator
		wantScore   int
		wantVerdict model.Verdict
		wantFactors []string
	}{
		{name: "Feodo C2 and FireHOL drop: the C2 counts", inds: []Indicator{ip("192.9.135.73", "firehol_level1.netset:drop", "feodo.csv:c2")},
			wantScore: 70, wantVerdict: model.Malicious, wantFactors: []string{"IP 192.9.135.73: listed in feodo.csv (c2) (+70)"}},
		{name: "Tor exit also in ET compromised: compromised counts", inds: []Indicator{ip("185.220.101.45", "tor.txt:anonymizer", "et.txt:compromised")},
			wantScore: 40, wantVerdict: model.Suspicious, wantFactors: []string{"IP 185.220.101.45: listed in et.txt (compromised) (+40)"}},
		{name: "two Tor lists are one signal", inds: []Indicator{ip("185.220.101.45", "a-tor.txt:anonymizer", "b-tor.txt:anonymizer")},
			wantScore: 20, wantVerdict: model.PotentiallySuspicious, wantFactors: []string{"IP 185.220.101.45: listed in a-tor.txt (anonymizer), b-tor.txt (anonymizer) (+20)"}},
		{name: "two Tor exits are two artifacts", inds: []Indicator{ip("185.220.101.45", "tor.txt:anonymizer"), ip("185.220.101.46", "tor.txt:anonymizer")},
			wantScore: 40, wantVerdict: model.Suspicious},
		{name: "a CIDR listing names the CIDR", inds: []Indicator{ind(ioc.IPv4, "1.10.16.5", map[string]*model.Result{"feeds": {Status: model.StatusFound,
			Matches: []model.FeedMatch{{Feed: "drop.json", Category: model.CategoryDrop, Entry: "1.10.16.0/20"}}}})},
			wantScore: 50, wantVerdict: model.Suspicious, wantFactors: []string{"IP 1.10.16.5: listed in drop.json (drop, 1.10.16.0/20) (+50)"}},
		{name: "a feed signal and a provider signal add up", inds: []Indicator{ind(ioc.IPv4, "185.220.101.45", map[string]*model.Result{
			"feeds": feedHit("tor.txt:anonymizer"), "abuseipdb": abuse(30)})},
			wantScore: 35, wantVerdict: model.PotentiallySuspicious},
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
		})
	}
}

// Boundaries of the bands, reached with real signals.
func TestScoreBoundaries(t *testing.T) {
	t.Parallel()
	s, err := New(contractTable())
	require.NoError(t, err)
	tor := func(v string) Indicator {
		return ind(ioc.IPv4, v, map[string]*model.Result{"feeds": feedHit("tor.txt:anonymizer")})
	}
	for _, tt := range []struct {
		name  string
		inds  []Indicator
		score int
		want  model.Verdict
	}{
		{"0: nothing found is CLEAN", nil, 0, model.Clean},
		{"15: AbuseIPDB medium", []Indicator{ind(ioc.IPv4, "1.2.3.4", map[string]*model.Result{"abuseipdb": abuse(25)})}, 15, model.PotentiallySuspicious},
		{"20: one Tor exit", []Indicator{tor("1.1.1.1")}, 20, model.PotentiallySuspicious},
		{"40: two Tor exits", []Indicator{tor("1.1.1.1"), tor("1.1.1.2")}, 40, model.Suspicious},
		{"60: three Tor exits", []Indicator{tor("1.1.1.1"), tor("1.1.1.2"), tor("1.1.1.3")}, 60, model.Suspicious},
		{"70: a C2", []Indicator{ind(ioc.IPv4, "1.2.3.4", map[string]*model.Result{"feeds": feedHit("c.csv:c2")})}, 70, model.Malicious},
		{"65: drop plus AbuseIPDB medium stays SUSPICIOUS", []Indicator{ind(ioc.IPv4, "1.2.3.4", map[string]*model.Result{"feeds": feedHit("d:drop"), "abuseipdb": abuse(50)})}, 65, model.Suspicious},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := s.Score(tt.inds)
			assert.Equal(t, tt.score, r.Score)
			assert.Equal(t, tt.want, r.Verdict)
		})
	}
}

func TestCategoryRules(t *testing.T) {
	t.Parallel()
	r := Rules{
		Cap: 100,
		Rules: []Rule{
			{Name: "phish", Types: []string{"domain", "url"}, Provider: "feeds", Category: "phishing", Points: 60, Description: "phishing per {feeds}"},
			{Name: "count", Types: []string{"any"}, Provider: "feeds", Categories: []string{"listed", "compromised"}, Field: "matches", Min: f(2), Points: 30, Description: "{n} feeds: {feeds}"},
		},
		Bands: Default().Bands,
	}
	s, err := New(r)
	require.NoError(t, err)
	risk := s.Score([]Indicator{
		ind(ioc.Domain, "login.example.net", map[string]*model.Result{"feeds": feedHit("openphish.txt:phishing", "mine.txt")}),
		ind(ioc.IPv4, "1.2.3.4", map[string]*model.Result{"feeds": feedHit("a.txt", "b.txt:compromised", "tor.txt:anonymizer")}),
		ind(ioc.IPv4, "1.2.3.5", map[string]*model.Result{"feeds": feedHit("a.txt", "tor.txt:anonymizer")}),
	})
	assert.Equal(t, 90, risk.Score)
	assert.Equal(t, []string{
		"domain login.example.net: phishing per openphish.txt (phishing) (+60)",
		"IP 1.2.3.4: 2 feeds: a.txt (listed), b.txt (compromised) (+30)",
	}, risk.Factors)
}

func TestVerdictBands(t *testing.T) {
	t.Parallel()
	s, err := New(contractTable())
	require.NoError(t, err)
	for _, tt := range []struct {
		score int
		want  model.Verdict
	}{{0, model.Clean}, {9, model.Clean}, {10, model.PotentiallySuspicious}, {39, model.PotentiallySuspicious}, {40, model.Suspicious}, {69, model.Suspicious}, {70, model.Malicious}, {100, model.Malicious}} {
		assert.Equal(t, tt.want, s.Verdict(tt.score), "score %d", tt.score)
	}
}

func TestCustomRules(t *testing.T) {
	t.Parallel()
	r := Rules{
		Cap: 50,
		Rules: []Rule{
			{Name: "tor", Types: []string{"ip"}, Provider: "abuseipdb", Field: "is_tor", Min: f(1), Points: 35, Description: "Tor exit node"},
			{Name: "rep", Types: []string{"domain"}, Provider: "virustotal", Field: "reputation", Max: f(-10), Points: 20, Description: "reputation {n}"},
		},
		Bands: []Band{{Min: 0, Verdict: model.Clean}, {Min: 30, Verdict: model.Malicious}},
	}
	s, err := New(r)
	require.NoError(t, err)
	risk := s.Score([]Indicator{
		ind(ioc.IPv4, "1.2.3.4", map[string]*model.Result{"abuseipdb": {Status: model.StatusFound, IsTor: model.Bool(true)}}),
		ind(ioc.Domain, "bad.com", map[string]*model.Result{"virustotal": {Status: model.StatusFound, Reputation: model.Int(-30)}}),
		ind(ioc.Domain, "ok.com", map[string]*model.Result{"virustotal": {Status: model.StatusFound, Reputation: model.Int(5)}}),
	})
	assert.Equal(t, 50, risk.Score, "55 capped at 50")
	assert.Equal(t, model.Malicious, risk.Verdict)
	assert.Equal(t, []string{"IP 1.2.3.4: Tor exit node (+35)", "domain bad.com: reputation -30 (+20)"}, risk.Factors)
}

func TestRulesValidate(t *testing.T) {
	t.Parallel()
	base := Default()
	tests := []struct {
		name    string
		mutate  func(*Rules)
		wantErr string
	}{
		{name: "happy path: default table", mutate: func(*Rules) {}},
		{name: "sad path: zero cap", mutate: func(r *Rules) { r.Cap = 0 }, wantErr: "cap must be positive"},
		{name: "sad path: no bands", mutate: func(r *Rules) { r.Bands = nil }, wantErr: "bands is empty"},
		{name: "sad path: no band at 0", mutate: func(r *Rules) { r.Bands = []Band{{Min: 5, Verdict: model.Clean}} }, wantErr: "no band starts at 0"},
		{name: "sad path: duplicate verdict", mutate: func(r *Rules) { r.Bands = []Band{{Min: 0, Verdict: model.Clean}, {Min: 5, Verdict: model.Clean}} }, wantErr: "appears twice"},
		{name: "sad path: missing provider", mutate: func(r *Rules) { r.Rules = []Rule{{Types: []string{"ip"}, Points: 1}} }, wantErr: "provider is required"},
		{name: "sad path: bad type", mutate: func(r *Rules) { r.Rules = []Rule{{Provider: "x", Types: []string{"mac"}, Points: 1}} }, wantErr: "unknown IOC type"},
		{name: "sad path: min above max", mutate: func(r *Rules) {
			r.Rules = []Rule{{Provider: "x", Types: []string{"ip"}, Field: "malicious", Min: f(5), Max: f(1), Points: 1}}
		}, wantErr: "above max"},
		{name: "sad path: min without field", mutate: func(r *Rules) { r.Rules = []Rule{{Provider: "x", Types: []string{"ip"}, Min: f(5), Points: 1}} }, wantErr: "need a field"},
		{name: "sad path: unknown category", mutate: func(r *Rules) {
			r.Rules = []Rule{{Provider: "feeds", Types: []string{"ip"}, Categories: []string{"c2", "tor"}, Points: 1}}
		}, wantErr: `unknown feed category "tor" (want one of c2, malware, phishing, drop, compromised, listed, anonymizer)`},
		{name: "happy path: category in any case", mutate: func(r *Rules) {
			r.Rules = []Rule{{Provider: "feeds", Types: []string{"ip"}, Category: " C2", Points: 1}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := base
			r.Rules = append([]Rule(nil), base.Rules...)
			r.Bands = append([]Band(nil), base.Bands...)
			tt.mutate(&r)
			err := r.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestParseVerdict(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]model.Verdict{"malicious": model.Malicious, "SUSPICIOUS": model.Suspicious, "potentially-suspicious": model.PotentiallySuspicious, " clean ": model.Clean} {
		v, err := model.ParseVerdict(in)
		require.NoError(t, err)
		assert.Equal(t, want, v)
	}
	_, err := model.ParseVerdict("bad")
	require.ErrorContains(t, err, "CLEAN, POTENTIALLY_SUSPICIOUS, SUSPICIOUS, MALICIOUS")
	assert.True(t, model.Malicious.AtLeast(model.Suspicious))
	assert.False(t, model.PotentiallySuspicious.AtLeast(model.Suspicious))
	assert.True(t, model.Clean.AtLeast(model.Clean))
}

// BenchmarkCombine scores an alert of six indicators (two VT hits, a feed
// hit, three clean) as the batch does: contributions computed once,
// combined per alert.
func BenchmarkCombine(b *testing.B) {
	s, err := New(contractTable())
	if err != nil {
		b.Fatal(err)
	}
	inds := []Indicator{
		ind(ioc.IPv4, "185.220.101.45", map[string]*model.Result{"virustotal": vt(15), "abuseipdb": abuse(100), "feeds": feedHit("tor.txt:anonymizer")}),
		ind(ioc.MD5, "7564553469f8675a41cb1ee014b3dfdd", map[string]*model.Result{"feeds": feedHit("mb.csv:malware")}),
		ind(ioc.SHA256, "1d233362395405a19be5da8fc1f3fba060e658fb30718a47eedc0925a7226e52", map[string]*model.Result{"feeds": feedHit("mb.csv:malware"), "virustotal": vt(30)}),
		ind(ioc.Domain, "a.example.net", map[string]*model.Result{"virustotal": vt(0)}),
		ind(ioc.Domain, "b.example.net", map[string]*model.Result{"virustotal": vt(0)}),
		ind(ioc.IPv4, "8.8.8.8", map[string]*model.Result{"virustotal": vt(0)}),
	}
	cs := make([]*Contribution, len(inds))
	for i, in := range inds {
		c := s.Contribute(in)
		cs[i] = &c
	}
	for _, bc := range []struct {
		name string
		arts []int
	}{{"own-artifacts", nil}, {"linked-hashes", []int{0, 2, 2, 0, 0, 0}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = s.Combine(cs, bc.arts)
			}
		})
	}
}
