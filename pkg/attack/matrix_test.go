package attack

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatalf("embedded ATT&CK tables do not parse: %v", err)
	}
}

// TestCounts checks the parsed tables against the figures MITRE's release
// and data/README.md give, so a truncated or hand-edited copy fails.
func TestCounts(t *testing.T) {
	var techniques, subs, revoked, deprecated int
	for _, tech := range Techniques() {
		if tech.IsSubtechnique() {
			subs++
		} else {
			techniques++
		}
	}
	m := load()
	for _, rt := range m.retired {
		switch rt.status {
		case StatusRevoked:
			revoked++
		case StatusDeprecated:
			deprecated++
		}
	}
	tactics := len(Tactics())

	// The README's table: "| `enterprise-techniques.tsv` | 691: 216 techniques, 475 sub-techniques | …".
	rows := map[string][]int{}
	row := regexp.MustCompile("(?m)^\\| `([a-z-]+\\.tsv)` \\| ([^|]*)\\|")
	num := regexp.MustCompile(`[0-9]+`)
	for _, mm := range row.FindAllStringSubmatch(readme, -1) {
		for _, n := range num.FindAllString(mm[2], -1) {
			v, _ := strconv.Atoi(n)
			rows[mm[1]] = append(rows[mm[1]], v)
		}
	}
	for _, tt := range []struct {
		file string
		got  []int
		want []int // the figures of ATT&CK Enterprise v18.1
	}{
		{"enterprise-techniques.tsv", []int{techniques + subs, techniques, subs}, []int{691, 216, 475}},
		{"retired-techniques.tsv", []int{revoked + deprecated, revoked, deprecated}, []int{144, 132, 12}},
		{"tactics.tsv", []int{tactics}, []int{14}},
	} {
		if !slices.Equal(tt.got, tt.want) {
			t.Errorf("%s: parsed %v, want %v", tt.file, tt.got, tt.want)
		}
		if !slices.Equal(rows[tt.file], tt.want) {
			t.Errorf("%s: README.md says %v, want %v", tt.file, rows[tt.file], tt.want)
		}
	}
}

func TestVersionMatchesREADME(t *testing.T) {
	if Version() != "v18.1" {
		t.Errorf("Version() = %q, want v18.1", Version())
	}
	for _, want := range []string{"**" + Version() + "**", "421deacb77191b38bdd1bf63268954e93da91365"} {
		if !strings.Contains(readme, want) {
			t.Errorf("data/README.md does not mention %q", want)
		}
	}
	if !strings.Contains(notice, "Enterprise "+Version()+"\n") || !strings.Contains(notice, "421deacb77191b38bdd1bf63268954e93da91365") {
		t.Errorf("data/NOTICE does not name release %s and its source commit", Version())
	}
}

// TestAttribution checks that the copyright designation and licence text
// that data/README.md quotes from MITRE are reproduced verbatim.
func TestAttribution(t *testing.T) {
	quoted := regexp.MustCompile(`(?m)^> ?(.*)$`)
	var lines []string
	for _, m := range quoted.FindAllStringSubmatch(readme, -1) {
		lines = append(lines, m[1])
	}
	paras := strings.Split(strings.Join(lines, "\n"), "\n\n")
	if len(paras) != 2 {
		t.Fatalf("README.md quotes %d paragraphs, want the licence and the copyright line", len(paras))
	}
	licence, copyright := strings.Join(strings.Fields(paras[0]), " "), strings.TrimSpace(paras[1])
	if !strings.HasPrefix(copyright, `"© 2025 The MITRE Corporation.`) {
		t.Fatalf("unexpected copyright line in README.md: %s", copyright)
	}
	flat := strings.Join(strings.Fields(License()), " ")
	for _, want := range []string{licence, copyright, "https://attack.mitre.org/resources/terms-of-use/"} {
		if !strings.Contains(flat, want) {
			t.Errorf("License() lacks %q", want)
		}
	}
	a := Attribution()
	if want := strings.Trim(copyright, `"`); !strings.Contains(a, want) {
		t.Errorf("Attribution() = %q, lacks %q", a, want)
	}
	if !strings.HasPrefix(a, "MITRE ATT&CK® Enterprise "+Version()+". ") || strings.Contains(a, "\n") {
		t.Errorf("Attribution() = %q, want one line naming the release", a)
	}
}

