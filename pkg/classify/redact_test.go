package classify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/alert"
	"github.com/verdict-dev/verdict/pkg/internal/testutil"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

// placeholderRE is the documented placeholder form.
var placeholderRE = regexp.MustCompile(`⟦[a-z]+(?:-[a-z]+)*-[0-9]+(?:\.v[0-9]+)?:[g-z]{7}⟧`)

// redactDoc redacts an alert as BuildPrompt does and returns the redactor
// and the redacted document.
func redactDoc(t *testing.T, raw string, internal ...string) (*Redactor, string) {
	t.Helper()
	require.True(t, json.Valid([]byte(raw)), "test alert is not JSON: %s", raw)
	r := NewRedactor(Case{Raw: json.RawMessage(raw)}, internal)
	out := r.RedactJSON(StableJSON(json.RawMessage(raw)))
	require.True(t, json.Valid(out), "redacted alert is not JSON: %s", out)
	return r, string(out)
}

// jsonStrings returns every string of a JSON document, keys and values,
// decoded.
func jsonStrings(t testing.TB, doc []byte) []string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(doc, &v))
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case map[string]any:
			for k, val := range x {
				out = append(out, k)
				walk(val)
			}
		case []any:
			for _, val := range x {
				walk(val)
			}
		}
	}
	walk(v)
	return out
}

// tokens splits text the way a reader picks out names: on everything but
// letters, digits, '_', '.' and '-', with sentence dots and flag dashes
// trimmed, in lower case.
func tokens(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return !isWordRune(r) }) {
		if f = strings.Trim(f, ".-"); f != "" {
			out = append(out, foldCase(f))
		}
	}
	return out
}

// assertGone checks that no secret is left in the redacted document: not
// as a token of any decoded string, and not anywhere in its bytes (which
// catches escaped forms).
func assertGone(t *testing.T, doc string, secrets ...string) {
	t.Helper()
	strs := strings.Join(jsonStrings(t, []byte(doc)), "\n")
	for _, s := range secrets {
		assert.NotContains(t, tokens(strs), foldCase(s), "%q survives as a token in %s", s, doc)
		assert.NotContains(t, foldCase(doc), foldCase(s), "%q survives in %s", s, doc)
	}
}

func assertKept(t *testing.T, doc string, kept ...string) {
	t.Helper()
	strs := strings.Join(jsonStrings(t, []byte(doc)), "\n")
	for _, k := range kept {
		assert.Contains(t, strs, k, "%q was redacted but is not sensitive: %s", k, doc)
	}
}

// assertRoundTrip checks that restoring every string of the redacted
// document gives back the alert the prompt would show unredacted.
func assertRoundTrip(t testing.TB, r *Redactor, raw, redacted []byte) {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(redacted))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&v))
	var restore func(v any) any
	restore = func(v any) any {
		switch x := v.(type) {
		case string:
			return r.Restore(x)
		case map[string]any:
			out := map[string]any{}
			for k, val := range x {
				out[r.Restore(k)] = restore(val)
			}
			return out
		case []any:
			for i := range x {
				x[i] = restore(x[i])
			}
		}
		return v
	}
	back, err := json.Marshal(restore(v))
	require.NoError(t, err)
	require.Equal(t, string(StableJSON(raw)), string(back), "Restore does not undo the redaction")
}

func TestRedactEscapedValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     string
		secrets []string
	}{
		{name: "DOMAIN\\user is escaped in JSON and found in a command line",
			raw:     `{"user":"CORP\\svc_backup","cmd":"runas /user:CORP\\svc_backup cmd.exe","note":"svc_backup ran it"}`,
			secrets: []string{"svc_backup", "CORP"}},
		{name: "a JSON document inside a string escapes the value twice",
			raw:     `{"user":"CORP\\svc_backup","AdditionalFields":"{\"Account\":\"CORP\\\\svc_backup\",\"Path\":\"C:\\\\Users\\\\svc_backup\\\\x\"}"}`,
			secrets: []string{"svc_backup", "CORP"}},
		{name: "a value only inside the nested document is learned from it",
			raw:     `{"AdditionalFields":"{\"TargetUserName\":\"mallory.k\",\"msg\":\"logon by mallory.k\"}"}`,
			secrets: []string{"mallory.k"}},
		{name: "unicode escapes decode before matching",
			raw:     `{"user":"\u0061lice","msg":"\u0041LICE logged on; alice again"}`,
			secrets: []string{"alice"}},
		{name: "quotes and HTML characters in a name",
			raw:     `{"user":{"full_name":"Zoë \"Z\" O'Brien-Smith"},"msg":"mail for Zoë \"Z\" O'Brien-Smith <at> desk"}`,
			secrets: []string{"O'Brien-Smith", `Zoë \"Z\"`}},
		{name: "escaped slashes",
			raw:     `{"host":{"name":"ws-fin-042"},"url":"http:\/\/ws-fin-042\/share"}`,
			secrets: []string{"ws-fin-042"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, doc := redactDoc(t, tt.raw)
			assertGone(t, doc, tt.secrets...)
			assertRoundTrip(t, r, []byte(tt.raw), []byte(doc))
		})
	}
}

