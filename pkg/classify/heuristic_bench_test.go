package classify

import (
	"encoding/json"
	"testing"

	"github.com/verdict-dev/verdict/pkg/model"
)

// benchAlert is a Wazuh alert of the usual size, with a rule description,
// groups and MITRE fields for the suggestion to read.
var benchAlert = json.RawMessage(`{"timestamp":"2026-11-22T03:12:44.000+0000","rule":{"level":10,"description":"sshd: brute force trying to get access to the system. Non existent user.","id":"5712","mitre":{"id":["T1110"],"tactic":["Credential Access"],"technique":["Brute Force"]},"groups":["syslog","sshd","authentication_failures"]},"agent":{"id":"003","name":"web-01","ip":"10.20.30.15"},"manager":{"name":"wazuh"},"id":"1700000000.12345","full_log":"Nov 22 03:12:44 web-01 sshd[2211]: Failed password for invalid user admin from 185.241.208.232 port 40112 ssh2","data":{"srcip":"185.241.208.232","srcuser":"admin"},"location":"/var/log/auth.log"}`)

// BenchmarkHeuristic is the fallback classification of one alert, the
// ATT&CK suggestion included.
func BenchmarkHeuristic(b *testing.B) {
	c := Case{Raw: benchAlert, Risk: model.Risk{Verdict: model.Suspicious, Score: 40}}
	b.ReportAllocs()
	for b.Loop() {
		Heuristic(c, WhyOffline)
	}
}

// BenchmarkSuggestTechniques is the suggestion's share of it.
func BenchmarkSuggestTechniques(b *testing.B) {
	texts := Case{Raw: benchAlert}.signals().describing
	b.ReportAllocs()
	for b.Loop() {
		suggestTechniques(texts)
	}
}
