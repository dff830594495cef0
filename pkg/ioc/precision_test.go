package ioc_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/ioc"
)

// A-label forms of the internationalised names below, as idna.Lookup (UTS
// #46) gives them; checked against Python's and ICU's IDNA as well.
const (
	buecherShop = "xn--bcher-shop-9db.de"            // bücher-shop.de
	paypalCyr   = "xn--pypal-secure-x9j.com"         // pаypal-secure.com, Cyrillic а
	exampleRF   = "xn--e1afmkfd.xn--p1ai"            // пример.рф
	exampleCN   = "xn--fsqu00a.xn--fiqs8s"           // 例子.中国
	appleCyr    = "xn--80ak6aa92e.com"               // аррӏе.com, all Cyrillic
	muenchen    = "xn--mnchen-3ya.de"                // münchen.de
	hashGUIDHex = "6f9619ff8b86d011b42d00c04fc964ff" // a GUID without hyphens
	csDeviceID  = "430277e91d0e4b79a254d543df474365" // CrowdStrike device id (aid)
	csCID       = "6c5013391ca490509937309c0521b3c6" // CrowdStrike customer id
)

// precisionCases are the extraction cases of issue 9 item 7, both sides of
// each rule. They are fuzz seeds too.
var precisionCases = []struct {
	name string
	in   string
	opts ioc.Options
	want []ioc.IOC
}{
	// Every public suffix is a TLD.
	{name: ".cc domain in free text", in: "beacon to evil.cc every 60s", want: []ioc.IOC{dom("evil.cc")}},
	{name: ".cc domain as written by a C++ build", in: "compiling main.cc", want: []ioc.IOC{dom("main.cc")}},
	{name: ".cc source in a path is a file", in: "g++ -c src/main.cc -o main.o", want: nil},
	{name: ".cc subdomain", in: "cdn.evil.cc", want: []ioc.IOC{dom("cdn.evil.cc")}},
	{name: ".app .io .xyz .top domains", in: "evil.app evil.io evil.xyz malware-c2.top", want: []ioc.IOC{dom("evil.app"), dom("evil.io"), dom("evil.xyz"), dom("malware-c2.top")}},
	{name: ".zip name in a DNS query field is a domain", in: "evil.zip", opts: ioc.FieldOptions([]string{"dns", "question", "name"}), want: []ioc.IOC{dom("evil.zip")}},
	{name: ".mov name in a hostname field is a domain", in: "update.mov", opts: ioc.FieldOptions([]string{"hostname"}), want: []ioc.IOC{dom("update.mov")}},
	{name: ".zip e-mail domain", in: "from billing@invoice.zip", want: []ioc.IOC{dom("invoice.zip")}},
	{name: ".zip UNC host", in: `\\files.zip\share\a.exe`, want: []ioc.IOC{dom("files.zip")}},
	{name: ".zip URL host", in: "https://github.zip/x", want: []ioc.IOC{link("https://github.zip/x"), dom("github.zip")}},
	{name: ".zip name with three labels is a host", in: "www.evil.zip", want: []ioc.IOC{dom("www.evil.zip")}},
	{name: "file names in free text", in: "svchost.exe report.zip deploy.sh invoice.pdf.exe run.py", want: nil},
	{name: "double extensions are files", in: "invoice.pdf.zip photo.jpg.mov setup.exe.zip", want: nil},
	{name: "numbered archive is a file", in: "backup.2024.zip", want: nil},
	{name: "file names in capitals", in: "REPORT.ZIP INSTALL.SH", want: nil},
	{name: "unlisted TLD is nothing", in: "host.local corp.lan evil.exe", want: nil},

	// Internationalised host names are taken whole.
	{name: "Unicode domain whole", in: "visit bücher-shop.de today", want: []ioc.IOC{dom(buecherShop)}},
	{name: "Cyrillic look-alike whole", in: "login at pаypal-secure.com now", want: []ioc.IOC{dom(paypalCyr)}},
	{name: "all-Cyrillic look-alike", in: "аррӏе.com", want: []ioc.IOC{dom(appleCyr)}},
	{name: "Unicode domain in capitals", in: "BÜCHER-SHOP.DE", want: []ioc.IOC{dom(buecherShop)}},
	{name: "Cyrillic TLD", in: "пример.рф", want: []ioc.IOC{dom(exampleRF)}},
	{name: "Han name and TLD", in: "例子.中国", want: []ioc.IOC{dom(exampleCN)}},
	{name: "A-label written as such", in: "XN--BCHER-SHOP-9DB.DE", want: []ioc.IOC{dom(buecherShop)}},
	{name: "invalid A-label is nothing", in: "xn--zz.com xn--.com", want: nil},
	{name: "full-width letters map to ASCII", in: "ｅｖｉｌ.com", want: []ioc.IOC{dom("evil.com")}},
	{name: "soft hyphen inside a name is ignored", in: "ev\u00adil.com", want: []ioc.IOC{dom("evil.com")}},
	{name: "zero-width joiner makes no name", in: "pay\u200dpal.com", want: nil},
	{name: "Unicode domain in typographic quotes", in: "«bücher-shop.de» and “pаypal-secure.com”", want: []ioc.IOC{dom(buecherShop), dom(paypalCyr)}},
	{name: "Unicode domain before a no-break space", in: "bücher-shop.de\u00a0is", want: []ioc.IOC{dom(buecherShop)}},
	{name: "Han text runs into a domain", in: "访问evil.com。然后", want: []ioc.IOC{dom("evil.com")}},
	{name: "Japanese text around a domain", in: "サイトevil.comにアクセス", want: []ioc.IOC{dom("evil.com")}},
	{name: "Korean particle after a domain", in: "evil.com에서 다운로드", want: []ioc.IOC{dom("evil.com")}},
	{name: "emoji is not a letter", in: "🍕.com", want: nil},
	{name: "Unicode e-mail domain", in: "from support@bücher-shop.de", want: []ioc.IOC{dom(buecherShop)}},
	{name: "Unicode local part", in: "max.müller@evil.com", want: []ioc.IOC{dom("evil.com")}},
	{name: "dotted local part before a Unicode domain", in: "first.name@münchen.de", want: []ioc.IOC{dom(muenchen)}},
	{name: "Unicode e-mail in a user field yields nothing", in: "max@bücher-shop.de", opts: ioc.FieldOptions([]string{"UserPrincipalName"}), want: nil},
	{name: "defanged Unicode domain", in: "bücher-shop[.]de pаypal-secure(.)com", want: []ioc.IOC{dom(buecherShop), dom(paypalCyr)}},
	{name: "escaped dot in a Unicode name", in: `münchen\.de пример\.рф`, want: []ioc.IOC{dom(muenchen), dom(exampleRF)}},
	{name: "Unicode path component is a file", in: `C:\Users\José\bücher.de`, want: nil},

	// URLs with Unicode hosts and paths.
	{name: "URL with a Unicode host", in: "https://pаypal-secure.com/login", want: []ioc.IOC{link("https://" + paypalCyr + "/login"), dom(paypalCyr)}},
	{name: "defanged URL with a Unicode host", in: "hxxps://bücher-shop[.]de/angebot", want: []ioc.IOC{link("https://" + buecherShop + "/angebot"), dom(buecherShop)}},
	{name: "URL with Unicode host, path, query and fragment", in: "http://BÜCHER-shop.de:8080/bücher/liste?q=größe#teil", want: []ioc.IOC{link("http://" + buecherShop + ":8080/bücher/liste?q=größe#teil"), dom(buecherShop)}},
	{name: "URL with a Han path", in: "下载 http://evil.com/下载/文件.exe 然后运行", want: []ioc.IOC{link("http://evil.com/下载/文件.exe"), dom("evil.com")}},
	{name: "URL path runs into Han text", in: "访问http://evil.com/a然后", want: []ioc.IOC{link("http://evil.com/a"), dom("evil.com")}},
	{name: "URL host runs into Han text", in: "访问http://evil.com然后", want: []ioc.IOC{link("http://evil.com"), dom("evil.com")}},
	{name: "URL ends at an ideographic full stop", in: "见http://evil.com/пример。", want: []ioc.IOC{link("http://evil.com/пример"), dom("evil.com")}},
	{name: "URL ends at a no-break space", in: "http://evil.com/x\u00a0y", want: []ioc.IOC{link("http://evil.com/x"), dom("evil.com")}},
	{name: "URL with a Unicode path ends at sentence punctuation", in: "see http://evil.com/пример.", want: []ioc.IOC{link("http://evil.com/пример"), dom("evil.com")}},
	{name: "URL with an IDN TLD", in: "http://例子.中国/", want: []ioc.IOC{link("http://" + exampleCN + "/"), dom(exampleCN)}},

	// Identifiers are not IOCs.
	{name: "GUIDs in every form", in: "6f9619ff-8b86-d011-b42d-00c04fc964ff {6F9619FF-8B86-D011-B42D-00C04FC964FF} {" + strings.ToUpper(hashGUIDHex) + "}", want: nil},
	{name: "a bare 32-hex run is an MD5", in: "dropped " + hashGUIDHex, want: []ioc.IOC{md5(hashGUIDHex)}},
	{name: "GUID host name is a domain", in: "6f9619ff-8b86-d011-b42d-00c04fc964ff.cloudapp.net", want: []ioc.IOC{dom("6f9619ff-8b86-d011-b42d-00c04fc964ff.cloudapp.net")}},
	{name: "CrowdStrike composite id", in: csCID + ":ind:" + csDeviceID + ":10256761721621-41004-56404240", want: nil},
	{name: "CrowdStrike process graph id", in: "pid:" + csDeviceID + ":10256761721621", want: nil},
	{name: "CrowdStrike console link", in: "https://falcon.crowdstrike.com/activity-v2/detections/" + csCID + ":ind:" + csDeviceID + ":1-2-3?_cid=x", want: []ioc.IOC{link("https://falcon.crowdstrike.com/activity-v2/detections/" + csCID + ":ind:" + csDeviceID + ":1-2-3?_cid=x"), dom("falcon.crowdstrike.com")}},
	{name: "hash after a key and colon is a hash", in: "md5:" + hashMD5 + " SHA1: " + hashSHA1, want: []ioc.IOC{md5(hashMD5), sha1(hashSHA1)}},
	{name: "hash at the end of a colon chain is a hash", in: "sha256:" + hashSHA256, want: []ioc.IOC{sha256(hashSHA256)}},
	{name: "device id in an id field", in: csDeviceID, opts: ioc.FieldOptions([]string{"Device", "device_id"}), want: nil},
	{name: "host group ids", in: "bb29ca195b294e31bb7a775259d2c71e", opts: ioc.FieldOptions([]string{"Device", "groups"}), want: nil},
	{name: "tenant id GUID", in: "3187578c-499a-423e-9c9d-af9a55e1b4db", opts: ioc.FieldOptions([]string{"TenantId"}), want: nil},
	{name: "session id in free text is indistinguishable from an MD5", in: "session " + hashGUIDHex, want: []ioc.IOC{md5(hashGUIDHex)}},
	{name: "JA3 fingerprint", in: "ja3=" + hashGUIDHex + " JA3S=" + csDeviceID, want: nil},
	{name: "JA3 field", in: hashGUIDHex, opts: ioc.FieldOptions([]string{"tls", "client", "ja3"}), want: nil},
	{name: "certificate CN that is a hex id", in: "emailAddress=support@paloaltonetworks.com,CN=0ed5ec94a00f5c03cd779af8bafd670a73f40ab1597ac69ffa6a6b7af7e4e099,O=Palo Alto Networks", want: []ioc.IOC{dom("paloaltonetworks.com")}},
	{name: "certificate CN that is a host", in: "CN=evil.com,O=Evil", want: []ioc.IOC{dom("evil.com")}},
	{name: "null hashes", in: "Sha1 " + strings.Repeat("0", 40) + " DeviceId " + strings.Repeat("0", 32), want: nil},

	// OAuth scopes and .NET names.
	{name: "Graph permission scopes", in: "granted User.Read Mail.Send User.ReadWrite.All Files.Read.All", want: nil},
	{name: "OIDC scope list", in: "openid profile offline_access User.Read", want: nil},
	{name: "OIDC scope list in lower case", in: "openid profile offline_access user.read mail.readwrite", want: nil},
	{name: "scope list with a URL-form scope", in: "openid https://graph.microsoft.com/User.Read offline_access", want: []ioc.IOC{link("https://graph.microsoft.com/User.Read"), dom("graph.microsoft.com")}},
	{name: "prose that mentions openid keeps its domains", in: "signed in with openid to evil.com", want: []ioc.IOC{dom("evil.com")}},
	{name: "lower-case scope in prose reads as a domain", in: "consent to user.read", want: []ioc.IOC{dom("user.read")}},
	{name: "lower-case scope in a permissions field", in: "user.read mail.readwrite", opts: ioc.FieldOptions([]string{"Permissions"}), want: nil},
	{name: "scp claim", in: "User.Read Mail.Send", opts: ioc.FieldOptions([]string{"token", "scp"}), want: nil},
	{name: ".NET namespaces", in: "Add-Type System.IO; using System.Net; System.Net.Http Microsoft.Graph Microsoft.Azure Windows.Security", want: nil},
	{name: "PowerShell type accelerator", in: "[System.IO.File]::ReadAllBytes($p); [System.Net.Dns]::GetHostAddresses('evil.com')", want: []ioc.IOC{dom("evil.com")}},
	{name: "code name with a generic top label", in: "Contoso.Security Fabrikam.Data", want: nil},

	// Host names in capitals are still host names.
	{name: "domain in capitals", in: "BEACON TO EVIL.COM", want: []ioc.IOC{dom("evil.com")}},
	{name: "capitalised host name", in: "Evil-Site.com", want: []ioc.IOC{dom("evil-site.com")}},
	{name: "camel-case brand", in: "PayPal.com LogIn.MicrosoftOnline.com", want: []ioc.IOC{dom("paypal.com"), dom("login.microsoftonline.com")}},
	{name: "title-case host in prose", in: "Visit Www.Evil.Com or Evil.Net or Evil.De", want: []ioc.IOC{dom("www.evil.com"), dom("evil.net"), dom("evil.de")}},
	{name: "capital country code", in: "EVIL.IO Evil.IO", want: []ioc.IOC{dom("evil.io")}},
	{name: "capitalised names in URLs are hosts", in: "http://User.Read/x http://System.IO/", want: []ioc.IOC{link("http://user.read/x"), dom("user.read"), link("http://system.io/"), dom("system.io")}},
	{name: "capitalised names in a host field are hosts", in: "User.Read", opts: ioc.Options{Hosts: true}, want: []ioc.IOC{dom("user.read")}},
	{name: "capitalised e-mail domain", in: "bob@User.Read", want: []ioc.IOC{dom("user.read")}},

	// Reserved names are extracted, to be skipped by the Policy.
	{name: "reserved TLDs", in: "c2.test evil.example bad.invalid app.localhost", want: []ioc.IOC{dom("c2.test"), dom("evil.example"), dom("bad.invalid"), dom("app.localhost")}},
	{name: "URL with a reserved host", in: "http://c2.test/x", want: []ioc.IOC{link("http://c2.test/x"), dom("c2.test")}},
	{name: "single-label localhost is no IOC", in: "localhost http://localhost/", want: nil},
}