func TestRedactFreeText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     string
		secrets []string // gone entirely
		words   []string // gone as whole words, may stay inside others
		kept    []string
	}{
		{name: "field values are found in command lines and messages, in any case",
			raw:     `{"user":"Frank","host":{"name":"LAPTOP-7Q2"},"cmd":"net user FRANK /domain & ping laptop-7q2","msg":"frank on Laptop-7Q2."}`,
			secrets: []string{"frank", "laptop-7q2"}, kept: []string{"net", "/domain", "ping"}},
		{name: "sshd with no user field (Wazuh full_log)",
			raw:     `{"full_log":"May 11 12:29:18 localhost sshd[17584]: Invalid user paco from 172.17.1.1 port 56404","agent":{"name":"localhost.localdomain"}}`,
			secrets: []string{"paco", "172.17.1.1"}, kept: []string{"localhost", "sshd[17584]", "56404", "localhost.localdomain"}},
		{name: "sshd failed and accepted",
			raw:     `{"message":"Failed password for invalid user bob from 203.0.113.9 port 22 ssh2; Accepted publickey for carol from 8.8.8.8 port 51000 ssh2; Failed password for root from 8.8.4.4"}`,
			secrets: []string{"bob", "carol", "203.0.113.9"}, kept: []string{"root", "8.8.8.8", "8.8.4.4", "invalid"}},
		{name: "PAM and sudo",
			raw:     `{"message":"pam_unix(sshd:session): session opened for user dave(uid=1000) by (uid=0)","m2":"sudo:   erin : TTY=pts/0 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh","m3":"authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.9.8.7  user=fred"}`,
			secrets: []string{"dave", "erin", "fred", "10.9.8.7"}, kept: []string{"root", "logname", "ruser", "rhost"}},
		{name: "Windows security event text",
			raw:     "{\"Message\":\"An account was successfully logged on.\\r\\n\\tAccount Name:\\t\\tgrace\\r\\n\\tAccount Domain:\\t\\tACME\\r\\n\\tWorkstation Name:\\tWS-0042\\r\\n\\tSecurity ID:\\t\\tS-1-5-21-2490359158-13971675-3780420524-1104\"}",
			secrets: []string{"grace", "ACME", "WS-0042", "S-1-5-21-2490359158-13971675-3780420524-1104"}, kept: []string{"Account Name", "Workstation Name"}},
		{name: "CEF key=value",
			raw:     `{"raw":"CEF:0|Vendor|Product|1.0|100|Login|5|suser=heidi shost=PC-LAB-12 dhost=evil.com dst=8.8.8.8"}`,
			secrets: []string{"heidi", "PC-LAB-12"}, kept: []string{"evil.com", "8.8.8.8", "suser", "dhost"}},
		{name: "profile paths name their user",
			raw:     `{"process":{"executable":"C:\\Users\\ivan.p\\AppData\\Local\\Temp\\x.exe"},"cmd":"cat /home/judy/.ssh/id_rsa; ls C:\\Users\\Public","mac":"/Users/kim/Library"}`,
			secrets: []string{"ivan.p", "judy", "kim"}, kept: []string{"Public", "AppData", "Temp", ".ssh", "Library"}},
		{name: "machine accounts are hosts",
			raw:     `{"TargetUserName":"WS-FIN-042$","msg":"WS-FIN-042 authenticated"}`,
			secrets: []string{"WS-FIN-042"}},
		{name: "a name whose first part is one letter",
			raw:     `{"user":"O'Neil","msg":"o'neil logged on; D'Arcy is not O'Neal"}`,
			secrets: []string{"O'Neil"}, kept: []string{"O'Neal", "D'Arcy"}},
		{name: "display names as phrases",
			raw:     `{"AccountDisplayName":"Alice Smith","msg":"Alice Smith shared a file"}`,
			secrets: []string{"Alice Smith"}, kept: []string{"shared a file"}},
		{name: "account domain fields and LDAP names",
			raw:     `{"AccountDomain":"simulandlabs","AccountName":"wardog","dn":"CN=ADFS,CN=Microsoft,DC=simulandlabs,DC=com","msg":"SIMULANDLABS\\wardog"}`,
			secrets: []string{"simulandlabs", "wardog"}, kept: []string{"CN=ADFS", "DC=com"}},
		{name: "built-in accounts stay",
			raw:  `{"SubjectUserName":"SYSTEM","SubjectDomainName":"NT AUTHORITY","user":"root","msg":"SYSTEM and root"}`,
			kept: []string{"SYSTEM", "NT AUTHORITY", "root"}},
		{name: "a user agent is not a user",
			raw:  `{"user_agent":{"name":"Chrome"},"http":{"user_agent":"curl/7.58.0"},"msg":"Chrome via curl"}`,
			kept: []string{"Chrome", "curl/7.58.0"}},
		{name: "group names and roles are not users",
			raw:     `{"user":{"name":"lee","roles":["Global Administrator"],"group":{"name":"Domain Admins"}},"msg":"lee is a Global Administrator in Domain Admins"}`,
			secrets: []string{"lee"}, kept: []string{"Global Administrator", "Domain Admins"}},
		{name: "a word inside a longer word stays",
			raw:   `{"user":{"name":"admin"},"msg":"admin logged into administrator console; adminSDHolder; admin."}`,
			words: []string{"admin"}, kept: []string{"administrator", "adminSDHolder", "logged into"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, doc := redactDoc(t, tt.raw)
			assertGone(t, doc, tt.secrets...)
			for _, w := range tt.words {
				assert.NotContains(t, tokens(strings.Join(jsonStrings(t, []byte(doc)), "\n")), w)
			}
			assertKept(t, doc, tt.kept...)
			assertRoundTrip(t, r, []byte(tt.raw), []byte(doc))
		})
	}
}

