package ioc_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/verdict-dev/verdict/pkg/ioc"
)

func TestDefang(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   ioc.IOC
		want string
	}{
		{name: "IPv4 last dot", in: v4("185.220.101.45"), want: "185.220.101[.]45"},
		{name: "domain", in: dom("evil.com"), want: "evil[.]com"},
		{name: "subdomain last dot only", in: dom("a.b.evil.com"), want: "a.b.evil[.]com"},
		{name: "IPv6 every colon", in: v6("2001:db8::1"), want: "2001[:]db8[:][:]1"},
		{name: "https URL", in: link("https://evil.com/path?q=1"), want: "hxxps://evil[.]com/path?q=1"},
		{name: "http URL with port and userinfo", in: link("http://u:p@evil.com:8080/a.b"), want: "hxxp://u:p@evil[.]com:8080/a.b"},
		{name: "ftp URL", in: link("ftp://files.evil.com/x"), want: "fxp://files.evil[.]com/x"},
		{name: "sftp URL", in: link("sftp://evil.com/x"), want: "sfxp://evil[.]com/x"},
		{name: "ws URL keeps scheme, defangs host", in: link("wss://evil.com/x"), want: "wss://evil[.]com/x"},
		{name: "URL with IP host", in: link("http://1.2.3.4:80/"), want: "hxxp://1.2.3[.]4:80/"},
		{name: "URL with IPv6 host", in: link("http://[2001:db8::1]:8080/x"), want: "hxxp://[2001[:]db8[:][:]1]:8080/x"},
		{name: "URL host with trailing dot", in: link("http://evil.com./"), want: "hxxp://evil[.]com./"},
		{name: "hash unchanged", in: md5(hashMD5), want: hashMD5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ioc.Defang(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, []ioc.IOC{tt.in}, filterType(ioc.Extract(got, ioc.Options{}), tt.in.Type), "Refang does not undo Defang")
		})
	}
}

func filterType(in []ioc.IOC, t ioc.Type) []ioc.IOC {
	var out []ioc.IOC
	for _, i := range in {
		if i.Type == t {
			out = append(out, i)
		}
	}
	return out
}

func TestDefangText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "mixed alert text", in: "GET hxxps://evil[.]com/x.php from 185.220.101.45:443 to bob@corp.com",
			want: "GET hxxps://evil[.]com/x.php from 185.220.101[.]45:443 to bob@corp[.]com"},
		{name: "URL written in upper case keeps its case", in: "HTTP://Evil.COM/A", want: "HXXP://Evil[.]COM/A"},
		{name: "IPv6 and mapped address", in: "2001:db8::1 ::ffff:1.2.3.4", want: "2001[:]db8[:][:]1 [:][:]ffff[:]1.2.3.4"},
		{name: "hashes and file names untouched", in: hashSHA256 + " report.zip svchost.exe", want: hashSHA256 + " report.zip svchost.exe"},
		{name: "nothing to defang", in: "all quiet at 12:30", want: "all quiet at 12:30"},
		{name: "already defanged text is stable", in: "hxxp://evil[.]com and 1.2.3[.]4", want: "hxxp://evil[.]com and 1.2.3[.]4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ioc.DefangText(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, got, ioc.DefangText(got), "not idempotent")
		})
	}
}