func TestExtractPrecision(t *testing.T) {
	t.Parallel()
	for _, tt := range precisionCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ioc.Extract(tt.in, tt.opts)
			assert.Equal(t, tt.want, got)
			for _, i := range got {
				n, err := ioc.Normalize(i)
				require.NoError(t, err)
				assert.Equal(t, i, n, "not in Normalize form")
			}
		})
	}
}

func TestScanSpansUnicode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string // type:text at the span
	}{
		{name: "look-alike span is the written name", in: "go to pаypal-secure.com.", want: []string{"domain:pаypal-secure.com"}},
		{name: "URL and its Unicode host", in: "x https://bücher-shop.de/ü y", want: []string{"url:https://bücher-shop.de/ü", "domain:bücher-shop.de"}},
		{name: "domain after Han text", in: "访问evil.com。", want: []string{"domain:evil.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			ioc.Scan(tt.in, ioc.Options{}, func(m ioc.Match) {
				got = append(got, string(m.Type)+":"+tt.in[m.Start:m.End])
			})
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestNormalizeUnicode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      ioc.IOC
		want    ioc.IOC
		wantErr string
	}{
		{name: "happy path: Unicode name to A-label", in: dom("bücher-shop.de"), want: dom(buecherShop)},
		{name: "happy path: look-alike to A-label", in: dom("pаypal-secure.com"), want: dom(paypalCyr)},
		{name: "happy path: upper-case Unicode", in: dom("BÜCHER-SHOP.DE."), want: dom(buecherShop)},
		{name: "happy path: upper-case A-label", in: dom("XN--BCHER-SHOP-9DB.DE"), want: dom(buecherShop)},
		{name: "happy path: ideographic full stops", in: dom("例子。中国"), want: dom(exampleCN)},
		{name: "happy path: reserved TLD", in: dom("C2.Test"), want: dom("c2.test")},
		{name: "happy path: URL with a Unicode host", in: link("HTTPS://Bücher-Shop.de./Pfad/ü?Q=Ä"), want: link("https://" + buecherShop + "./Pfad/ü?Q=Ä")},
		{name: "happy path: URL with an A-label host", in: link("http://XN--BCHER-SHOP-9DB.de/x"), want: link("http://" + buecherShop + "/x")},
		{name: "sad path: invalid A-label", in: dom("xn--zz.com"), wantErr: "not a domain"},
		{name: "sad path: empty A-label", in: dom("xn--.com"), wantErr: "not a domain"},
		{name: "sad path: joiner outside its context", in: dom("pay\u200dpal.com"), wantErr: "not a domain"},
		// x/net/idna encodes invalid UTF-8 as U+FFFD without an error.
		{name: "sad path: invalid UTF-8", in: dom("\x82.AC"), wantErr: "not a domain"},
		{name: "sad path: URL host with invalid UTF-8", in: link("http://a\xffb.com/"), wantErr: "not a URL"},
		{name: "sad path: URL with an invalid A-label host", in: link("http://xn--zz.com/"), wantErr: "not a URL"},
		{name: "sad path: unlisted TLD in Unicode", in: dom("bücher.lokal"), wantErr: "not under a public suffix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ioc.Normalize(tt.in)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ioc.ErrInvalid)
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			again, err := ioc.Normalize(got)
			require.NoError(t, err)
			assert.Equal(t, got, again, "Normalize is not idempotent")
			if got.Type == ioc.URL {
				h, err := ioc.URLHost(got.Value)
				require.NoError(t, err)
				assert.Equal(t, dom(buecherShop), h, "the URL's host is the domain IOC")
			}
		})
	}
}