func TestRedactHostsInURLs(t *testing.T) {
	t.Parallel()
	raw := `{"msg":"fetched http://intranet/x, http://intranet:8080/y, https://wiki.corp.local/p?q=1, ldap://dc01/cn=x, ftp://svc_ftp:Secr3t@files01/drop, \\\\fs01\\share\\a.txt and https://evil.com/payload from https://203.0.113.5/ and http://[fd00::5]:8080/","dest":"jdbc:mysql://db-prod-3:3306/app"}`
	r, doc := redactDoc(t, raw)
	assertGone(t, doc, "intranet", "wiki.corp.local", "dc01", "svc_ftp", "files01", "fs01", "db-prod-3", "203.0.113.5", "fd00::5")
	assertKept(t, doc, "https://evil.com/payload", "http://", "ldap://", `\share\a.txt`, ":8080/y", ":3306/app")
	assertRoundTrip(t, r, []byte(raw), []byte(doc))
}

func TestRedactInternalDomains(t *testing.T) {
	t.Parallel()
	raw := `{"msg":"ws7.Corp.Example.com called FILESERVER.corp.example.com. and mailed bob@corp.example.com; DN DC=corp,DC=example,DC=com","url":"https://intranet.corp.example.com:8443/a","lookalikes":"notcorp.example.com corp.example.com.evil.net example.com","ad":"dc01.ad.lab.test"}`
	r, doc := redactDoc(t, raw, "corp.example.com", ".AD.lab.test.")
	assertGone(t, doc, "ws7.corp.example.com", "fileserver.corp.example.com", "intranet", "DC=corp", "bob", "dc01.ad.lab.test")
	assert.NotContains(t, tokens(doc), "corp.example.com", "the organisation's own domain")
	assertKept(t, doc, "notcorp.example.com", "corp.example.com.evil.net", "example.com")
	assert.Contains(t, doc, "⟦domain-", "the organisation's own domain is a domain placeholder")
	assert.Contains(t, doc, "⟦host-", "names under it are host placeholders")
	assertRoundTrip(t, r, []byte(raw), []byte(doc))

	t.Run("a machine's short name is the same host", func(t *testing.T) {
		t.Parallel()
		_, doc := redactDoc(t, `{"a":"WS7 logged on","b":"ws7.corp.example.com"}`, "corp.example.com")
		assertGone(t, doc, "ws7")
		assert.Contains(t, doc, "⟦host-1:")
		assert.Contains(t, doc, "⟦host-1.v2:")
	})
	t.Run("skipped as internal without the list", func(t *testing.T) {
		t.Parallel()
		raw := `{"msg":"see https://portal.acme-internal.com/x and vpn.acme-internal.com"}`
		c := Case{Raw: json.RawMessage(raw), IOCs: []model.IOC{
			{Type: "url", Value: "https://portal.acme-internal.com/x", Skipped: skipInternal},
			{Type: "domain", Value: "vpn.acme-internal.com", Skipped: skipInternal},
		}}
		r := NewRedactor(c, nil)
		doc := string(r.RedactJSON(StableJSON(c.Raw)))
		assertGone(t, doc, "portal.acme-internal.com", "vpn.acme-internal.com")
	})
	t.Run("private-use top-level names need no list", func(t *testing.T) {
		t.Parallel()
		_, doc := redactDoc(t, `{"msg":"nas.lan printer.home gw.home.arpa app.internal x.localdomain pc1.local"}`)
		assertGone(t, doc, "nas.lan", "printer.home", "gw.home.arpa", "app.internal", "x.localdomain", "pc1.local")
	})
}

