package attack

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func ids(ts []Technique) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

type suggestCase struct {
	name  string
	texts []string
	want  []string // technique ids, in order; nil for none
}

func runSuggestCases(t *testing.T, tests []suggestCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ids(Suggest(tt.texts...))
			if !slices.Equal(got, tt.want) {
				var why []string
				for _, s := range Suggestions(tt.texts...) {
					why = append(why, fmt.Sprintf("%s %d %s", s.Technique.ID, s.Confidence, s.Reason))
				}
				t.Errorf("Suggest(%q) = %v, want %v\n\t%s", tt.texts, got, tt.want, strings.Join(why, "\n\t"))
			}
		})
	}
}

// TestSuggestRealSamples uses the rule names, signatures, categories and
// action types of the real exports in ../shared/samples-real/alerts, copied
// here so the test runs without them. Each case is one alert's text fields as
// the heuristic would pass them.
func TestSuggestRealSamples(t *testing.T) {
	t.Parallel()
	runSuggestCases(t, []suggestCase{
		// suricata-eve-alerts.elastic-beats.head.ndjson: alert.signature, alert.category.
		{"suricata: curl user agent is policy, not a technique",
			[]string{"ET POLICY curl User-Agent Outbound", "Attempted Information Leak"}, nil},
		{"suricata: apt user agent",
			[]string{"ET POLICY GNU/Linux APT User-Agent Outbound likely related to package management", "Not Suspicious Traffic"}, nil},
		// zeek-notice.wrccdc2018.ndjson: note, msg, sub.
		{"zeek: untrusted issuer on a VMware ESX default certificate",
			[]string{"SSL::Invalid_Server_Cert", "SSL certificate validation failed with (unable to get local issuer certificate)",
				`unstructuredName=1315656901\,564d7761726520496e632e,CN=localhost.localdomain,emailAddress=ssl-certificates@vmware.com,OU=VMware ESX Server Default Certificate,O=VMware\, Inc,L=Palo Alto,ST=California,C=US`},
			nil},
		{"zeek: self-signed certificate in chain is a weak hint",
			[]string{"SSL::Invalid_Server_Cert", "SSL certificate validation failed with (self signed certificate in certificate chain)"},
			[]string{"T1573.002"}},
		// zeek-notice.otrf-apt29.ndjson: the APT29 evaluation's C2 presented self-signed certificates.
		{"zeek: self-signed certificate (APT29 evaluation)",
			[]string{"SSL::Invalid_Server_Cert", "SSL certificate validation failed with (self signed certificate)",
				"emailAddress=synthesize@rempel.group.net,CN=rempel.group.net,OU=synthesize,O=Rempel Group,ST=SC,C=US"},
			[]string{"T1573.002"}},
		// wazuh-alerts.wazuh-qa.ndjson line 1: rule.description, rule.mitre.{id,tactic,technique}, rule.groups.
		{"wazuh: sshd brute force with its own mitre block",
			[]string{"sshd: brute force trying to get access to the system. Non existent user.", "T1110", "Credential Access",
				"Brute Force", "syslog", "sshd", "authentication_failures"},
			[]string{"T1110", "T1110.001"}},
		{"wazuh: description alone",
			[]string{"sshd: brute force trying to get access to the system. Non existent user."},
			[]string{"T1110", "T1110.001"}},
		// m365defender-events.otrf-goldensaml.json: ActionType (and the initiating process of the LDAP rows).
		{"m365: LDAP search by PowerShell", []string{"LdapSearch", "powershell.exe"}, []string{"T1059.001", "T1087.002"}},
		{"m365: directory services replication is DCSync", []string{"Directory Services replication"}, []string{"T1003.006"}},
		{"m365: mail items accessed", []string{"MailItemsAccessed"}, []string{"T1114.002"}},
		{"m365: delegated permission grant", []string{"Add delegated permission grant."}, []string{"T1528", "T1098.003"}},
		// sentinel-asim-crowdstrike-alertevent.head.csv: Name, Description, Tactic, Technique, TechniqueId,
		// TacticId, Objective, Scenario, PatternDispositionDescription. CrowdStrike's custom tactic and
		// technique ids (CSTA0005, CST0004) are not ATT&CK ids.
		{"crowdstrike: custom informational rule",
			[]string{"WinCustomTemplateInformationalPattern", "A process triggered an informational severity custom rule.",
				"Custom Intelligence", "Indicator of Attack", "CST0004", "CSTA0005", "Falcon Detection Method",
				"suspicious_activity", "Prevention, process killed."},
			nil},
	})
}

