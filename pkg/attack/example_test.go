package attack_test

import (
	"fmt"

	"github.com/verdict-dev/verdict/pkg/attack"
)

// A model's technique ids are checked before they reach a report: revoked
// ids are mapped, the rest are dropped with a warning.
func ExampleResolve() {
	for _, id := range []string{"T1059.001", "t1086", "T1064", "T9999", "T1059.1"} {
		r := attack.Resolve(id)
		if r.OK() {
			fmt.Printf("%-9s %-10s %s [%s]\n", id, r.Status, r.Technique, r.Technique.TacticNames()[0])
		} else {
			fmt.Printf("%-9s %-10s %s\n", id, r.Status, r.Warning())
		}
	}
	// Output:
	// T1059.001 valid      T1059.001 Command and Scripting Interpreter: PowerShell [Execution]
	// t1086     revoked    T1059.001 Command and Scripting Interpreter: PowerShell [Execution]
	// T1064     deprecated ATT&CK technique T1064 (Scripting) is deprecated and has no replacement; dropped
	// T9999     unknown    T9999 is not a technique in ATT&CK Enterprise v18.1; dropped
	// T1059.1   malformed  "T1059.1" is not an ATT&CK technique id; dropped
}

// The heuristic passes an alert's rule name and category.
func ExampleSuggestions() {
	for _, s := range attack.Suggestions("ET MALWARE Cobalt Strike Beacon Observed", "A Network Trojan was detected") {
		fmt.Printf("%d %s (%s)\n", s.Confidence, s.Technique, s.Reason)
	}
	// Output:
	// 70 T1071 Application Layer Protocol (matched "beacon")
	// 70 T1071.001 Application Layer Protocol: Web Protocols (matched "cobalt strike")
}

func ExampleAttribution() {
	fmt.Println(attack.Attribution())
	// Output:
	// MITRE ATT&CK® Enterprise v18.1. © 2025 The MITRE Corporation. This work is reproduced and distributed with the permission of The MITRE Corporation.
}