func TestRedactEmailLocalParts(t *testing.T) {
	t.Parallel()
	raw := `{"msg":"from jo@x.example.com to alice+spam@gmail.com cc postmaster@corp.com; installed lodash@4.17.21; ssh kim.l@10.0.0.7; Carol.D@Mail.Example.org","subject":"emailAddress=ssl-certificates@vmware.com"}`
	r, doc := redactDoc(t, raw)
	assertGone(t, doc, "jo", "alice+spam", "kim.l", "carol.d", "ssl-certificates", "10.0.0.7")
	assertKept(t, doc, "@x.example.com", "@gmail.com", "postmaster@corp.com", "lodash@4.17.21", "@Mail.Example.org", "@vmware.com")
	assertRoundTrip(t, r, []byte(raw), []byte(doc))
	_, doc = redactDoc(t, `{"to":"alice+spam@gmail.com","msg":"alice wrote"}`)
	assertGone(t, doc, "alice")
}

func TestRedactAddresses(t *testing.T) {
	t.Parallel()
	// Each group is one address written in several ways: every form is
	// redacted, with the group's number, and restored exactly.
	groups := []struct {
		kind  string
		forms []string
	}{
		{"ip-documentation", []string{"2001:DB8:0:0::1", "2001:db8::1", "2001:0db8:0000:0000:0000:0000:0000:0001", "[2001:db8::1]:443"}},
		{"ip-link-local", []string{"fe80::1%eth0", "fe80::1", "FE80::1%25eth0", "[fe80::1%12]:22", "fe80:0:0:0:0:0:0:1"}},
		{"ip-private", []string{"::ffff:10.0.0.1", "10.0.0.1", "::FFFF:a00:1", "010.000.000.001", "10.0.0.1:8080", "10.0.0.1.443"}},
		{"ip-private", []string{"fd00::abcd", "FD00:0::ABCD"}},
		{"ip-loopback", []string{"127.0.0.1", "::ffff:127.0.0.1", "127.000.000.001"}},
		{"ip-loopback", []string{"::1", "0:0:0:0:0:0:0:1", "[::1]:631"}},
		{"ip-shared", []string{"100.64.1.2"}},
		{"ip-link-local", []string{"169.254.169.254"}},
		{"ip-unspecified", []string{"0.0.0.0", "::ffff:0.0.0.0"}},
		{"ip-unspecified", []string{"::", "0::0"}},
	}
	for _, g := range groups {
		t.Run(g.forms[0], func(t *testing.T) {
			t.Parallel()
			text := "seen " + strings.Join(g.forms, " and ") + "."
			raw, err := json.Marshal(map[string]string{"msg": text})
			require.NoError(t, err)
			r, doc := redactDoc(t, string(raw))
			strs := jsonStrings(t, []byte(doc))
			require.Len(t, strs, 2)
			out := strs[1]
			phs := placeholderRE.FindAllString(out, -1)
			require.Len(t, phs, len(g.forms), "every form is redacted: %s", out)
			base := regexp.MustCompile(`^⟦(` + g.kind + `-[0-9]+)`)
			m := base.FindStringSubmatch(phs[0])
			require.NotNil(t, m, "kind of %s", phs[0])
			for _, ph := range phs {
				assert.True(t, strings.HasPrefix(ph, "⟦"+m[1]+":") || strings.HasPrefix(ph, "⟦"+m[1]+".v"), "%s is not a spelling of %s", ph, m[1])
			}
			for _, f := range g.forms {
				a, err := netip.ParseAddr(strings.Trim(strings.Split(f, "]")[0], "["))
				if err == nil {
					assert.NotContains(t, out, a.WithZone("").Unmap().String())
				}
			}
			assert.Equal(t, text, r.Restore(out))
		})
	}
	t.Run("global addresses and look-alikes stay", func(t *testing.T) {
		t.Parallel()
		text := "8.8.8.8 2606:4700::1111 ::ffff:8.8.4.4 12:30:45 00:1a:2b:3c:4d:5e 1.2.3.4.5 v1.10.0 std::vector Foo::Bar 999.1.1.1 10.0.0 fe80::1g"
		raw, _ := json.Marshal(map[string]string{"msg": text})
		_, doc := redactDoc(t, string(raw))
		assert.Equal(t, text, jsonStrings(t, []byte(doc))[1])
	})
	t.Run("skipped IOCs become placeholders in any form", func(t *testing.T) {
		t.Parallel()
		c := Case{Raw: json.RawMessage(`{"src":"2001:DB8::5","dst":"185.220.101.45"}`),
			IOCs: []model.IOC{{Type: "ipv6", Value: "2001:db8::5", Fields: []string{"src"}, Skipped: "documentation"}, {Type: "ipv4", Value: "185.220.101.45", Fields: []string{"dst"}}}}
		r := NewRedactor(c, nil)
		doc := string(r.RedactJSON(StableJSON(c.Raw)))
		lines := strings.Join(r.Enrichment(c), "\n")
		assert.NotContains(t, strings.ToLower(doc+lines), "2001:db8::5")
		assert.Contains(t, doc+lines, "185.220.101.45")
	})
}