// TestEmbeddedMatchesShared checks the embedded copy against the team's
// reference copy, when this checkout sits next to it.
func TestEmbeddedMatchesShared(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "reference", "attack")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no reference copy at %s (../shared beside the repository): %v", dir, err)
	}
	for name, embedded := range map[string]string{
		"tactics.tsv": tacticsTSV, "enterprise-techniques.tsv": techniquesTSV,
		"retired-techniques.tsv": retiredTSV, "README.md": readme,
	} {
		ref, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("read reference %s: %v", name, err)
		}
		if !bytes.Equal(ref, []byte(embedded)) {
			t.Errorf("data/%s differs from %s", name, filepath.Join(dir, name))
		}
	}
}

func TestTactics(t *testing.T) {
	ts := Tactics()
	var shorts []string
	for _, ta := range ts {
		shorts = append(shorts, ta.ShortName)
	}
	want := []string{"reconnaissance", "resource-development", "initial-access", "execution", "persistence",
		"privilege-escalation", "defense-evasion", "credential-access", "discovery", "lateral-movement",
		"collection", "command-and-control", "exfiltration", "impact"}
	if !slices.Equal(shorts, want) {
		t.Errorf("Tactics() order = %v, want %v", shorts, want)
	}
	if ts[7] != (Tactic{ID: "TA0006", ShortName: "credential-access", Name: "Credential Access"}) {
		t.Errorf("Tactics()[7] = %+v", ts[7])
	}
	if got := ts[7].URL(); got != "https://attack.mitre.org/tactics/TA0006/" {
		t.Errorf("URL() = %q", got)
	}
	ts[0].Name = "changed"
	if Tactics()[0].Name != "Reconnaissance" {
		t.Error("Tactics() shares its slice with the matrix")
	}
}

func TestTechniques(t *testing.T) {
	all := Techniques()
	if !slices.IsSortedFunc(all, func(a, b Technique) int { return strings.Compare(a.ID, b.ID) }) {
		t.Error("Techniques() is not sorted by id")
	}
	order := map[string]int{}
	for i, ta := range Tactics() {
		order[ta.ShortName] = i
	}
	byID := map[string]Technique{}
	for _, tech := range all {
		byID[tech.ID] = tech
	}
	for _, tech := range all {
		if len(tech.Tactics) == 0 || len(tech.Platforms) == 0 {
			t.Errorf("%s has no tactic or no platform", tech.ID)
		}
		if !slices.IsSortedFunc(tech.Tactics, func(a, b Tactic) int { return order[a.ShortName] - order[b.ShortName] }) {
			t.Errorf("%s tactics not in kill-chain order: %v", tech.ID, tech.TacticNames())
		}
		if tech.IsSubtechnique() {
			parent, ok := byID[tech.ParentID()]
			if !ok || !strings.HasPrefix(tech.Name, parent.Name+": ") {
				t.Errorf("%s %q: parent %s %q", tech.ID, tech.Name, tech.ParentID(), parent.Name)
			}
		}
	}
}

