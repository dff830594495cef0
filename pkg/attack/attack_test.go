package attack

import (
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		in         string
		wantStatus Status
		wantID     string // canonical id
		wantName   string // the name the matrix gives wantID
		wantTech   string // technique to use, "" for none
	}{
		{"valid technique", "T1110", StatusValid, "T1110", "Brute Force", "T1110"},
		{"valid sub-technique", "T1059.001", StatusValid, "T1059.001", "Command and Scripting Interpreter: PowerShell", "T1059.001"},
		{"valid: lower case", "t1059.001", StatusValid, "T1059.001", "Command and Scripting Interpreter: PowerShell", "T1059.001"},
		{"valid: padded", " \tT1566.001\n", StatusValid, "T1566.001", "Phishing: Spearphishing Attachment", "T1566.001"},
		{"valid: newest technique", "T1681", StatusValid, "T1681", "Search Threat Vendor Data", "T1681"},
		{"revoked: mapped", "T1086", StatusRevoked, "T1086", "PowerShell", "T1059.001"},
		{"revoked: mapped to a technique", "T1193", StatusRevoked, "T1193", "Spearphishing Attachment", "T1566.001"},
		{"revoked: chained via T1574.002", "T1073", StatusRevoked, "T1073", "DLL Side-Loading", "T1574.001"},
		{"revoked: chained via T1547.011", "T1150", StatusRevoked, "T1150", "Plist Modification", "T1647"},
		{"revoked: chained, second", "T1162", StatusRevoked, "T1162", "Login Item", "T1647"},
		{"revoked: sub-technique", "T1574.002", StatusRevoked, "T1574.002", "Hijack Execution Flow: DLL Side-Loading", "T1574.001"},
		{"revoked: lower case", "t1208", StatusRevoked, "T1208", "Kerberoasting", "T1558.003"},
		{"deprecated", "T1064", StatusDeprecated, "T1064", "Scripting", ""},
		{"deprecated sub-technique", "T1053.004", StatusDeprecated, "T1053.004", "Scheduled Task/Job: Launchd", ""},
		{"unknown", "T9999", StatusUnknown, "T9999", "", ""},
		{"unknown: zeros", "T0000", StatusUnknown, "T0000", "", ""},
		{"unknown sub-technique of a real one", "T1059.999", StatusUnknown, "T1059.999", "", ""},
		{"malformed: too short", "T12", StatusMalformed, "", "", ""},
		{"malformed: one-digit sub", "T1059.1", StatusMalformed, "", "", ""},
		{"malformed: wrong letter", "X1059", StatusMalformed, "", "", ""},
		{"malformed: two subs", "T1059.001.002", StatusMalformed, "", "", ""},
		{"malformed: empty", "", StatusMalformed, "", "", ""},
		{"malformed: blank", "   ", StatusMalformed, "", "", ""},
		{"malformed: no T", "1059", StatusMalformed, "", "", ""},
		{"malformed: trailing dot", "T1059.", StatusMalformed, "", "", ""},
		{"malformed: four-digit sub", "T1059.0010", StatusMalformed, "", "", ""},
		{"malformed: five digits", "T10590", StatusMalformed, "", "", ""},
		{"malformed: hyphen", "T-1059", StatusMalformed, "", "", ""},
		{"malformed: slash", "T1059/001", StatusMalformed, "", "", ""},
		{"malformed: tactic id", "TA0006", StatusMalformed, "", "", ""},
		{"malformed: with name", "T1059 PowerShell", StatusMalformed, "", "", ""},
		{"malformed: fullwidth digits", "T１０５９", StatusMalformed, "", "", ""},
		{"malformed: Arabic-Indic digits", "T١٠٥٩", StatusMalformed, "", "", ""},
		{"malformed: fullwidth T", "Ｔ1059", StatusMalformed, "", "", ""},
		{"malformed: Devanagari sub", "T1059.००१", StatusMalformed, "", "", ""},
		{"malformed: NUL", "T1059\x00", StatusMalformed, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Resolve(tt.in)
			if r.Input != tt.in || r.Status != tt.wantStatus || r.ID != tt.wantID || r.Name != tt.wantName || r.Technique.ID != tt.wantTech {
				t.Errorf("Resolve(%q) = {Input:%q ID:%q Status:%s Name:%q Technique:%q}, want {ID:%q Status:%s Name:%q Technique:%q}",
					tt.in, r.Input, r.ID, r.Status, r.Name, r.Technique.ID, tt.wantID, tt.wantStatus, tt.wantName, tt.wantTech)
			}
			if r.OK() != (tt.wantTech != "") {
				t.Errorf("OK() = %v", r.OK())
			}
			wantReplaced := ""
			if tt.wantStatus == StatusRevoked {
				wantReplaced = tt.wantTech
			}
			if r.ReplacedBy != wantReplaced {
				t.Errorf("ReplacedBy = %q, want %q", r.ReplacedBy, wantReplaced)
			}
			if r.OK() && (r.Technique.Name == "" || len(r.Technique.Tactics) == 0) {
				t.Errorf("technique %s has no name or tactic", r.Technique.ID)
			}
		})
	}
}