// TestSuggestWellKnown covers the signals issue 10 names and those a SOC
// sees most, in the words of the products that raise them (Emerging Threats
// signatures and class types, Zeek notices, Microsoft Defender alert titles,
// CrowdStrike technique fields, Windows events).
func TestSuggestWellKnown(t *testing.T) {
	t.Parallel()
	runSuggestCases(t, []suggestCase{
		// Brute force.
		{"zeek password guessing", []string{"SSH::Password_Guessing"}, []string{"T1110.001"}},
		{"zeek ftp bruteforcing", []string{"FTP::Bruteforcing"}, []string{"T1110"}},
		{"hyphenated", []string{"Possible brute-force attack against RDP"}, []string{"T1110", "T1021.001"}},
		{"camel case", []string{"BruteForceDetected"}, []string{"T1110"}},
		{"password spray", []string{"Azure AD: Password spray attack"}, []string{"T1110.003", "T1110"}},
		{"credential stuffing", []string{"Credential stuffing against login page"}, []string{"T1110.004"}},
		{"directory brute force is not password brute force", []string{"Directory brute force on /admin"}, []string{"T1595.003"}},
		// C2.
		{"et cnc", []string{"ET CNC Feodo Tracker Reported CnC Server group 1"}, []string{"T1071"}},
		{"c2 over web", []string{"ET MALWARE Win32/Emotet CnC Activity via HTTP POST", "A Network Trojan was detected"},
			[]string{"T1071", "T1071.001"}},
		{"cobalt strike beacon", []string{"ET MALWARE Cobalt Strike Beacon Observed"}, []string{"T1071", "T1071.001"}},
		{"dns c2", []string{"DNS beaconing to rare domain"}, []string{"T1071.004", "T1071"}},
		{"c2 over tls", []string{"Possible C2 over TLS with self-signed certificate"},
			[]string{"T1573", "T1071", "T1573.002"}},
		{"classtype c2", []string{"Malware Command and Control Activity Detected"}, []string{"T1071"}},
		// PowerShell.
		{"encoded powershell", []string{"Suspicious PowerShell command line: powershell.exe -NoP -W Hidden -EncodedCommand SQBFAFgA"},
			[]string{"T1059.001", "T1027", "T1027.010"}},
		{"powershell -enc across fields", []string{"Process created", "powershell.exe -nop -w hidden -enc SQBFAFgA"},
			[]string{"T1059.001", "T1027", "T1027.010"}},
		// Phishing.
		{"phishing attachment", []string{"Phishing email with malicious attachment"}, []string{"T1566.001", "T1566"}},
		{"phishing link", []string{"User clicked a phishing link"}, []string{"T1566.002", "T1566"}},
		{"defender: malicious url in email", []string{"Email messages containing malicious URL removed after delivery"},
			[]string{"T1566.002", "T1204.001"}},
		{"defender: malicious file in email", []string{"Email messages containing malicious file removed after delivery"},
			[]string{"T1566.001"}},
		// Tor and scans.
		{"tor exit", []string{"ET TOR Known Tor Exit Node Traffic group 1"}, []string{"T1090.003"}},
		{"tor is a whole word", []string{"Torrent client detected on a doctor's laptop"}, nil},
		{"zeek port scan", []string{"Scan::Port_Scan", "10.0.0.5 scanned at least 15 unique ports of host 10.0.0.9 in 0m2s"},
			[]string{"T1046"}},
		{"zeek address scan", []string{"Scan::Address_Scan"}, []string{"T1046"}},
		{"et scan", []string{"ET SCAN Potential SSH Scan"}, []string{"T1046", "T1595"}},
		{"classtype network scan", []string{"Detection of a Network Scan"}, []string{"T1046"}},
		// Credential access.
		{"mimikatz", []string{"Mimikatz credential theft tool"}, []string{"T1003", "T1003.001"}},
		{"lsass access", []string{"Suspicious LSASS memory access by procdump.exe"}, []string{"T1003.001"}},
		{"kerberoasting", []string{"Suspected Kerberoasting activity"}, []string{"T1558.003"}},
		{"golden ticket", []string{"Suspected Golden Ticket usage (encryption downgrade)"}, []string{"T1558.001"}},
		{"dcsync", []string{"Suspected DCSync attack (replication of directory services)"}, []string{"T1003.006"}},
		{"golden saml", []string{"Golden SAML attack: forged SAML token"}, []string{"T1606.002"}},
		{"adfs key export", []string{"ADFS DKM master key export"}, []string{"T1552.004", "T1606.002"}},
		// Lateral movement, persistence, execution.
		{"psexec", []string{"PsExec service installed on remote host"}, []string{"T1569.002", "T1021.002", "T1543.003"}},
		{"rdp", []string{"RDP connection from a new source"}, []string{"T1021.001"}},
		{"web shell", []string{"Possible web shell detected on IIS server"}, []string{"T1505.003"}},
		{"webshell camel case", []string{"WebShellDetected"}, []string{"T1505.003"}},
		{"scheduled task", []string{"New scheduled task created via schtasks.exe"}, []string{"T1053.005"}},
		{"run key", []string{`Registry value set: HKCU\Software\Microsoft\Windows\CurrentVersion\Run\Updater`}, []string{"T1547.001"}},
		// Impact and exfiltration.
		{"ransomware", []string{"Ransomware behavior detected: mass file encryption"}, []string{"T1486"}},
		{"shadow copies", []string{"vssadmin delete shadows /all /quiet"}, []string{"T1490"}},
		{"dns tunnelling exfiltration", []string{"Possible data exfiltration over DNS tunnel"},
			[]string{"T1071.004", "T1048.003", "T1041", "T1572", "T1048"}},
		{"rclone", []string{"Exfiltration to cloud storage via rclone"}, []string{"T1567.002", "T1041", "T1048"}},
		{"cryptomining classtype", []string{"Crypto Currency Mining Activity Detected"}, []string{"T1496.001", "T1496"}},
		{"xmrig", []string{"XMRig miner started"}, []string{"T1496.001", "T1496"}},
		// Suricata class types: the specific ones map, the catch-alls do not.
		{"classtype web attack", []string{"Web Application Attack"}, []string{"T1190"}},
		{"classtype unusual port", []string{"A client was using an unusual port"}, []string{"T1571"}},
		{"classtype external ip", []string{"Device Retrieving External IP Address Detected"}, []string{"T1016.001"}},
		{"et external ip lookup", []string{"ET POLICY External IP Lookup api.ipify.org"}, []string{"T1016.001"}},
		{"classtype exploit kit", []string{"Exploit Kit Activity Detected"}, []string{"T1189"}},
		{"classtype social engineering", []string{"Possible Social Engineering Attempted"}, []string{"T1566", "T1204"}},
		{"classtype admin privilege gain", []string{"Attempted Administrator Privilege Gain"}, []string{"T1190"}},
		{"classtype credential theft", []string{"Successful Credential Theft Detected"}, []string{"T1566.002", "T1598.003"}},
		{"classtype dos", []string{"Attempted Denial of Service"}, []string{"T1498", "T1499"}},
		{"classtype network trojan", []string{"A Network Trojan was detected"}, []string{"T1071"}},
		{"classtype potentially bad", []string{"Potentially Bad Traffic"}, nil},
		{"classtype misc activity", []string{"Misc activity"}, nil},
		{"classtype misc attack", []string{"Misc Attack"}, nil},
		{"classtype information leak", []string{"Attempted Information Leak"}, nil},
		{"classtype privacy violation", []string{"Potential Corporate Privacy Violation"}, nil},
	})
}