func TestTechniqueMethods(t *testing.T) {
	tech, ok := Lookup("T1059.001")
	if !ok {
		t.Fatal("Lookup(T1059.001) not found")
	}
	for _, c := range []struct{ name, got, want string }{
		{"Name", tech.Name, "Command and Scripting Interpreter: PowerShell"},
		{"String", tech.String(), "T1059.001 Command and Scripting Interpreter: PowerShell"},
		{"URL", tech.URL(), "https://attack.mitre.org/techniques/T1059/001/"},
		{"ParentID", tech.ParentID(), "T1059"},
		{"TacticNames", strings.Join(tech.TacticNames(), ", "), "Execution"},
		{"Platforms", strings.Join(tech.Platforms, ","), "Windows"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !tech.IsSubtechnique() {
		t.Error("T1059.001 is a sub-technique")
	}
	parent, _ := Lookup("T1078")
	if parent.IsSubtechnique() || parent.ParentID() != "T1078" || parent.URL() != "https://attack.mitre.org/techniques/T1078/" {
		t.Errorf("T1078: sub %v parent %q url %q", parent.IsSubtechnique(), parent.ParentID(), parent.URL())
	}
	if got := strings.Join(parent.TacticNames(), ", "); got != "Initial Access, Persistence, Privilege Escalation, Defense Evasion" {
		t.Errorf("T1078 tactics = %q", got)
	}
	var zero Technique
	if zero.URL() != "" || zero.String() != "" {
		t.Error("the zero Technique has a URL or a String")
	}
	// Lookup hands out copies: changing one must not change the matrix.
	tech.Tactics[0].Name = "changed"
	tech.Platforms[0] = "changed"
	again, _ := Lookup("T1059.001")
	if again.Tactics[0].Name != "Execution" || again.Platforms[0] != "Windows" {
		t.Error("Lookup shares slices with the matrix")
	}
}

// TestParse feeds the parser broken tables: every inconsistency must be an
// error naming the file and line, never a panic or a silently odd matrix.
func TestParse(t *testing.T) {
	const (
		tac  = "id\tshortname\tname\nTA0002\texecution\tExecution\nTA0005\tdefense-evasion\tDefense Evasion\n"
		tech = "id\tname\ttactics\tplatforms\n" +
			"T1059\tCommand and Scripting Interpreter\texecution\tWindows,Linux\n" +
			"T1059.001\tCommand and Scripting Interpreter: PowerShell\texecution\tWindows\n" +
			"T1027\tObfuscated Files or Information\tdefense-evasion\tWindows\n"
		ret = "id\tname\tstatus\treplaced_by\n" +
			"T1086\tPowerShell\trevoked\tT1059.001\n" +
			"T1064\tScripting\tdeprecated\t\n" +
			"T1000\tOld\trevoked\tT1001\n" +
			"T1001\tOlder\trevoked\tT1059\n"
	)
	tests := []struct {
		name               string
		tactics, tech, ret string
		wantErr            string
	}{
		{name: "happy path", tactics: tac, tech: tech, ret: ret},
		{name: "happy path: CRLF line ends", tactics: strings.ReplaceAll(tac, "\n", "\r\n"),
			tech: strings.ReplaceAll(tech, "\n", "\r\n"), ret: strings.ReplaceAll(ret, "\n", "\r\n")},
		{name: "happy path: no final newline", tactics: strings.TrimSuffix(tac, "\n"), tech: tech, ret: ret},
		{name: "empty table", tactics: "", tech: tech, ret: ret, wantErr: "parse tactics.tsv: empty table"},
		{name: "header only", tactics: "id\tshortname\tname\n", tech: tech, ret: ret, wantErr: "parse tactics.tsv: no rows"},
		{name: "wrong header", tactics: "id\tshort\tname\n", tech: tech, ret: ret, wantErr: "tactics.tsv line 1: header"},
		{name: "short row", tactics: tac + "TA0003\tpersistence\n", tech: tech, ret: ret, wantErr: "tactics.tsv line 4: 2 fields, want 3"},
		{name: "blank line", tactics: tac, tech: tech + "\n", ret: ret, wantErr: "enterprise-techniques.tsv line 5: 1 fields"},
		{name: "bad tactic id", tactics: tac + "T0003\tpersistence\tPersistence\n", tech: tech, ret: ret, wantErr: `tactic id "T0003"`},
		{name: "bad short name", tactics: tac + "TA0003\tPersistence\tPersistence\n", tech: tech, ret: ret, wantErr: "short name"},
		{name: "duplicate tactic", tactics: tac + "TA0009\texecution\tRun\n", tech: tech, ret: ret, wantErr: "duplicates TA0002"},
		{name: "bad technique id", tactics: tac, tech: tech + "T105\tX\texecution\tWindows\n", ret: ret, wantErr: `technique id "T105"`},
		{name: "lower-case technique id", tactics: tac, tech: tech + "t1105\tX\texecution\tWindows\n", ret: ret, wantErr: `technique id "t1105"`},
		{name: "duplicate technique", tactics: tac, tech: tech + "T1027\tAgain\texecution\tWindows\n", ret: ret, wantErr: "T1027 listed twice"},
		{name: "empty name", tactics: tac, tech: tech + "T1105\t\texecution\tWindows\n", ret: ret, wantErr: "empty name"},
		{name: "padded name", tactics: tac, tech: tech + "T1105\t Ingress\texecution\tWindows\n", ret: ret, wantErr: "surrounding spaces"},
		{name: "control character", tactics: tac, tech: tech + "T1105\tIngress\x1b[31m\texecution\tWindows\n", ret: ret, wantErr: "control character"},
		{name: "unknown tactic", tactics: tac, tech: tech + "T1105\tIngress\tcommand-and-control\tWindows\n", ret: ret, wantErr: `unknown tactic "command-and-control"`},
		{name: "no tactic", tactics: tac, tech: tech + "T1105\tIngress\t\tWindows\n", ret: ret, wantErr: "T1105 tactics: item 1"},
		{name: "repeated platform", tactics: tac, tech: tech + "T1105\tIngress\texecution\tLinux,Linux\n", ret: ret, wantErr: `"Linux" listed twice`},
		{name: "orphan sub-technique", tactics: tac, tech: tech + "T1105.001\tIngress: Sub\texecution\tWindows\n", ret: ret, wantErr: "T1105.001 has no active parent T1105"},
		{name: "sub-technique misnamed", tactics: tac, tech: tech + "T1059.002\tAppleScript\texecution\tmacOS\n", ret: ret, wantErr: `sub-technique T1059.002 name "AppleScript"`},
		{name: "sub-technique without own name", tactics: tac, tech: tech + "T1059.002\tCommand and Scripting Interpreter: \texecution\tmacOS\n", ret: ret, wantErr: "surrounding spaces"},
		{name: "bad status", tactics: tac, tech: tech, ret: ret + "T1002\tData Compressed\tretired\tT1027\n", wantErr: `status "retired"`},
		{name: "revoked without replacement", tactics: tac, tech: tech, ret: ret + "T1002\tData Compressed\trevoked\t\n", wantErr: `replaced_by "" is not`},
		{name: "revoked by itself", tactics: tac, tech: tech, ret: ret + "T1002\tData Compressed\trevoked\tT1002\n", wantErr: `replaced_by "T1002" is not`},
		{name: "deprecated with replacement", tactics: tac, tech: tech, ret: ret + "T1002\tData Compressed\tdeprecated\tT1027\n", wantErr: "deprecated id T1002 has a replaced_by"},
		{name: "retired and active", tactics: tac, tech: tech, ret: ret + "T1027\tObfuscation\tdeprecated\t\n", wantErr: "T1027 is also an active technique"},
		{name: "duplicate retired", tactics: tac, tech: tech, ret: ret + "T1064\tScripting\tdeprecated\t\n", wantErr: "T1064 listed twice"},
		{name: "chain to nowhere", tactics: tac, tech: tech, ret: ret + "T1002\tData Compressed\trevoked\tT1560\n", wantErr: "chain reaches T1560, which is in neither table"},
		{name: "chain to deprecated", tactics: tac, tech: tech, ret: ret + "T1002\tData Compressed\trevoked\tT1064\n", wantErr: "chain reaches T1064, which is deprecated"},
		{name: "chain cycle", tactics: tac, tech: tech, ret: ret + "T1002\tA\trevoked\tT1003\nT1003\tB\trevoked\tT1002\n", wantErr: "cycle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := parse(tt.tactics, tt.tech, tt.ret)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parse error = %v, want one containing %q", err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "parse ") {
					t.Errorf("error %q does not start with %q", err, "parse ")
				}
				return
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if len(m.tactics) != 2 || len(m.techniques) != 3 || len(m.retired) != 4 {
				t.Fatalf("parsed %d tactics, %d techniques, %d retired", len(m.tactics), len(m.techniques), len(m.retired))
			}
			if got := m.retired["T1000"].final; got != "T1059" {
				t.Errorf("T1000 chain ends at %q, want T1059", got)
			}
			if got := m.active["T1059"].Platforms; !slices.Equal(got, []string{"Linux", "Windows"}) {
				t.Errorf("platforms %v, want sorted", got)
			}
		})
	}
}

// BenchmarkParse measures the one-off cost of the first Resolve, Lookup or
// Suggest in a process.
func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		m, err := parse(tacticsTSV, techniquesTSV, retiredTSV)
		if err != nil {
			b.Fatal(err)
		}
		if compile(rules, m) == nil {
			b.Fatal("no index")
		}
	}
}