func TestRedactKeepsEvidence(t *testing.T) {
	t.Parallel()
	raw := `{"rule":{"name":"ET CNC Feodo Tracker"},"dst":"185.220.101.45","url":"https://evil.example.net/x.exe","sha256":"1d233362395405a19be5da8fc1f3fba060e658fb30718a47eedc0925a7226e52","http":{"hostname":"cdn-payload.com"},"n":42,"ok":true,"msg":"a <b> & \"c\""}`
	r, doc := redactDoc(t, raw)
	assert.Equal(t, string(StableJSON(json.RawMessage(raw))), doc, "an alert with nothing to redact comes out byte for byte")
	assert.Zero(t, r.Len())
}

func TestPlaceholders(t *testing.T) {
	t.Parallel()
	raw := `{"user":"alice","host":{"name":"DC01"},"src":"10.0.0.5","msg":"alice on DC01 from 10.0.0.5; Alice again"}`
	r, doc := redactDoc(t, raw)
	phs := placeholderRE.FindAllString(doc, -1)
	require.NotEmpty(t, phs)
	assert.Equal(t, len(phs), strings.Count(doc, "⟦"), "every placeholder has the documented form: %s", doc)
	assert.Equal(t, 4, r.Len(), "alice, Alice, DC01, 10.0.0.5")
	tok := r.token
	assert.NotContains(t, strings.ToLower(raw), tok)
	assert.Contains(t, doc, "⟦user-1:"+tok+"⟧")
	assert.Contains(t, doc, "⟦user-1.v2:"+tok+"⟧", "a second spelling is a variant of the same user")

	t.Run("deterministic", func(t *testing.T) {
		t.Parallel()
		_, again := redactDoc(t, raw)
		assert.Equal(t, doc, again)
	})
	t.Run("the token never occurs in what the prompt shows", func(t *testing.T) {
		t.Parallel()
		c := Case{Raw: json.RawMessage(raw)}
		first := newToken(c, nil)
		// The seed is the alert; the factors are only checked. A factor
		// holding the first candidate forces the next one.
		c.Risk.Factors = []string{"IP 1.2.3.4: " + first}
		second := newToken(c, nil)
		assert.NotEqual(t, first, second)
		assert.Regexp(t, `^[g-z]{7}$`, second)
	})
}