// TestSuggestIDsAndNames covers ATT&CK ids and names written in the texts.
func TestSuggestIDsAndNames(t *testing.T) {
	t.Parallel()
	runSuggestCases(t, []suggestCase{
		{"id", []string{"T1078.004"}, []string{"T1078.004"}},
		{"ids in a sentence", []string{"mapped to T1059.001, t1027 and T1110."}, []string{"T1027", "T1059.001", "T1110"}},
		{"revoked id maps", []string{"T1086"}, []string{"T1059.001"}},
		{"revoked chain", []string{"T1073"}, []string{"T1574.001"}},
		{"deprecated id", []string{"T1064"}, nil},
		{"unknown id", []string{"T9999"}, nil},
		{"not ids", []string{"CST0004 xT1110 T1110x T11100 T1059.1 T1059.0011 T1059.001.002 T1059.12"}, nil},
		{"id at the end", []string{"technique=T1021.002"}, []string{"T1021.002"}},
		{"technique name", []string{"Credential Access", "OS Credential Dumping"}, []string{"T1003"}},
		{"sub-technique name", []string{"Password Spraying"}, []string{"T1110.003", "T1110"}},
		{"full sub-technique name", []string{"Steal or Forge Kerberos Tickets: Kerberoasting"}, []string{"T1558.003"}},
		{"revoked technique name", []string{"Remote Desktop Protocol"}, []string{"T1021.001"}},
		{"ambiguous sub-technique name", []string{"Cloud Accounts"}, nil},
		{"one-word name is not matched alone", []string{"Proxy"}, nil},
		{"tactic name", []string{"Command and Control"}, nil},
		{"tactic short name", []string{"command-and-control"}, nil},
		{"masquerading", []string{"Defense Evasion", "Masquerading"}, []string{"T1036"}},
	})
}

