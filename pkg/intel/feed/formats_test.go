package feed

import (
	"bytes"
	"compress/gzip"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

// loadContent writes content to dir/name and loads that one file.
func loadContent(t testing.TB, name string, content []byte) (*Set, Info, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, content, 0o600))
	var logs bytes.Buffer
	s, err := Load([]string{path}, WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	require.NoError(t, err)
	require.Len(t, s.Feeds(), 1)
	return s, s.Feeds()[0], logs.String()
}

// hit is one expected match of a format test: the indicator and, when the
// listed entry is not the value itself, the entry, plus the info.
type hit struct {
	ioc   ioc.IOC
	entry string
	info  string
	cat   string // the row's own category, when it is not the feed's
}

func gz(t testing.TB, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, err := w.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

func TestLoad_Formats(t *testing.T) {
	t.Parallel()
	longLine := strings.Repeat("a", readBuf+10)
	tests := []struct {
		name        string
		file        string
		content     string
		raw         []byte // instead of content
		wantFormat  string
		wantEntries map[ioc.Type]int
		wantCIDRs   int
		wantSkipped int
		hits        []hit
		misses      []ioc.IOC
		wantLog     string
	}{
		{
			name: "happy path: plain list of every type",
			file: "mixed.txt",
			content: "# comment\n; another comment\n\n" +
				"  185.220.101.45  \n" +
				"185.220.101.45\n" + // duplicate
				"2001:67c:4e8::/48\n" +
				"91.92.240.0/22 # bulletproof\n" +
				"Evil.Example.COM.\n" +
				"*.wild.example.net\n" +
				"hxxp-not-a-url.example.org\n" +
				"http://Bad.Example.com/a#frag\n" +
				"http://bad.example.com/b?x=1;y=2\n" +
				"44D88612FEA8A8F36DE82E1278ABB02F\n" +
				"3395856ce81f2b7382dee72602f798b642f14140\n" +
				"275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f\r\n" +
				"5.6.7.8:8080\n" +
				"::ffff:9.9.9.10\n" +
				"fe80::1%eth0\n" +
				"4.4.4.4/32\n" +
				"no-newline-at-end.example.com",
			wantFormat:  FormatPlain,
			wantEntries: map[ioc.Type]int{ioc.IPv4: 4, ioc.IPv6: 1, ioc.Domain: 4, ioc.URL: 2, ioc.MD5: 1, ioc.SHA1: 1, ioc.SHA256: 1},
			wantCIDRs:   2,
			hits: []hit{
				{ioc: ip("185.220.101.45")},
				{ioc: ip("2001:67c:4e8:1::1"), entry: "2001:67c:4e8::/48"},
				{ioc: ip("91.92.241.3"), entry: "91.92.240.0/22", info: "bulletproof"},
				{ioc: dom("evil.example.com")},
				{ioc: dom("a.wild.example.net"), entry: "wild.example.net"},
				{ioc: url("http://bad.example.com/a#frag")},
				{ioc: url("http://bad.example.com/b?x=1;y=2")},
				{ioc: md5("44d88612fea8a8f36de82e1278abb02f")},
				{ioc: sha256("275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f")},
				{ioc: ip("5.6.7.8")},
				{ioc: ip("9.9.9.10")},
				{ioc: ip("fe80::1")},
				{ioc: ip("4.4.4.4")},
				{ioc: dom("no-newline-at-end.example.com")},
			},
			misses: []ioc.IOC{ip("91.92.244.0"), dom("example.com"), url("http://bad.example.com/a")},
		},
		{
			name: "sad path: plain list with bad lines",
			file: "bad.txt",
			content: "999.1.1.1\n010.1.1.1\n1.2.3.0/33\n0.0.0.0/0\nnot a domain at all\nfoo.exe\nsvchost\n" +
				"ftp//broken\n" + longLine + "\n1.2.3.4\n",
			wantFormat:  FormatPlain,
			wantEntries: map[ioc.Type]int{ioc.IPv4: 1},
			wantSkipped: 9,
			hits:        []hit{{ioc: ip("1.2.3.4")}},
			wantLog:     "bad.txt:1",
		},
		{
			name:        "happy path: Spamhaus DROP text",
			file:        "drop.txt",
			content:     "; Spamhaus DROP List\n; Last-Modified: today\n1.10.16.0/20 ; SBL256894\n2a06:e480::/29 ; SBL301771\n",
			wantFormat:  FormatPlain,
			wantEntries: map[ioc.Type]int{},
			wantCIDRs:   2,
			hits: []hit{
				{ioc: ip("1.10.16.1"), entry: "1.10.16.0/20", info: "SBL256894"},
				{ioc: ip("2a06:e480:1::1"), entry: "2a06:e480::/29", info: "SBL301771"},
			},
		},
		{
			name:        "happy path: FireHOL netset with trailing spaces and host bits",
			file:        "level1.netset",
			content:     "#\n# firehol_level1 \n# Entries         : 2 subnets, 3 unique IPs \n#\n1.2.3.5/24\n5.6.7.8\n",
			wantFormat:  FormatPlain,
			wantEntries: map[ioc.Type]int{ioc.IPv4: 1},
			wantCIDRs:   1,
			hits:        []hit{{ioc: ip("1.2.3.200"), entry: "1.2.3.0/24"}, {ioc: ip("5.6.7.8")}},
		},
		{
			name:        "happy path: IPsum score column",
			file:        "ipsum.txt",
			content:     "# IPsum Threat Intelligence Feed\n# IP\tnumber of (black)lists\n45.148.10.81\t10\n45.148.10.82 8\n",
			wantFormat:  FormatPlain,
			wantEntries: map[ioc.Type]int{ioc.IPv4: 2},
			hits:        []hit{{ioc: ip("45.148.10.81")}},
		},
		{
			name:        "happy path: hosts file",
			file:        "hosts",
			content:     "127.0.0.1 localhost\n::1 ip6-localhost ip6-loopback\n0.0.0.0 0.0.0.0\n0.0.0.0 ads.example.com tracker.example.net # ads\n:: v6sink.example.org\n0.0.0.0 bad_name.example.com\nbare-domain.example.com\n",
			wantFormat:  FormatHosts,
			wantEntries: map[ioc.Type]int{ioc.Domain: 4},
			wantSkipped: 1,
			hits: []hit{
				{ioc: dom("ads.example.com"), info: "ads"},
				{ioc: dom("tracker.example.net"), info: "ads"},
				{ioc: dom("v6sink.example.org")},
				{ioc: dom("bare-domain.example.com")},
			},
		},
		{
			name:        "happy path: hosts line in a plain list",
			file:        "list.txt",
			content:     "1.1.1.1\n2.2.2.2\n3.3.3.3\n0.0.0.0 sink.example.com\n",
			wantFormat:  FormatPlain,
			wantEntries: map[ioc.Type]int{ioc.IPv4: 3, ioc.Domain: 1},
			hits:        []hit{{ioc: dom("sink.example.com")}},
			misses:      []ioc.IOC{ip("0.0.0.0")},
		},
		{
			name:        "happy path: gzip",
			file:        "list.txt.gz",
			raw:         gz(t, "1.1.1.1\nevil.example.com\n"),
			wantFormat:  FormatPlain,
			wantEntries: map[ioc.Type]int{ioc.IPv4: 1, ioc.Domain: 1},
			hits:        []hit{{ioc: ip("1.1.1.1")}},
		},
		{
			name: "happy path: ThreatFox CSV",
			file: "threatfox.csv",
			content: "################################################################\n" +
				"# ThreatFox IOCs: CSV                                           #\n" +
				"#\n" +
				`# "first_seen_utc","ioc_id","ioc_value","ioc_type","threat_type","fk_malware","malware_alias","malware_printable","last_seen_utc","confidence_level","reference","tags","anonymous","reporter"` + "\n" +
				`"2024-04-01 00:00:01", "1", "45.9.74.36:443", "ip:port", "botnet_cc", "win.cobalt_strike", "Agentemis", "Cobalt Strike", "", "100", "None", "c2", "0", "abuse_ch"` + "\n" +
				`"2024-04-01 00:00:02", "2", "cs.example.com", "domain", "botnet_cc", "win.cobalt_strike", "n/a", "Cobalt Strike", "", "100", "None", "c2", "0", "abuse_ch"` + "\n" +
				`"2024-04-01 00:00:03", "3", "http://198.51.100.7/x.sh", "url", "payload_delivery", "elf.mirai", "n/a", "Mirai", "", "75", "None", "", "0", "abuse_ch"` + "\n" +
				`"2024-04-01 00:00:04", "4", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "sha256_hash", "payload", "unknown", "n/a", "Unknown malware", "", "50", "None", "", "0", "abuse_ch"` + "\n" +
				`"2024-04-01 00:00:05", "5", "0123456789abcdef", "md5_hash", "payload", "unknown", "n/a", "Unknown malware", "", "50", "None", "", "0", "abuse_ch"` + "\n" +
				`"2024-04-01 00:00:06", "6", "C:\Temp\x.exe", "filepath", "payload", "unknown", "n/a", "Unknown malware", "", "50", "None", "", "0", "abuse_ch"` + "\n" +
				"# END 6 entries",
			wantFormat:  FormatCSV,
			wantEntries: map[ioc.Type]int{ioc.IPv4: 1, ioc.Domain: 1, ioc.URL: 1, ioc.SHA256: 1},
			wantSkipped: 1,
			hits: []hit{
				{ioc: ip("45.9.74.36"), info: "Cobalt Strike, botnet_cc", cat: "c2"},
				{ioc: dom("cs.example.com"), info: "Cobalt Strike, botnet_cc", cat: "c2"},
				{ioc: url("http://198.51.100.7/x.sh"), info: "Mirai, payload_delivery"},
				{ioc: sha256("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), info: "Unknown malware, payload"},
			},
		},
		{
			name: "happy path: URLhaus CSV; the urlhaus_link column is not an indicator",
			file: "csv.txt",
			content: "# URLhaus Database Dump (CSV)\n# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n" +
				`"1","2024-04-01 00:00:00","http://malware.example.com/bins/x86","online","2024-04-01 00:00:00","malware_download","elf,mirai","https://urlhaus.abuse.ch/url/1/","anon"` + "\r\n",
			wantFormat:  FormatCSV,
			wantEntries: map[ioc.Type]int{ioc.URL: 1},
			hits:        []hit{{ioc: url("http://malware.example.com/bins/x86"), info: "malware_download"}},
			misses:      []ioc.IOC{url("https://urlhaus.abuse.ch/url/1/")},
		},
		{
			name: "happy path: MISP CSV export honours to_ids",
			file: "misp.csv",
			content: "\xef\xbb\xbfuuid,event_id,category,type,value,comment,to_ids,date\n" +
				"a,1,Network activity,ip-dst,45.1.1.1,,1,1700000000\n" +
				"b,1,Network activity,ip-dst,45.1.1.2,sinkhole,0,1700000000\n" +
				"c,1,Payload delivery,filename|sha1,a.exe|a9993e364706816aba3e25717850c26c9cd0d89d,,True,1700000000\n" +
				"d,1,External analysis,link,https://example.com/r,,1,1700000000\n",
			wantFormat:  FormatCSV,
			wantEntries: map[ioc.Type]int{ioc.IPv4: 1, ioc.SHA1: 1},
			hits:        []hit{{ioc: ip("45.1.1.1")}, {ioc: sha1("a9993e364706816aba3e25717850c26c9cd0d89d")}},
			misses:      []ioc.IOC{ip("45.1.1.2")},
		},
		{
			name:        "sad path: typed CSV column takes only its type",
			file:        "hashes.csv",
			content:     "md5,sha256\n275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f,44d88612fea8a8f36de82e1278abb02f\n44d88612fea8a8f36de82e1278abb02f,n/a\n",
			wantFormat:  FormatCSV,
			wantEntries: map[ioc.Type]int{ioc.MD5: 1},
			wantSkipped: 2,
		},
		{
			name:        "happy path: generic indicator column without a type column",
			file:        "iocs.csv",
			content:     "indicator,description\n45.2.2.2,scanner\nevil.example.org,phishing\n",
			wantFormat:  FormatCSV,
			wantEntries: map[ioc.Type]int{ioc.IPv4: 1, ioc.Domain: 1},
		},
		{
			name:        "sad path: CSV header without rows",
			file:        "empty.csv",
			content:     "ip,first_seen\n",
			wantFormat:  FormatCSV,
			wantEntries: map[ioc.Type]int{},
			wantLog:     "feed lists no indicators",
		},
		{
			name:        "happy path: banner mentioning columns is not a CSV header",
			file:        "banner.txt",
			content:     "# ip, domain and url entries follow\n1.1.1.1\n",
			wantFormat:  FormatPlain,
			wantEntries: map[ioc.Type]int{ioc.IPv4: 1},
		},
		{
			name: "happy path: Spamhaus DROP JSON",
			file: "drop_v6.json",
			content: `{"cidr":"2a06:e480::/29","sblid":"SBL301771","rir":"ripencc"}` + "\n" +
				`{"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}` + "\n" +
				"not json\n" +
				`{"sblid":"SBL1"}` + "\n" +
				`{"cidr":"1.2.3.4/99","sblid":"SBL2"}` + "\n\n" +
				`{"type":"metadata","timestamp":1744682874,"size":85741,"records":3}`,
			wantFormat:  FormatSpamhausJSON,
			wantEntries: map[ioc.Type]int{},
			wantCIDRs:   2,
			wantSkipped: 3,
			hits:        []hit{{ioc: ip("2a06:e481::1"), entry: "2a06:e480::/29", info: "SBL301771"}},
		},
		{
			name: "happy path: Tor exit-addresses",
			file: "exit-addresses",
			content: "ExitNode FE39F07EBE7870DCE124AB30DF3ABD0700A43F75\nPublished 2024-03-11 13:07:19\nLastStatus 2024-03-12 08:00:00\n" +
				"ExitAddress 185.241.208.232 2024-03-12 08:10:51\nExitAddress 185.241.208.233 2024-03-12 08:10:51\n" +
				"ExitNode 23B49521BDC4588C7CCF3C38E552504118326B66\nExitAddress 185.241.208.232 2024-03-12 08:10:51\nExitAddress not-an-ip 2024\nGarbage line\n",
			wantFormat:  FormatTorExits,
			wantEntries: map[ioc.Type]int{ioc.IPv4: 2},
			wantSkipped: 2,
			hits:        []hit{{ioc: ip("185.241.208.233")}},
			misses:      []ioc.IOC{sha1("fe39f07ebe7870dce124ab30df3abd0700a43f75")},
		},
		{
			name:        "sad path: Zeek data before #fields",
			file:        "x.intel",
			content:     "1.2.3.4\tIntel::ADDR\tsrc\n#fields\tindicator\tindicator_type\tmeta.source\n1.2.3.5\tIntel::ADDR\tsrc\n",
			wantFormat:  FormatZeekIntel,
			wantEntries: map[ioc.Type]int{ioc.IPv4: 1},
			wantSkipped: 1,
			hits:        []hit{{ioc: ip("1.2.3.5"), info: "src"}},
		},
		{
			name: "happy path: MISP restSearch response",
			file: "events.json",
			content: `{"response": [{"Event": {"info": "first", "Attribute": [{"type": "ip-dst", "value": "45.3.3.3", "to_ids": true}]}},` +
				`{"Event": {"info": "second", "Attribute": [{"type": "ip-dst", "value": "45.3.3.3", "to_ids": true}, {"type": "domain", "value": 42, "to_ids": true}]}}]}`,
			wantFormat:  FormatMISP,
			wantEntries: map[ioc.Type]int{ioc.IPv4: 1},
			wantSkipped: 1,
			hits:        []hit{{ioc: ip("45.3.3.3"), info: "first"}},
		},
		{
			name:        "happy path: MISP attribute search",
			file:        "attributes.json",
			content:     `{"response": {"Attribute": [{"type": "sha256", "value": "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", "to_ids": "1"}]}}`,
			wantFormat:  FormatMISP,
			wantEntries: map[ioc.Type]int{ioc.SHA256: 1},
		},
		{
			name:        "happy path: JSON array of events",
			file:        "events.json",
			content:     `[{"Event": {"info": "a", "Attribute": [{"type": "hostname", "value": "a.example.com", "to_ids": true}]}}, {"info": "b", "Attribute": [{"type": "hostname|port", "value": "b.example.com|8443", "to_ids": true}]}]`,
			wantFormat:  FormatMISP,
			wantEntries: map[ioc.Type]int{ioc.Domain: 2},
			hits:        []hit{{ioc: dom("b.example.com"), info: "b"}},
		},
		{
			name:        "sad path: MISP feed manifest is not an event",
			file:        "manifest.json",
			content:     `{"5a3c2fcd-8328-42bb-a95e-4f4402de0b81": {"Orgc": {"name": "CIRCL"}, "Tag": [], "info": "Sednit update", "date": "2017-12-22"}}`,
			wantFormat:  FormatUnknown,
			wantEntries: map[ioc.Type]int{},
			wantLog:     "feed format not recognised",
		},
		{
			name:        "sad path: broken JSON",
			file:        "broken.json",
			content:     `{"Event": {"info": "x", "Attribute": [`,
			wantFormat:  FormatUnknown,
			wantEntries: map[ioc.Type]int{},
			wantLog:     "feed format not understood",
		},
		{
			name:        "sad path: binary file",
			file:        "archive.zip",
			raw:         []byte("PK\x03\x04\x00\x00binary"),
			wantFormat:  FormatUnknown,
			wantEntries: map[ioc.Type]int{},
			wantLog:     "feed format not recognised",
		},
		{
			name:        "sad path: empty file",
			file:        "empty.txt",
			content:     "",
			wantFormat:  FormatPlain,
			wantEntries: map[ioc.Type]int{},
			wantLog:     "feed lists no indicators",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			content := tt.raw
			if content == nil {
				content = []byte(tt.content)
			}
			s, info, logs := loadContent(t, tt.file, content)
			assert.Equal(t, tt.wantFormat, info.Format)
			assert.Equal(t, tt.wantEntries, info.Entries)
			assert.Equal(t, tt.wantCIDRs, info.CIDRs)
			assert.Equal(t, tt.wantSkipped, info.Skipped)
			if tt.wantLog != "" {
				assert.Contains(t, logs, tt.wantLog)
			}
			for _, h := range tt.hits {
				r, err := s.Lookup(context.Background(), h.ioc)
				if assert.NoError(t, err, h.ioc) && assert.Len(t, r.Matches, 1) {
					cat := info.Category
					if h.cat != "" {
						cat = h.cat
					}
					assert.Equal(t, model.FeedMatch{Feed: tt.file, Category: cat, Entry: h.entry, Info: h.info}, r.Matches[0], h.ioc)
				}
			}
			for _, m := range tt.misses {
				_, err := s.Lookup(context.Background(), m)
				assert.Error(t, err, m)
			}
			checkSelfConsistent(t, s)
		})
	}
}

func TestCleanInfo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "happy path: unchanged", in: "Pikabot", want: "Pikabot"},
		{name: "happy path: lines and tabs joined", in: " a\r\n\tb  c ", want: "a b c"},
		{name: "happy path: thin space", in: "a\u2009b", want: "a b"},
		{name: "happy path: control characters dropped", in: "a\x00\x1bb", want: "ab"},
		{name: "sad path: invalid UTF-8", in: "a\xffb", want: "a\uFFFDb"},
		{name: "happy path: truncated", in: strings.Repeat("é", 150), want: strings.Repeat("é", maxInfo) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cleanInfo(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Less(t, len([]rune(got)), 120)
			assert.Equal(t, got, cleanInfo(got), "idempotent")
		})
	}
}