func TestRefangAndDefangUnicode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		in         string
		wantRefang string
		wantDefang string
	}{
		{name: "bracketed dot in a Unicode name", in: "bücher-shop[.]de", wantRefang: "bücher-shop.de", wantDefang: "bücher-shop[.]de"},
		{name: "defanged URL with Unicode host and path", in: "hxxps://pаypal-secure[.]com/вход", wantRefang: "https://pаypal-secure.com/вход", wantDefang: "hxxps://pаypal-secure[.]com/вход"},
		{name: "escaped dot between Cyrillic labels", in: `пример\.рф`, wantRefang: "пример.рф", wantDefang: "пример[.]рф"},
		{name: "Unicode path component keeps its backslash", in: `C:\Users\José\.ssh`, wantRefang: `C:\Users\José\.ssh`, wantDefang: `C:\Users\José\.ssh`},
		{name: "plain Unicode domain is defanged", in: "visit bücher-shop.de", wantRefang: "visit bücher-shop.de", wantDefang: "visit bücher-shop[.]de"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.wantRefang, ioc.Refang(tt.in))
			d := ioc.DefangText(tt.in)
			assert.Equal(t, tt.wantDefang, d)
			assert.Equal(t, ioc.Extract(tt.in, ioc.Options{}), ioc.Extract(d, ioc.Options{}), "defanging changed the IOCs")
		})
	}
}