// TestSuggestCamelCase checks that camelCase is split only where it reads
// as words: random identifiers must not yield "c2" or "tor".
func TestSuggestCamelCase(t *testing.T) {
	t.Parallel()
	runSuggestCases(t, []suggestCase{
		{"words run together", []string{"SuspiciousWebShellActivity"}, []string{"T1505.003"}},
		{"acronym then word", []string{"RDPSessionHijacking"}, []string{"T1563.002", "T1021.001"}},
		{"zeek uid with digits", []string{"C2KKTg1ppD9GuYkMK9"}, nil},
		{"letters-only random id", []string{"xTorYabcQweRtyUio"}, nil},
		{"all capitals", []string{"MIMIKATZ"}, []string{"T1003.001", "T1003"}},
	})
}

func TestSuggestReasons(t *testing.T) {
	t.Parallel()
	got := Suggestions("ET MALWARE Cobalt Strike Beacon over HTTP", "T1086", "OS Credential Dumping")
	want := map[string]string{
		"T1059.001": "names T1086 (revoked, now T1059.001)",
		"T1003":     `names the technique "OS Credential Dumping"`,
		"T1071.001": `matched "cobalt strike"`,
	}
	for _, s := range got {
		if w, ok := want[s.Technique.ID]; ok && s.Reason != w {
			t.Errorf("%s reason = %q, want %q", s.Technique.ID, s.Reason, w)
		}
		if s.Confidence < 1 || s.Confidence > 99 {
			t.Errorf("%s confidence %d out of range", s.Technique.ID, s.Confidence)
		}
	}
	s := Suggestions("c2 callback", "HTTPS")
	if len(s) < 2 || s[1].Technique.ID != "T1071.001" || s[1].Reason != `matched "c2" with "https"` {
		t.Errorf("two-phrase reason: %+v", s)
	}
}

