package score

import (
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

func feedHit(names ...string) *model.Result {
	r := &model.Result{Status: model.StatusFound}
	for _, n := range names {
		r.Matches = append(r.Matches, model.FeedMatch{Feed: n})
	}
	return r
}

func ind(t ioc.Type, v string, res map[string]*model.Result) Indicator {
	return Indicator{IOC: ioc.IOC{Type: t, Value: v}, Results: res}
}

// The CONTRACT.md table is composed from the provider registrations: see
// TestDefaultScoringTable in pkg/intel/all. Here, the local-feed part.
func TestScoreFeedOnlyDefault(t *testing.T) {
	t.Parallel()
	s, err := New(Default())
	require.NoError(t, err)
	r := s.Score([]Indicator{ind(ioc.Domain, "evil.com", map[string]*model.Result{"feeds": feedHit("a.txt", "b.csv"), "virustotal": vt(50)})})
	assert.Equal(t, 40, r.Score, "without provider rules only the feed scores")
	assert.Equal(t, []string{"domain evil.com: listed in local feed a.txt, b.csv (+40)"}, r.Factors)
}

func TestDefaultComposesProviderRulesFirst(t *testing.T) {
	t.Parallel()
	r := Default(Rule{Name: "x", Provider: "x", Types: []string{"ip"}, Points: 1})
	require.Len(t, r.Rules, 2)
	assert.Equal(t, "x", r.Rules[0].Name)
	assert.Equal(t, "local-feed", r.Rules[1].Name)
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

func TestVerdictBands(t *testing.T) {
	t.Parallel()
	s, err := New(Default())
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