func TestRestore(t *testing.T) {
	t.Parallel()
	raw := `{"user":"alice","host":{"name":"DC01"},"msg":"alice on DC01 and bob@x.example.com"}`
	r, _ := redactDoc(t, raw)
	alice, dc := r.Apply("alice"), r.Apply("DC01")
	require.Regexp(t, placeholderRE, alice)
	tok := r.token
	tests := []struct {
		name, in, want string
	}{
		{name: "happy path", in: "user " + alice + " on " + dc + ".", want: "user alice on DC01."},
		{name: "glued to punctuation", in: "(" + alice + ")," + dc, want: "(alice),DC01"},
		{name: "invented number", in: "⟦user-9:" + tok + "⟧", want: "⟦user-9:" + tok + "⟧"},
		{name: "wrong token", in: "⟦user-1:gggggggg⟧", want: "⟦user-1:gggggggg⟧"},
		{name: "no token", in: "⟦user-1⟧", want: "⟦user-1⟧"},
		{name: "upper case", in: strings.ToUpper(alice), want: strings.ToUpper(alice)},
		{name: "another kind", in: "⟦host-1.v9:" + tok + "⟧", want: "⟦host-1.v9:" + tok + "⟧"},
		{name: "truncated", in: "⟦user-1:" + tok, want: "⟦user-1:" + tok},
		{name: "open inside open", in: "⟦⟦user-1:" + tok + "⟧", want: "⟦alice"},
		{name: "old style", in: "[USER_1] [HOST_1]", want: "[USER_1] [HOST_1]"},
		{name: "no placeholder", in: "nothing here", want: "nothing here"},
		{name: "lone brackets", in: "⟧⟦", want: "⟧⟦"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, r.Restore(tt.in))
		})
	}
	var nilR *Redactor
	assert.Equal(t, "x "+alice, nilR.Restore("x "+alice), "a nil redactor restores nothing")
	assert.Equal(t, "alice", nilR.Apply("alice"))
}

func TestRedactEnrichmentAndFactors(t *testing.T) {
	t.Parallel()
	c := Case{
		Raw: json.RawMessage(`{"user":"alice","src":"10.0.0.5","dst":"185.220.101.45","url":"https://evil.com/u/alice/drop","msg":"fs01.corp.example.com"}`),
		IOCs: []model.IOC{
			{Type: "ipv4", Value: "10.0.0.5", Fields: []string{"src"}, Skipped: "private"},
			{Type: "ipv4", Value: "185.220.101.45", Fields: []string{"dst"}},
			{Type: "url", Value: "https://evil.com/u/alice/drop", Fields: []string{"url"}},
			{Type: "domain", Value: "fs01.corp.example.com", Fields: []string{"msg"}, Skipped: skipInternal},
		},
		Enrichment: map[string]map[string]*model.Result{
			"185.220.101.45":                {"feeds": {Status: model.StatusFound, Matches: []model.FeedMatch{{Feed: "feodo.csv", Info: "Pikabot"}}}},
			"https://evil.com/u/alice/drop": {"virustotal": {Status: model.StatusFound, Malicious: model.Int(9)}},
		},
		Risk: model.Risk{Score: 80, Verdict: model.Malicious, Factors: []string{
			"IP 185.220.101.45: listed in local feed feodo.csv (+40)",
			"URL https://evil.com/u/alice/drop: 9 VirusTotal malicious detections (+40)",
		}},
	}
	r := NewRedactor(c, []string{"corp.example.com"})
	want := EnrichmentSummary(c)
	got := r.Enrichment(c)
	require.Len(t, got, len(want))
	for i, w := range want {
		v := c.IOCs[i].Value
		assert.Equal(t, strings.Replace(w, " "+v+" ", " "+r.Apply(v)+" ", 1), got[i], "only the value of line %d changes", i)
	}
	assert.Equal(t, want[1], got[1], "a public indicator's line is untouched")
	assert.NotContains(t, strings.Join(got, "\n"), "10.0.0.5")
	assert.NotContains(t, strings.Join(got, "\n"), "fs01")
	assert.NotContains(t, strings.Join(got, "\n"), "alice")

	f := r.Factors(c)
	assert.Equal(t, c.Risk.Factors[0], f[0])
	assert.Equal(t, "URL https://evil.com/u/"+r.Apply("alice")+"/drop: 9 VirusTotal malicious detections (+40)", f[1])
	assert.Equal(t, "URL https://evil.com/u/alice/drop: 9 VirusTotal malicious detections (+40)", c.Risk.Factors[1], "the case is not modified")
}