// TestResolveEveryID resolves every id in both tables: active ones to
// themselves, revoked ones to an active technique, deprecated ones to none.
func TestResolveEveryID(t *testing.T) {
	m := load()
	for _, tech := range m.techniques {
		if r := Resolve(tech.ID); r.Status != StatusValid || r.Technique.ID != tech.ID {
			t.Errorf("Resolve(%s) = %s %s", tech.ID, r.Status, r.Technique.ID)
		}
	}
	for id, rt := range m.retired {
		r := Resolve(id)
		if r.Status != rt.status || r.Name != rt.name {
			t.Errorf("Resolve(%s) = %s %q, want %s %q", id, r.Status, r.Name, rt.status, rt.name)
		}
		if rt.status == StatusRevoked {
			if _, ok := Lookup(r.Technique.ID); !ok {
				t.Errorf("Resolve(%s) maps to %q, which is not active", id, r.Technique.ID)
			}
		} else if r.OK() {
			t.Errorf("deprecated %s resolves to %s", id, r.Technique.ID)
		}
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in     string
		wantOK bool
	}{
		{"T1558.003", true},
		{" t1558.003 ", true},
		{"T1208", false}, // revoked: Lookup does not map, Resolve does
		{"T1064", false}, // deprecated
		{"T9999", false},
		{"T1558.3", false},
		{"", false},
	} {
		tech, ok := Lookup(tt.in)
		if ok != tt.wantOK || ok && tech.ID != "T1558.003" {
			t.Errorf("Lookup(%q) = %q, %v; want ok %v", tt.in, tech.ID, ok, tt.wantOK)
		}
	}
}

func TestWarning(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in, want string
	}{
		{"T1110", ""},
		{"T1086", "ATT&CK technique T1086 (PowerShell) is revoked; using T1059.001 Command and Scripting Interpreter: PowerShell"},
		{"T1064", "ATT&CK technique T1064 (Scripting) is deprecated and has no replacement; dropped"},
		{"t9999", "T9999 is not a technique in ATT&CK Enterprise v18.1; dropped"},
		{"T1059.1", `"T1059.1" is not an ATT&CK technique id; dropped`},
		{"T1059\n\x1b[2J", `"T1059\n\x1b[2J" is not an ATT&CK technique id; dropped`},
		{strings.Repeat("é", 30), `"` + strings.Repeat("é", 20) + `"… is not an ATT&CK technique id; dropped`},
	} {
		if got := Resolve(tt.in).Warning(); got != tt.want {
			t.Errorf("Resolve(%q).Warning() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStatusString(t *testing.T) {
	var got []string
	for _, s := range AllStatuses {
		got = append(got, s.String())
	}
	if strings.Join(got, ",") != "valid,revoked,deprecated,unknown,malformed" {
		t.Errorf("AllStatuses = %v", got)
	}
}
