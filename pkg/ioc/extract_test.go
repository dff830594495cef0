package ioc_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/ioc"
)

func v4(v string) ioc.IOC     { return ioc.IOC{Type: ioc.IPv4, Value: v} }
func v6(v string) ioc.IOC     { return ioc.IOC{Type: ioc.IPv6, Value: v} }
func dom(v string) ioc.IOC    { return ioc.IOC{Type: ioc.Domain, Value: v} }
func link(v string) ioc.IOC   { return ioc.IOC{Type: ioc.URL, Value: v} }
func md5(v string) ioc.IOC    { return ioc.IOC{Type: ioc.MD5, Value: v} }
func sha1(v string) ioc.IOC   { return ioc.IOC{Type: ioc.SHA1, Value: v} }
func sha256(v string) ioc.IOC { return ioc.IOC{Type: ioc.SHA256, Value: v} }

const (
	hashMD5    = "d41d8cd98f00b204e9800998ecf8427e"
	hashSHA1   = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
	hashSHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// extractCases are hard cases, many from bug reports against other IOC
// extractors (cited next to the case). They double as fuzz seeds.
var extractCases = []struct {
	name string
	in   string
	opts ioc.Options
	want []ioc.IOC
}{
	// Trailing punctuation.
	{name: "trailing dot after domain", in: "beacon to evil.com.", want: []ioc.IOC{dom("evil.com")}},
	{name: "parenthesised IP", in: "source (1.2.3.4) blocked", want: []ioc.IOC{v4("1.2.3.4")}},
	{name: "quoted domain before comma", in: `"evil.com",`, want: []ioc.IOC{dom("evil.com")}},
	{name: "URL in angle brackets", in: "<http://x.com/a>", want: []ioc.IOC{link("http://x.com/a"), dom("x.com")}},
	{name: "domain followed by ellipsis and dash", in: "evil.com... -evil.net-", want: []ioc.IOC{dom("evil.com"), dom("evil.net")}},
	// fhightower/ioc-finder#130
	{name: "URL followed by unbalanced paren and comma", in: "Foo https://citizenlab.ca/about/), bar", want: []ioc.IOC{link("https://citizenlab.ca/about/"), dom("citizenlab.ca")}},
	// fhightower/ioc-finder#130
	{name: "URL in a PowerShell string argument", in: "DownloadString('https://example[.]com/rdp.ps1');g $I", want: []ioc.IOC{link("https://example.com/rdp.ps1"), dom("example.com")}},
	// InQuest/iocextract#53
	{name: "URL followed by a command-line switch", in: "command.exe https://pypi.org/project/iocextract/ /f", want: []ioc.IOC{link("https://pypi.org/project/iocextract/"), dom("pypi.org")}},
	// lipoja/URLExtract#38
	{name: "URL in LaTeX braces", in: `{\url{http://www.google.com/file.pdf}}`, want: []ioc.IOC{link("http://www.google.com/file.pdf"), dom("www.google.com")}},
	// InQuest/iocextract#6
	{name: "URL followed by a typographic quote", in: "hxxp://calendarortodox[.]ro/serstalkerskysbox.png\u201d", want: []ioc.IOC{link("http://calendarortodox.ro/serstalkerskysbox.png"), dom("calendarortodox.ro")}},
	{name: "URL keeps balanced parentheses", in: "see https://en.wikipedia.org/wiki/Foo_(bar).", want: []ioc.IOC{link("https://en.wikipedia.org/wiki/Foo_(bar)"), dom("en.wikipedia.org")}},
	{name: "URL ends at sentence punctuation", in: "got http://x.com/a.php?id=1!", want: []ioc.IOC{link("http://x.com/a.php?id=1"), dom("x.com")}},

	// Refanging.
	// InQuest/iocextract#49
	{name: "hxxps refangs to https", in: "hxxps://example.com", want: []ioc.IOC{link("https://example.com"), dom("example.com")}},
	// InQuest/iocextract#29
	{name: "defanged URL with IP host keeps the whole IP", in: "hXXps://192.168.149[.]100/api/info", want: []ioc.IOC{link("https://192.168.149.100/api/info"), v4("192.168.149.100")}},
	// InQuest/iocextract#29
	{name: "defanged URL keeps the subdomain", in: "hXXps://subdomain.example[.]com/some/path", want: []ioc.IOC{link("https://subdomain.example.com/some/path"), dom("subdomain.example.com")}},
	// InQuest/iocextract#42, ninoseki/ioc-extractor#16
	{name: "bracketed colon in scheme", in: "http[:]//example1.com https[:]//example3.com", want: []ioc.IOC{link("http://example1.com"), dom("example1.com"), link("https://example3.com"), dom("example3.com")}},
	// ninoseki/ioc-extractor#271 (Cisco Talos style)
	{name: "bracketed scheme separator", in: "hxxp[://]olmajhnservice[.]com/updateReqServ10893x[.]php?x=035347", want: []ioc.IOC{link("http://olmajhnservice.com/updateReqServ10893x.php?x=035347"), dom("olmajhnservice.com")}},
	{name: "parenthesised and braced dots", in: "evil(.)com and evil{.}net and evil[dot]org and evil(DOT)io", want: []ioc.IOC{dom("evil.com"), dom("evil.net"), dom("evil.org"), dom("evil.io")}},
	{name: "backslash-escaped dots", in: `evil\.com`, want: []ioc.IOC{dom("evil.com")}},
	{name: "bracketed IPv6 colons", in: "2001[:]db8[:][:]1", want: []ioc.IOC{v6("2001:db8::1")}},
	// InQuest/iocextract#77
	{name: "defanged IP is not a URL", in: "101.28[.]225[.]248", want: []ioc.IOC{v4("101.28.225.248")}},
	// InQuest/iocextract#36
	{name: "defanged first.last e-mail", in: "firstname[.]lastname[@]domainname[.]org", want: []ioc.IOC{dom("domainname.org")}},
	// microsoft/msticpy#681
	{name: "bare AT is not a defanged at-sign", in: "news.ycombinATor.com", want: []ioc.IOC{dom("news.ycombinator.com")}},
	{name: "spaced at and dot", in: "mail user [at] example [dot] com", want: []ioc.IOC{dom("example.com")}},
	{name: "fxp refangs to ftp", in: "fxp://files.evil.com/a.bin", want: []ioc.IOC{link("ftp://files.evil.com/a.bin"), dom("files.evil.com")}},

	// IPs with ports.
	// InQuest/iocextract#34
	{name: "IPv4 with port is the IP, not a URL", in: "1.1.1.1:449", want: []ioc.IOC{v4("1.1.1.1")}},
	{name: "bracketed IPv6 with port", in: "[2001:db8::1]:443", want: []ioc.IOC{v6("2001:db8::1")}},
	{name: "domain with port", in: "connect evil.com:8080", want: []ioc.IOC{dom("evil.com")}},
	{name: "IP range", in: "10.0.0.1-10.0.0.255", want: []ioc.IOC{v4("10.0.0.1"), v4("10.0.0.255")}},
	// Log4Shell: an unknown scheme still yields its host.
	{name: "JNDI LDAP lookup", in: "${jndi:ldap://45.83.193.150:1389/Exploit}", want: []ioc.IOC{v4("45.83.193.150")}},

	// URLs.
	{name: "URL with IP host, port, query and fragment", in: "http://1.2.3.4:8080/a?b=c#d", want: []ioc.IOC{link("http://1.2.3.4:8080/a?b=c#d"), v4("1.2.3.4")}},
	{name: "URL with IPv6 host and port", in: "http://[2001:db8::1]:8080/x", want: []ioc.IOC{link("http://[2001:db8::1]:8080/x"), v6("2001:db8::1")}},
	{name: "URL scheme and host lower-cased, path kept", in: "HTTPS://Evil.COM:8443/X/Y.php?ID=1", want: []ioc.IOC{link("https://evil.com:8443/X/Y.php?ID=1"), dom("evil.com")}},
	{name: "URL with userinfo", in: "http://user:pass@evil.com/", want: []ioc.IOC{link("http://user:pass@evil.com/"), dom("evil.com")}},
	{name: "URL path and query yield no domains or IPs", in: "http://evil.com/dl/1.2.3.4/other.com/x.zip?h=good.com", want: []ioc.IOC{link("http://evil.com/dl/1.2.3.4/other.com/x.zip?h=good.com"), dom("evil.com")}},
	{name: "hash inside URL path", in: "http://evil.com/f/" + hashMD5 + ".exe", want: []ioc.IOC{link("http://evil.com/f/" + hashMD5 + ".exe"), dom("evil.com"), md5(hashMD5)}},
	{name: "comma-separated URLs", in: "http://a.com/x,http://b.com/y", want: []ioc.IOC{link("http://a.com/x"), dom("a.com"), link("http://b.com/y"), dom("b.com")}},
	{name: "URL authority ends at a comma", in: "http://evil.com,1.2.3.4", want: []ioc.IOC{link("http://evil.com"), dom("evil.com"), v4("1.2.3.4")}},
	{name: "single-label host is no IOC", in: "http://intranet/x http://localhost:8080/", want: nil},
	{name: "URL stops before an invalid escape", in: "http://evil.com/%s/x", want: []ioc.IOC{link("http://evil.com/"), dom("evil.com")}},
	{name: "URL keeps a non-ASCII path", in: "http://evil.com/пример", want: []ioc.IOC{link("http://evil.com/пример"), dom("evil.com")}},
	// InQuest/iocextract#40: '<' ends a URL.
	{name: "URL embedded after angle bracket", in: "https://www.mysite.com/endpoint?param=abc--~C<http://anothersite.com/myfile.zip>", want: []ioc.IOC{link("https://www.mysite.com/endpoint?param=abc--~C"), dom("www.mysite.com"), link("http://anothersite.com/myfile.zip"), dom("anothersite.com")}},
	{name: "doubled scheme", in: "http://http://evil.com/x", want: []ioc.IOC{link("http://evil.com/x"), dom("evil.com")}},
	{name: "wss and sftp schemes", in: "wss://c2.evil.com/ws sftp://drop.evil.net:2222/in", want: []ioc.IOC{link("wss://c2.evil.com/ws"), dom("c2.evil.com"), link("sftp://drop.evil.net:2222/in"), dom("drop.evil.net")}},

	// E-mail addresses.
	{name: "e-mail yields its domain", in: "from alice@evil.com", want: []ioc.IOC{dom("evil.com")}},
	{name: "e-mail local part is not a domain", in: "first.name@x.com", want: []ioc.IOC{dom("x.com")}},
	{name: "e-mail with plus tag", in: "first.name+tag@corp.com", want: []ioc.IOC{dom("corp.com")}},
	{name: "UPN in a user field yields nothing", in: "alice.smith@contoso.com", opts: ioc.Options{NoEmailDomains: true}, want: nil},
	{name: "git remote", in: "git@github.com:org/repo.git", want: []ioc.IOC{dom("github.com")}},
	{name: "WebDAV UNC host is not a local part", in: `\\evil.com@SSL\DavWWWRoot\x.exe`, want: []ioc.IOC{dom("evil.com")}},
	{name: "URL-encoded at-sign", in: "user%40corp.com", want: []ioc.IOC{dom("corp.com")}},

	// Clock times, MAC addresses, code.
	// InQuest/iocextract#79 and #80
	{name: "clock time is not IPv6", in: "Today is 2024-07-18 and it is currently 23:06:41 UTC", want: nil},
	// fhightower/ioc-finder#37
	{name: "clock time with zone offset", in: "11:04:10 -0500", want: nil},
	// InQuest/iocextract#11
	{name: "short colon triple", in: "1:6:0 and 12:30", want: nil},
	{name: "Apache and ISO timestamps", in: "[01/Jan/2024:12:30:45 +0000] 2024-01-15T10:20:30.123Z 10:20:30.123", want: nil},
	{name: "MAC addresses", in: "af:e7:0f:73:50:e0 AF-E7-0F-73-50-E0 aabb.ccdd.eeff", want: nil},
	{name: "EUI-64 / WWN", in: "50:06:01:60:3b:e0:1a:2c", want: nil},
	// demisto/content#38269
	{name: "SSH MD5 fingerprint", in: "MD5:43:51:43:a1:b5:fc:8b:b7:0a:3a:a9:b1:0f:66:73:a8", want: nil},
	{name: "C++ and Perl scopes", in: "std::vector<int> Data::Dumper Foo::Bar", want: nil},
	{name: "double colon alone", in: "key :: value", want: nil},

	// File names and paths.
	// fhightower/ioc-finder#210
	{name: "file names whose extension is a TLD", in: "report.zip deploy.sh install.py notes.md libc.so Main.java invoice.one", want: nil},
	{name: "executables", in: "svchost.exe powershell.exe cmd.exe", want: nil},
	{name: "three labels on a file TLD is a host", in: "www.evil.zip", want: []ioc.IOC{dom("www.evil.zip")}},
	{name: "Windows path component", in: `C:\Users\x\evil.com`, want: nil},
	{name: "JSON-escaped Windows path", in: `C:\\Users\\x\\evil.com`, want: nil},
	{name: "Unix path components", in: "/tmp/a.sh /var/www/evil.com/index.php ./run.py", want: nil},
	{name: "UNC host", in: `\\fileserver.corp.com\share`, want: []ioc.IOC{dom("fileserver.corp.com")}},
	{name: "scheme-relative host", in: "//host.com/x", want: []ioc.IOC{dom("host.com")}},
	{name: "Sentinel user profile path", in: `C:\Users\contoso.user\AppData\Roaming\Zoom\ZoomDownload\Installer.exe`, want: nil},
	{name: "percent-encoded path", in: "path=%2Fvar%2Fwww%2Fevil.com", want: nil},
	{name: "percent-encoded URL yields its host", in: "u=http%3A%2F%2Fevil.org%2Fx", want: []ioc.IOC{dom("evil.org")}},

	// Hashes.
	{name: "hashes of each length, upper case", in: "MD5 " + strings.ToUpper(hashMD5) + " SHA1=" + hashSHA1 + " sha256:" + hashSHA256, want: []ioc.IOC{md5(hashMD5), sha1(hashSHA1), sha256(hashSHA256)}},
	{name: "64-hex run is sha256 only", in: hashSHA256, want: []ioc.IOC{sha256(hashSHA256)}},
	{name: "hex runs of other lengths are nothing", in: hashMD5 + "a " + hashSHA256 + "0 " + hashSHA1 + hashMD5, want: nil},
	{name: "null hashes", in: strings.Repeat("0", 32) + " " + strings.Repeat("0", 40) + " " + strings.Repeat("0", 64), want: nil},
	{name: "decimal and letter-only runs", in: strings.Repeat("1234567890", 4)[:32] + " " + strings.Repeat("abcdef", 6)[:32], want: nil},
	{name: "0x-prefixed hex", in: "0x" + hashMD5, want: nil},
	{name: "Sysmon hashes skip IMPHASH", in: "MD5=" + hashMD5 + ",SHA256=" + hashSHA256 + ",IMPHASH=f34d5f2d4577ed6d9ceec516c1f5a744", want: []ioc.IOC{md5(hashMD5), sha256(hashSHA256)}},
	// The APT index a Debian or Ubuntu host fetches by its hash is no sample
	// (SOURCES.md calls it the Suricata export's false-positive hash).
	{name: "Suricata APT by-hash path", in: "/ubuntu/dists/bionic/by-hash/SHA256/" + hashSHA256, want: nil},
	{name: "APT by-hash URL", in: "http://security.ubuntu.com/ubuntu/dists/bionic-security/main/by-hash/MD5Sum/" + hashGUIDHex, want: []ioc.IOC{link("http://security.ubuntu.com/ubuntu/dists/bionic-security/main/by-hash/MD5Sum/" + hashGUIDHex), dom("security.ubuntu.com")}},
	{name: "hash in another path segment", in: "/samples/sha256/" + hashSHA256 + " /by-hash/" + hashSHA256[:63] + "f", want: []ioc.IOC{sha256(hashSHA256), sha256(hashSHA256[:63] + "f")}},
	{name: "hash as file name", in: `C:\tmp\` + hashMD5 + ".exe", want: []ioc.IOC{md5(hashMD5)}},

	// IPv4.
	{name: "private and loopback addresses are extracted", in: "10.0.0.1 192.168.1.42 127.0.0.1", want: []ioc.IOC{v4("10.0.0.1"), v4("192.168.1.42"), v4("127.0.0.1")}},
	{name: "octet out of range", in: "999.1.1.1", want: nil},
	{name: "leading zero", in: "01.2.3.4", want: nil},
	{name: "version string", in: "1.2.3.4.5 v1.2.3.4", want: nil},
	// InQuest/iocextract#31 asks for these; we decline (ip.port vs version).
	{name: "netstat ip.port", in: "10.1.1.117.4222", want: nil},
	// stephenbrannon/IOCextractor#11
	{name: "four-part version number", in: "5.24.12.1335", want: nil},
	// ietf-tools/idnits#197
	{name: "OID", in: "1.2.840.113549 1.2.840.113549.1.1.1", want: nil},
	{name: "IP with underscore prefix", in: "src_185.220.101.45", want: []ioc.IOC{v4("185.220.101.45")}},

	// IPv6.
	{name: "IPv6 forms", in: "2001:db8::1 2001:0DB8:0000:0000:0000:0000:0000:0002 ::1 fe80::1%eth0", want: []ioc.IOC{v6("2001:db8::1"), v6("2001:db8::2"), v6("::1"), v6("fe80::1")}},
	{name: "IPv4-mapped IPv6 is IPv4", in: "::ffff:192.0.2.1", want: []ioc.IOC{v4("192.0.2.1")}},
	{name: "IPv6 after a key and colon", in: "client:2001:db8::7 end", want: []ioc.IOC{v6("2001:db8::7")}},

	// Domains.
	{name: "DNS service labels", in: "_dmarc.evil.com _ldap._tcp.dc._msdcs.corp.com", want: []ioc.IOC{dom("evil.com"), dom("corp.com")}},
	{name: "reverse DNS and local names", in: "4.3.2.1.in-addr.arpa localhost.localdomain host.local", want: nil},
	{name: "duplicates kept once in order", in: "evil.com 1.2.3.4 EVIL.com 1.2.3.4", want: []ioc.IOC{dom("evil.com"), v4("1.2.3.4")}},

	// Zeek x509 subject: only the e-mail domain is an indicator.
	{name: "Zeek X.509 subject", in: `unstructuredName=1315656901\,564d7761726520496e632e,CN=localhost.localdomain,emailAddress=ssl-certificates@vmware.com,OU=VMware ESX Server Default Certificate,O=VMware\, Inc,L=Palo Alto,ST=California,C=US`, want: []ioc.IOC{dom("vmware.com")}},

	// Field options.
	{name: "NoDomains keeps IPs, URLs and hashes", in: `evil.com 1.2.3.4 http://c2.evil.net/x ` + hashMD5, opts: ioc.Options{NoDomains: true}, want: []ioc.IOC{v4("1.2.3.4"), link("http://c2.evil.net/x"), dom("c2.evil.net"), md5(hashMD5)}},
	{name: "NoEmailDomains keeps plain domains", in: "CORP\\alice on evil.com", opts: ioc.Options{NoEmailDomains: true}, want: []ioc.IOC{dom("evil.com")}},

	// Hostile and non-ASCII input.
	{name: "ideographic full stop ends a domain", in: "访问evil.com。然后", want: []ioc.IOC{dom("evil.com")}},
	{name: "invalid UTF-8 around a domain", in: "\xffevil.com\xfe", want: []ioc.IOC{dom("evil.com")}},
	// InQuest/iocextract#8
	{name: "certificate garbage", in: "https://secure.comodo.net/CPS0CU<0:08\xa06\xa04\xa02http://crl.comodoca.com/COMODORSACodeSigningCA.crl0t+h0f0>+0\xa02http://ocsp.comodoca.com0", want: []ioc.IOC{link("https://secure.comodo.net/CPS0CU"), dom("secure.comodo.net"), link("http://crl.comodoca.com/COMODORSACodeSigningCA.crl0t+h0f0"), dom("crl.comodoca.com")}},
	{name: "empty", in: "", want: nil},
}

func TestExtract(t *testing.T) {
	t.Parallel()
	for _, tt := range extractCases {
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

func TestScanSpans(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string // type:text at the span
	}{
		{name: "URL then host then path hash", in: "x http://Evil.com:80/" + hashMD5 + " y", want: []string{"url:http://Evil.com:80/" + hashMD5, "domain:Evil.com", "md5:" + hashMD5}},
		{name: "bracketed IPv6 host span excludes brackets", in: "http://[::1]/", want: []string{"url:http://[::1]/", "ipv6:::1"}},
		{name: "mapped address span is the written text", in: "::ffff:1.2.3.4", want: []string{"ipv4:::ffff:1.2.3.4"}},
		{name: "trailing dot outside the span", in: "a.evil.com.", want: []string{"domain:a.evil.com"}},
		{name: "service label outside the span", in: "_sip._tls.evil.com", want: []string{"domain:evil.com"}},
		{name: "e-mail domain span", in: "bob@evil.com", want: []string{"domain:evil.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			last := 0
			ioc.Scan(tt.in, ioc.Options{}, func(m ioc.Match) {
				require.GreaterOrEqual(t, m.Start, last, "spans out of order")
				last = m.Start
				got = append(got, string(m.Type)+":"+tt.in[m.Start:m.End])
			})
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestExtractHostileInputIsLinear(t *testing.T) {
	t.Parallel()
	// Each of these would be quadratic with a naive retry-from-every-offset
	// scanner; 256 KiB of each must take well under a second.
	units := []string{
		"http://", "http://x", "http://a.com/%zz", "a.b+", "a@", "1.1.", "1:",
		"[[.", "hxxp", "\\\\", "%2F", "a.com/", "http://a.com/,",
		// Unicode: long names, authorities and paths, and scripts that
		// switch at every character.
		"ü.", "例.", "a.ü+", "a\u00ad", "http://ü", "http://例.中国/ü", "a例", "\u0301.",
	}
	// One label of thousands of distinct letters: punycode is quadratic in
	// them, so such a name must be turned down before it is encoded.
	var distinct strings.Builder
	for r := rune(0x4E00); distinct.Len() < 256<<10; r++ {
		distinct.WriteRune(r)
	}
	units = append(units, distinct.String()+".com ", "http://"+distinct.String()+".com/ ")
	for _, u := range units {
		s := strings.Repeat(u, max(1, 256<<10/len(u)))
		start := time.Now()
		ioc.Extract(s, ioc.Options{})
		ioc.DefangText(s)
		assert.Less(t, time.Since(start), 2*time.Second, "slow on repeated %q", u[:min(len(u), 40)])
	}
}

func TestScanDoesNotAllocateWithoutIndicators(t *testing.T) {
	lines := []string{
		"Failed password for invalid user admin from port 22 ssh2 at 23:06:41",
		"[INFO] Process svchost.exe (PID 4242) started by NT AUTHORITY\\SYSTEM; std::vector<int>",
		`C:\Users\contoso.user\AppData\Roaming\Zoom\ZoomDownload\Installer.exe report.zip 999.1.1.1`,
		"Пользователь открыл вложение «счёт.pdf.exe» в 12:30; 用户打开了文件。然后退出",
		"[System.IO.File]::ReadAllBytes granted User.Read Mail.Send {6F9619FF-8B86-D011-B42D-00C04FC964FF}",
		"GET /ubuntu/dists/bionic/by-hash/SHA256/" + hashSHA256 + " IMPHASH=" + strings.ToUpper(hashMD5) + " CN=" + hashSHA1,
	}
	for _, l := range lines {
		n := testing.AllocsPerRun(100, func() {
			ioc.Scan(ioc.Refang(l), ioc.Options{}, func(ioc.Match) {})
			_ = ioc.Extract(l, ioc.Options{})
		})
		assert.Zero(t, n, "allocations for %q", l)
	}
}
