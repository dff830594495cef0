package score

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

// Descriptions name facts of the answer: {attr:NAME} and {date:NAME}.
func TestDescribeAttrs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		desc  string
		attrs map[string]any
		want  string
	}{
		{name: "a date attr as its UTC date", desc: "registered {date:registered} ({n} day{s} ago)",
			attrs: map[string]any{"registered": "2026-11-29T22:30:00-05:00", "age": 4}, want: "domain x.top: registered 2026-11-30 (4 days ago) (+40)"},
		{name: "one day", desc: "registered {date:registered} ({n} day{s} ago)",
			attrs: map[string]any{"registered": "2026-12-02T10:00:00Z", "age": 1}, want: "domain x.top: registered 2026-12-02 (1 day ago) (+40)"},
		{name: "a string attr, squeezed to one line", desc: "by {attr:registrar}",
			attrs: map[string]any{"registrar": "Evil\n  Registrar", "age": 1}, want: "domain x.top: by Evil Registrar (+40)"},
		{name: "numbers and booleans, read back from JSON too", desc: "{attr:age} {attr:flag}",
			attrs: map[string]any{"age": json.Number("12"), "flag": true}, want: "domain x.top: 12 true (+40)"},
		{name: "a missing attr is unknown", desc: "registered {date:nope}", attrs: map[string]any{"age": 1}, want: "domain x.top: registered unknown (+40)"},
		{name: "a date attr that is not a date is shown as it is", desc: "registered {date:registered}",
			attrs: map[string]any{"registered": "last week", "age": 1}, want: "domain x.top: registered last week (+40)"},
		{name: "unknown and unclosed placeholders are left alone", desc: "{other:x} {attr:age", attrs: map[string]any{"age": 1},
			want: "domain x.top: {other:x} {attr:age (+40)"},
		{name: "control characters are no text", desc: "{attr:nul}", attrs: map[string]any{"age": 1, "nul": string(make([]byte, 100)) + "\u202e"},
			want: "domain x.top: unknown (+40)"},
		{name: "a long value is clipped", desc: "{attr:long}", attrs: map[string]any{"age": 1, "long": strings.Repeat("a", 100)},
			want: "domain x.top: " + strings.Repeat("a", 64) + " (+40)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := New(Rules{Cap: 100, Bands: DefaultBands(), Fields: []string{"age"}, Rules: []Rule{
				{Name: "young", Types: []string{"domain"}, Provider: "rdap", Field: "age", Max: f(30), Points: 40, Description: tt.desc}}})
			require.NoError(t, err)
			r := s.Score([]Indicator{{IOC: ioc.IOC{Type: ioc.Domain, Value: "x.top"}, Results: map[string]*model.Result{
				"rdap": {Status: model.StatusFound, Attrs: tt.attrs}}}})
			require.Len(t, r.Factors, 1)
			assert.Equal(t, tt.want, r.Factors[0])
		})
	}
}

// A rule worth 0 points is switched off: it neither scores nor adds a
// factor, so a provider can ship a rule users may raise without cluttering
// every report with "(+0)".
func TestZeroPointRulesAreOff(t *testing.T) {
	t.Parallel()
	s, err := New(Rules{Cap: 100, Bands: DefaultBands(), Rules: []Rule{
		{Name: "gn", Types: []string{"ipv4"}, Provider: "greynoise", Field: "classification", Min: f(1), Points: 0, Description: "GreyNoise: malicious"},
		{Name: "riot", Types: []string{"ipv4"}, Provider: "greynoise", Field: "riot", Min: f(1), Points: -10, Description: "known service"},
	}})
	require.NoError(t, err)
	yes := true
	r := s.Score([]Indicator{{IOC: ioc.IOC{Type: ioc.IPv4, Value: "1.2.3.4"}, Results: map[string]*model.Result{
		"greynoise": {Status: model.StatusFound, Classification: "malicious", RIOT: &yes}}}})
	assert.Equal(t, []string{"IP 1.2.3.4: known service (-10)"}, r.Factors, "the 0-point rule adds no factor; a negative one does")
	assert.Zero(t, r.Score, "the sum never goes below 0")
}