// TestRedactSamples redacts every alert of the bundled samples: no learned
// value and no non-global address is left, public indicators stay, and
// Restore undoes it.
func TestRedactSamples(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "..", "samples", "alerts", "*"))
	require.NoError(t, err)
	redactFiles(t, files, "j.doe", "ws-fin-042", "wardog", "simulandlabs", "bob", "10.20.60.12")
}

// TestRedactSharedSamples does the same over the real exports next to the
// development checkout (skipped elsewhere).
func TestRedactSharedSamples(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(testutil.SharedSamples(t, "alerts"), "*"))
	require.NoError(t, err)
	redactFiles(t, files, "paco", "172.17.1.1", "wardog", "contoso.user", "10.171.6.227", "192.168.1.146")
}

// redactFiles redacts every alert of files and checks that each value of
// mustGo that some alert holds is gone from it.
func redactFiles(t *testing.T, files []string, mustGo ...string) {
	t.Helper()
	require.NotEmpty(t, files)
	found := map[string]bool{}
	for _, file := range files {
		rd, err := alert.Open(file, filepath.Base(file), alert.Options{})
		require.NoError(t, err)
		for {
			rec, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			if rec.Err != nil {
				continue
			}
			raw := append(json.RawMessage(nil), rec.Raw...)
			r := NewRedactor(Case{Raw: raw}, []string{"corp.example.com"})
			doc := r.RedactJSON(StableJSON(raw))
			require.True(t, json.Valid(doc))
			assertRoundTrip(t, r, raw, doc)
			assertNothingLeft(t, r, doc)
			toks := tokens(strings.Join(jsonStrings(t, doc), "\n"))
			for _, v := range mustGo {
				if bytes.Contains(bytes.ToLower(raw), []byte(v)) {
					assert.NotContains(t, toks, v, "%s#%d", rec.File, rec.Index)
					found[v] = true
				}
			}
		}
		require.NoError(t, rd.Close())
	}
	assert.Len(t, found, len(mustGo), "the samples hold every value the test expects: %v", found)
}