// TestSuggestBounded checks that only the first MaxScan bytes of a text are
// read, and that a word cut by the limit is not matched in part.
func TestSuggestBounded(t *testing.T) {
	t.Parallel()
	pad := strings.Repeat("x", MaxScan-4)
	runSuggestCases(t, []suggestCase{
		{"phrase ends at the limit", []string{pad + " tor"}, []string{"T1090.003"}},
		{"phrase after the limit", []string{pad + "    mimikatz"}, nil},
		{"word cut by the limit", []string{pad + " torrent"}, nil},
		{"id cut by the limit", []string{pad + " T11" + "10"}, nil},
		{"each text has its own limit", []string{pad + "    mimikatz", "tor"}, []string{"T1090.003"}},
		{"megabytes", []string{strings.Repeat("port scan ", 1<<17)}, []string{"T1046"}},
	})
}

// TestSuggestDeterministic checks that the order of the texts does not
// change the order of the suggestions.
func TestSuggestDeterministic(t *testing.T) {
	t.Parallel()
	texts := []string{"ET MALWARE Cobalt Strike Beacon", "phishing email with malicious attachment", "T1110",
		"tor exit node", "powershell -enc AAAA", "Possible data exfiltration over DNS tunnel", "rdp"}
	want := ids(Suggest(texts...))
	if len(want) < 10 {
		t.Fatalf("only %d suggestions: %v", len(want), want)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		r.Shuffle(len(texts), func(i, j int) { texts[i], texts[j] = texts[j], texts[i] })
		if got := ids(Suggest(texts...)); !slices.Equal(got, want) {
			t.Fatalf("Suggest(%q) = %v, want %v", texts, got, want)
		}
	}
}

// TestRuleTable keeps the rule table honest: every technique it names is
// active in the embedded matrix, confidences are in range, and every phrase
// is written the way the matcher normalizes text, or it could never match.
func TestRuleTable(t *testing.T) {
	m := load()
	for i, r := range rules {
		if len(r.any) == 0 || len(r.techs) == 0 {
			t.Errorf("rule %d (%q) has no phrase or no technique", i, r.any)
		}
		for _, w := range r.techs {
			if _, ok := m.active[w.id]; !ok {
				t.Errorf("rule %d (%q): %s is not an active technique (%s)", i, r.any, w.id, Resolve(w.id).Status)
			}
			if w.conf < 1 || w.conf > 99 {
				t.Errorf("rule %d (%q): %s confidence %d out of 1-99", i, r.any, w.id, w.conf)
			}
		}
		for _, group := range [][]string{r.any, r.with, r.unless} {
			seen := map[string]bool{}
			for _, p := range group {
				if n := normalize(p); n != p {
					t.Errorf("rule %d: phrase %q is matched as %q; write it that way", i, p, n)
				}
				if seen[p] {
					t.Errorf("rule %d: phrase %q twice", i, p)
				}
				seen[p] = true
			}
		}
	}
	if got := len(index().rules); got != len(rules) {
		t.Errorf("compiled %d of %d rules", got, len(rules))
	}
}

func BenchmarkSuggest1MB(b *testing.B) {
	text := strings.Repeat("ET MALWARE Possible beacon to Tor exit node after port scan; powershell -enc ", 1<<20/77)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if len(Suggest(text)) == 0 {
			b.Fatal("no suggestion")
		}
	}
}

func BenchmarkSuggestAlert(b *testing.B) {
	texts := []string{"sshd: brute force trying to get access to the system. Non existent user.", "T1110",
		"Credential Access", "Brute Force", "syslog", "sshd", "authentication_failures"}
	b.ReportAllocs()
	for b.Loop() {
		if len(Suggest(texts...)) == 0 {
			b.Fatal("no suggestion")
		}
	}
}
