package classify

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/verdict-dev/verdict/pkg/attack"
	"github.com/verdict-dev/verdict/pkg/model"
)

func TestTechniques(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		ids         []string
		want        []string
		wantChanged map[string]attack.Status // input -> status
	}{
		{name: "happy path: valid ids kept in canonical form", ids: []string{"T1110", " t1059.001 "}, want: []string{"T1110", "T1059.001"},
			wantChanged: map[string]attack.Status{}},
		{name: "revoked id mapped to its replacement", ids: []string{"T1073"}, want: []string{"T1574.001"},
			wantChanged: map[string]attack.Status{"T1073": attack.StatusRevoked}},
		{name: "unknown id dropped", ids: []string{"T9999", "T1110.999"}, want: nil,
			wantChanged: map[string]attack.Status{"T9999": attack.StatusUnknown, "T1110.999": attack.StatusUnknown}},
		{name: "malformed ids dropped", ids: []string{"not-a-technique", "T10", "<b>T1110</b>", "T１１１０"}, want: nil,
			wantChanged: map[string]attack.Status{"not-a-technique": attack.StatusMalformed, "T10": attack.StatusMalformed,
				"<b>T1110</b>": attack.StatusMalformed, "T１１１０": attack.StatusMalformed}},
		{name: "deprecated id dropped", ids: []string{"T1043"}, want: nil,
			wantChanged: map[string]attack.Status{"T1043": attack.StatusDeprecated}},
		{name: "a revoked id and its replacement count once", ids: []string{"T1574.001", "T1073"}, want: []string{"T1574.001"},
			wantChanged: map[string]attack.Status{"T1073": attack.StatusRevoked}},
		{name: "none", ids: nil, want: nil, wantChanged: map[string]attack.Status{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, changed := Techniques(tt.ids)
			assert.Equal(t, tt.want, got)
			gotChanged := map[string]attack.Status{}
			for _, r := range changed {
				gotChanged[r.Input] = r.Status
				assert.NotEmpty(t, r.Warning())
			}
			assert.Equal(t, tt.wantChanged, gotChanged)
		})
	}
}

func TestTechniquesCapped(t *testing.T) {
	t.Parallel()
	var ids []string
	for _, tech := range attack.Techniques()[:100] {
		ids = append(ids, tech.ID)
	}
	got, _ := Techniques(ids)
	assert.Len(t, got, MaxTechniques)
	assert.Equal(t, ids[:MaxTechniques], got)
}

// The heuristic's techniques are attack.Suggestions for the fields that
// say what was detected, never for host, user or file names.
func TestHeuristicSuggestsTechniques(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  string
		want []string
	}{
		{name: "Wazuh brute force with its MITRE id",
			raw:  `{"rule":{"level":10,"description":"sshd: brute force trying to get access to the system. Non existent user.","mitre":{"id":["T1110"],"technique":["Brute Force"]},"groups":["syslog","sshd"]},"agent":{"name":"web-01"}}`,
			want: []string{"T1110", "T1110.001"}},
		{name: "Suricata C2 signature",
			raw:  `{"alert":{"signature":"ET CNC Feodo Tracker Reported CnC Server group 3","category":"A Network Trojan was detected","severity":1}}`,
			want: []string{"T1071"}},
		{name: "Suricata scan", raw: `{"alert":{"signature":"ET SCAN Potential SSH Scan","category":"Attempted Information Leak"}}`,
			want: []string{"T1046", "T1595"}},
		{name: "encoded PowerShell in a rule name", raw: `{"kibana.alert.rule.name":"PowerShell EncodedCommand execution","host":{"name":"ws-7"}}`,
			want: []string{"T1059.001", "T1027", "T1027.010"}},
		{name: "Tor exit traffic", raw: `{"alert":{"signature":"ET TOR Known Tor Exit Node Traffic","category":"Misc Attack"}}`,
			want: []string{"T1090.003"}},
		{name: "policy noise suggests nothing", raw: `{"alert":{"signature":"ET POLICY curl User-Agent Outbound","category":"Attempted Information Leak"}}`},
		{name: "attack words in names of things are not behaviour",
			raw: `{"host":{"name":"bruteforce-lab"},"user":{"name":"mimikatz"},"file":{"name":"port-scan.txt"},"rule":{"name":"File created"}}`},
		{name: "asset categories are not what happened", raw: `{"dest":{"category":"brute force"},"search_name":"Audit"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Heuristic(Case{Raw: json.RawMessage(tt.raw), Risk: model.Risk{Verdict: model.Clean}}, WhyOffline)
			if tt.want == nil {
				assert.Empty(t, c.Techniques)
				return
			}
			assert.Equal(t, tt.want, c.Techniques)
			for _, id := range c.Techniques {
				_, ok := attack.Lookup(id)
				assert.True(t, ok, "%s is an active technique", id)
			}
		})
	}
}

// Hostile alerts cost the suggestion nothing extra and break nothing.
func TestHeuristicSuggestionsBounded(t *testing.T) {
	t.Parallel()
	var b []byte
	b = append(b, `{"alerts":[`...)
	for i := 0; i < 500; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, fmt.Sprintf(`{"rule":{"name":"brute force %d"},"signature":"mimikatz sekurlsa"}`, i)...)
	}
	b = append(b, "]}"...)
	c := Heuristic(Case{Raw: b}, WhyOffline)
	assert.LessOrEqual(t, len(c.Techniques), maxSuggested)
	assert.NotEmpty(t, c.Techniques)
}