// assertNothingLeft checks that no value the redactor learned is left as a
// token of the redacted document, and that no non-global address is left
// standing alone.
func assertNothingLeft(t testing.TB, r *Redactor, doc []byte) {
	t.Helper()
	strs := jsonStrings(t, doc)
	text := strings.Join(strs, "\n")
	// Placeholders become a word character, so what was glued to them
	// stays glued.
	phs := make([]string, 0, len(r.back))
	for ph := range r.back {
		phs = append(phs, ph)
	}
	sort.Slice(phs, func(i, j int) bool { return len(phs[i]) > len(phs[j]) })
	for _, ph := range phs {
		text = strings.ReplaceAll(text, ph, "_")
	}
	for _, tok := range tokens(text) {
		if e := r.single[tok]; e != nil {
			t.Fatalf("learned %s value %q survives in %s", e.kind, tok, doc)
		}
	}
	// Values with separators (Alice Smith, O'Brien): a match that starts
	// and ends a token.
	folded := foldCase(text)
	for _, list := range r.multi {
		for _, m := range list {
			for i := 0; ; {
				j := strings.Index(folded[i:], m.folded)
				if j < 0 {
					break
				}
				a, b := i+j, i+j+len(m.folded)
				k := a
				for k > 0 && (folded[k-1] == '.' || folded[k-1] == '-') {
					k--
				}
				starts := true
				if k > 0 {
					pr, _ := utf8.DecodeLastRuneInString(folded[:k])
					starts = !isWordRune(pr)
				}
				ends := endsToken(folded, b)
				if starts && ends {
					t.Fatalf("learned %s value %q survives in %s", m.e.kind, m.folded, doc)
				}
				i = a + 1
			}
		}
	}
	for _, f := range strings.FieldsFunc(text, func(r rune) bool {
		return r <= ' ' || strings.ContainsRune(",;\"'()[]{}<>=/\\|", r)
	}) {
		a, err := netip.ParseAddr(strings.TrimRight(f, "."))
		if err == nil && ioc.ClassifyAddr(a) != ioc.NotSkipped {
			t.Fatalf("non-global address %q survives in %s", f, doc)
		}
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("CORP\\svc_backup", "ws-fin-042.corp.example", "runas /user:CORP\\svc_backup on WS-FIN-042 from fe80::1%eth0 and 2001:DB8:0:0::1")
	f.Add("alice@corp.example", "DC01", "Invalid user paco from 172.17.1.1 port 22; mail alice@corp.example; http://intranet/x")
	f.Add("MALICIOUS", "VirusTotal", "risk verdict MALICIOUS; VirusTotal says ::ffff:10.0.0.1")
	f.Add("Alice Smith", "host.lan", "C:\\Users\\alice\\x \\\\fs01\\share Alice Smith; ⟦user-1:ghjkmnp⟧")
	f.Add("a", "", "10.0.0.1.10.0.0.2 fe80::1%%eth0 :: 0.0.0.0 010.000.000.001")
	f.Add("\u00e9l\u00e8ve", "\u0130stanbul-01", "\u00c9L\u00c8VE \u00e9l\u00e8ve’s \u0130STANBUL-01")
	f.Fuzz(func(t *testing.T, user, host, text string) {
		raw, err := json.Marshal(map[string]any{"user": user, "host": map[string]string{"name": host}, "message": text, "k" + text: 1})
		if err != nil {
			return
		}
		r := NewRedactor(Case{Raw: raw}, []string{"corp.example"})
		doc := r.RedactJSON(StableJSON(raw))
		if !json.Valid(doc) {
			t.Fatalf("not JSON: %s", doc)
		}
		assertRoundTrip(t, r, raw, doc)
		assertNothingLeft(t, r, doc)
		for _, s := range []string{user, host, text} {
			if got := r.Restore(r.Apply(s)); got != s {
				t.Fatalf("Restore(Apply(%q)) = %q", s, got)
			}
		}
	})
}

// FuzzRedactAlert redacts whole alerts, JSON or not, as the prompt shows
// them.
func FuzzRedactAlert(f *testing.F) {
	f.Add([]byte(`{"user":{"name":"j.doe","email":"j.doe@corp.example.com"},"host":{"name":"WS-FIN-042","ip":["10.20.40.42"]},"process":{"executable":"C:\\Users\\j.doe\\x.exe"}}`))
	f.Add([]byte(`{"full_log":"May 11 12:29:18 localhost sshd[17584]: Invalid user paco from 172.17.1.1 port 56404","data":{"srcuser":"paco"}}`))
	f.Add([]byte(`{"AccountDomain":"simulandlabs","AccountName":"wardog","AdditionalFields":"{\"dn\":\"DC=simulandlabs,DC=com\",\"u\":\"SIMULANDLABS\\\\wardog\"}"}`))
	f.Add([]byte(`not json: user=alice host=DC01 from fe80::1%eth0`))
	f.Add([]byte(`[{"user":"a b"},{"user":"MALICIOUS"},"risk verdict MALICIOUS"]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r := NewRedactor(Case{Raw: raw}, []string{"corp.example.com"})
		stable := StableJSON(raw)
		doc := r.RedactJSON(stable)
		if !json.Valid(stable) {
			if got := r.Restore(string(doc)); got != string(stable) {
				t.Fatalf("Restore(RedactJSON(%q)) = %q", stable, got)
			}
			return
		}
		if !json.Valid(doc) {
			t.Fatalf("not JSON: %s", doc)
		}
		assertRoundTrip(t, r, raw, doc)
		assertNothingLeft(t, r, doc)
	})
}

// BenchmarkRedactJSON redacts an alert with one long field, as NewRedactor
// and BuildPrompt do: sshd log lines (a keyword, a name and an address in
// every line) and a base64 blob (PowerShell -EncodedCommand). Time must grow
// linearly with size.
func BenchmarkRedactJSON(b *testing.B) {
	line := "May 11 12:29:16 ws-fin-042 sshd[17582]: Invalid user paco from 172.17.1.1 port 56402 to 185.220.101.45 via https://evil.com/x ; "
	blob := "SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkALgBEAG8AdwBuAGwAbwBhAGQA"
	for _, kind := range []struct{ name, unit string }{{"log", line}, {"base64", blob}} {
		for _, size := range []int{1 << 20, 10 << 20} {
			msg := strings.Repeat(kind.unit, size/len(kind.unit))
			raw, _ := json.Marshal(map[string]any{"user": "paco", "host": map[string]string{"name": "ws-fin-042"}, "message": msg})
			stable := StableJSON(raw)
			b.Run(fmt.Sprintf("%s/%dMB", kind.name, size>>20), func(b *testing.B) {
				b.SetBytes(int64(len(stable)))
				for b.Loop() {
					r := NewRedactor(Case{Raw: raw}, []string{"corp.example.com"})
					_ = r.RedactJSON(stable)
				}
			})
		}
	}
}
