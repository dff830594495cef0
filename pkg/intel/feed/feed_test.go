package feed

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/internal/testutil"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

func quiet() Option { return WithLogger(slog.New(slog.DiscardHandler)) }

// wantInfo is what a loaded feed's Info should say.
type wantInfo struct {
	format  string
	entries map[ioc.Type]int
	cidrs   int
	skipped int
}

// Counts checked against the files with shell tools: e.g. unique dst_ip of
// the Feodo CSV (28), ExitAddress IPs of the Tor head (25 lines, 24 unique),
// MISP to_ids attributes by type after dropping the 4 bad ASERT url values.
var testdataFeeds = map[string]wantInfo{
	"abusech-feodo-ipblocklist.csv":          {FormatCSV, map[ioc.Type]int{ioc.IPv4: 28}, 0, 0},
	"abusech-malwarebazaar-recent.head.csv":  {FormatCSV, map[ioc.Type]int{ioc.SHA256: 27, ioc.MD5: 27, ioc.SHA1: 27}, 0, 0},
	"blocklist.hosts":                        {FormatHosts, map[ioc.Type]int{ioc.Domain: 5}, 0, 1},
	"et-compromised-ips.txt":                 {FormatPlain, map[ioc.Type]int{ioc.IPv4: 539}, 0, 0},
	"firehol_level1.2015-11-13.head.netset":  {FormatPlain, map[ioc.Type]int{ioc.IPv4: 54}, 21, 0},
	"firehol_level1.2025-08-27.head.netset":  {FormatPlain, map[ioc.Type]int{}, 83, 0},
	"misp-event-bare.json":                   {FormatMISP, map[ioc.Type]int{ioc.Domain: 1, ioc.IPv4: 1, ioc.SHA1: 1}, 0, 0},
	"misp-event-wrapped.json":                {FormatMISP, map[ioc.Type]int{ioc.IPv4: 3, ioc.Domain: 3, ioc.URL: 2, ioc.SHA256: 2, ioc.MD5: 1, ioc.SHA1: 1}, 1, 3},
	"msticiocs-exchange-march2021.csv":       {FormatCSV, map[ioc.Type]int{ioc.SHA256: 14}, 0, 0},
	"spamhaus-drop.txt":                      {FormatPlain, map[ioc.Type]int{}, 6, 0},
	"spamhaus-drop_v4.head.json":             {FormatSpamhausJSON, map[ioc.Type]int{}, 40, 0},
	"tor-bulk-exit-list.head.txt":            {FormatPlain, map[ioc.Type]int{ioc.IPv4: 100}, 0, 0},
	"tor-exit-addresses.head.txt":            {FormatTorExits, map[ioc.Type]int{ioc.IPv4: 24}, 0, 0},
	"zeek-intel.abuse-ch-malware.head.intel": {FormatZeekIntel, map[ioc.Type]int{ioc.SHA1: 59}, 0, 0},
	"zeek-intel.mixed.intel":                 {FormatZeekIntel, map[ioc.Type]int{ioc.IPv4: 1, ioc.IPv6: 1, ioc.Domain: 1, ioc.URL: 2, ioc.MD5: 1, ioc.SHA256: 1}, 1, 2},
}

// sharedOnly are the files of ../shared/samples-real/feeds that are not
// copied into testdata (licences), with their own expectations.
var sharedOnly = map[string]wantInfo{
	"misp-event.circl-osint-asert-2016.json":  {FormatMISP, map[ioc.Type]int{ioc.Domain: 12, ioc.IPv4: 8, ioc.MD5: 74, ioc.SHA1: 57, ioc.SHA256: 73, ioc.URL: 10}, 0, 4},
	"misp-event.circl-osint-sednit-2017.json": {FormatMISP, map[ioc.Type]int{ioc.Domain: 18, ioc.IPv4: 11, ioc.SHA1: 37}, 0, 0},
	"spamhaus-drop.legacy-2015.txt":           {FormatPlain, map[ioc.Type]int{}, 2, 0},
}

func checkInfos(t *testing.T, s *Set, want map[string]wantInfo) {
	t.Helper()
	got := map[string]Info{}
	for _, f := range s.Feeds() {
		got[f.Name] = f
	}
	require.Len(t, got, len(want))
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			f, ok := got[name]
			require.True(t, ok, "feed %s not loaded", name)
			assert.Equal(t, w.format, f.Format)
			assert.Equal(t, w.entries, f.Entries)
			assert.Equal(t, w.cidrs, f.CIDRs)
			assert.Equal(t, w.skipped, f.Skipped)
		})
	}
}

func loadTestdata(t testing.TB) *Set {
	t.Helper()
	s, err := Load([]string{filepath.Join("testdata", "feeds")}, quiet())
	require.NoError(t, err)
	return s
}

func TestLoad_Testdata(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s, err := Load([]string{filepath.Join("testdata", "feeds")}, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	checkInfos(t, s, testdataFeeds)
	assert.NotContains(t, logs.String(), "level=WARN", "every fixture loads cleanly")
	assert.Contains(t, logs.String(), `msg="loaded feeds"`)

	for _, typ := range ioc.AllTypes {
		assert.True(t, s.Supports(typ), typ)
	}
	assert.Equal(t, "feeds", s.Name())
	assert.True(t, s.Local())
}

func TestLoad_SharedSamples(t *testing.T) {
	t.Parallel()
	dir := testutil.SharedSamples(t, "feeds")
	s, err := Load([]string{dir}, quiet())
	require.NoError(t, err)
	want := map[string]wantInfo{}
	for name, w := range testdataFeeds {
		// The shared corpus holds the copied files, not the ones written for verdict.
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			want[name] = w
		}
	}
	for name, w := range sharedOnly {
		want[name] = w
	}
	checkInfos(t, s, want)

	// The MISP events live in a subdirectory; their names are still base names.
	for _, f := range s.Feeds() {
		if f.Format == FormatMISP {
			assert.Equal(t, filepath.Base(f.Path), f.Name)
		}
	}
}

// lookupCase is one spot lookup: which feed must (or must not) list the
// indicator, and with what entry and info.
type lookupCase struct {
	name      string
	ioc       ioc.IOC
	feed      string // "" with notFound: no feed at all may list it
	entry     string
	info      string
	notFound  bool
	wantFeeds []string // when set, exactly these feeds, in this order
	category  string   // when set, the match's category
}

func runLookups(t *testing.T, s *Set, cases []lookupCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, err := ioc.Normalize(tt.ioc)
			require.NoError(t, err, "test IOC must be normalised")
			require.Equal(t, tt.ioc, n, "test IOC must be normalised")
			r, err := s.Lookup(context.Background(), tt.ioc)
			if tt.notFound && tt.feed == "" {
				require.ErrorIs(t, err, intel.ErrNotFound, "matches: %+v", r.Matches)
				return
			}
			m, ok := matchFor(r, tt.feed)
			if tt.notFound {
				assert.False(t, ok, "feed %s must not list %s: %+v", tt.feed, tt.ioc, m)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, model.StatusFound, r.Status)
			require.True(t, ok, "feed %s should list %s; matches %+v", tt.feed, tt.ioc, r.Matches)
			assert.Equal(t, tt.entry, m.Entry)
			assert.Equal(t, tt.info, m.Info)
			if tt.category != "" {
				assert.Equal(t, tt.category, m.Category)
			}
			if tt.wantFeeds != nil {
				var names []string
				for _, m := range r.Matches {
					names = append(names, m.Feed)
				}
				assert.Equal(t, tt.wantFeeds, names)
			}
		})
	}
}

func matchFor(r model.Result, feed string) (model.FeedMatch, bool) {
	for _, m := range r.Matches {
		if m.Feed == feed {
			return m, true
		}
	}
	return model.FeedMatch{}, false
}

func ip(s string) ioc.IOC {
	i, err := ioc.Guess(s)
	if err != nil {
		panic(err)
	}
	return i
}

func dom(s string) ioc.IOC  { return ioc.IOC{Type: ioc.Domain, Value: s} }
func url(s string) ioc.IOC  { return ioc.IOC{Type: ioc.URL, Value: s} }
func md5(s string) ioc.IOC  { return ioc.IOC{Type: ioc.MD5, Value: s} }
func sha1(s string) ioc.IOC { return ioc.IOC{Type: ioc.SHA1, Value: s} }
func sha256(s string) ioc.IOC {
	return ioc.IOC{Type: ioc.SHA256, Value: s}
}

// commonLookups hold for the copied files, in testdata and in the shared corpus.
var commonLookups = []lookupCase{
	{name: "happy path: Feodo C2 IP with malware name", ioc: ip("192.9.135.73"), feed: "abusech-feodo-ipblocklist.csv", info: "Pikabot (c2 online)", category: "c2"},
	{name: "happy path: Feodo offline C2", ioc: ip("172.233.221.61"), feed: "abusech-feodo-ipblocklist.csv", info: "Pikabot (c2 offline)", category: "c2"},
	{name: "happy path: MalwareBazaar sha256 with signature", ioc: sha256("1d233362395405a19be5da8fc1f3fba060e658fb30718a47eedc0925a7226e52"), feed: "abusech-malwarebazaar-recent.head.csv", info: "RustyStealer", category: "malware"},
	{name: "happy path: MalwareBazaar sha256 with n/a signature", ioc: sha256("e149f36cb6c001aa340c388d7684c8a055f59152026e8e0d1d678264d7c084d7"), feed: "abusech-malwarebazaar-recent.head.csv", category: "malware"},
	{name: "happy path: MalwareBazaar md5 column", ioc: md5("7564553469f8675a41cb1ee014b3dfdd"), feed: "abusech-malwarebazaar-recent.head.csv", info: "RustyStealer", category: "malware"},
	{name: "happy path: MalwareBazaar sha1 column", ioc: sha1("8499f094477c8474c2550929c8fcba3bea310e2b"), feed: "abusech-malwarebazaar-recent.head.csv", category: "malware"},
	{name: "sad path: MalwareBazaar imphash is not an MD5 indicator", ioc: md5("d42595b695fc008ef2c56aabd8efd68e"), notFound: true},
	{name: "happy path: ET compromised IP", ioc: ip("97.74.93.167"), feed: "et-compromised-ips.txt", category: "compromised"},
	{name: "happy path: IP inside a FireHOL 2025 CIDR", ioc: ip("2.56.193.7"), feed: "firehol_level1.2025-08-27.head.netset", entry: "2.56.192.0/22", category: "drop"},
	{name: "happy path: FireHOL 2015 single IP", ioc: ip("1.93.0.224"), feed: "firehol_level1.2015-11-13.head.netset", category: "drop"},
	{name: "happy path: FireHOL 2015 keeps private CIDRs", ioc: ip("10.1.2.3"), feed: "firehol_level1.2015-11-13.head.netset", entry: "10.0.0.0/8", category: "drop"},
	{name: "happy path: IP inside a Spamhaus DROP JSON CIDR", ioc: ip("1.19.5.5"), feed: "spamhaus-drop_v4.head.json", entry: "1.19.0.0/16", info: "SBL434604", category: "drop"},
	{name: "happy path: CIDR edges", ioc: ip("1.10.31.255"), feed: "spamhaus-drop_v4.head.json", entry: "1.10.16.0/20", info: "SBL256894", category: "drop"},
	{name: "sad path: just past a CIDR", ioc: ip("1.10.32.0"), feed: "spamhaus-drop_v4.head.json", notFound: true},
	{name: "happy path: Tor exit IP in exit-addresses", ioc: ip("185.241.208.232"), feed: "tor-exit-addresses.head.txt", category: "anonymizer"},
	{name: "happy path: Tor exit IP in bulk list", ioc: ip("185.241.208.232"), feed: "tor-bulk-exit-list.head.txt", category: "anonymizer"},
	{name: "sad path: Tor relay fingerprint is not a SHA-1", ioc: sha1("fe39f07ebe7870dce124ab30df3abd0700a43f75"), notFound: true},
	{name: "happy path: Zeek intel hash with desc", ioc: sha1("392c59924103a45553b1e4bd1f5845e42d4f1c9b"), feed: "zeek-intel.abuse-ch-malware.head.intel", info: "MALWARE", category: "malware"},
	{name: "happy path: MSTIC sha256", ioc: sha256("8e90ed33c7ee82c0b64078ea36ec95f7420ba435c693b3b3dd728b494abf7dfc"), feed: "msticiocs-exchange-march2021.csv", category: "listed"},
	{name: "sad path: unlisted IP", ioc: ip("8.8.8.8"), notFound: true},
	{name: "sad path: unlisted IPv6", ioc: ip("2001:4860:4860::8888"), notFound: true},
}

func TestLookup_Testdata(t *testing.T) {
	t.Parallel()
	s := loadTestdata(t)
	cases := append([]lookupCase{}, commonLookups...)
	cases = append(cases, []lookupCase{
		{name: "happy path: matches sorted by feed name", ioc: ip("1.19.5.5"), feed: "spamhaus-drop.txt", entry: "1.19.0.0/16", info: "SBL434604",
			wantFeeds: []string{"firehol_level1.2025-08-27.head.netset", "spamhaus-drop.txt", "spamhaus-drop_v4.head.json"}},
		{name: "happy path: Spamhaus DROP text IPv6 CIDR", ioc: ip("2a06:e480::1"), feed: "spamhaus-drop.txt", entry: "2a06:e480::/29", info: "SBL301771"},
		{name: "happy path: Spamhaus IPv6 CIDR end", ioc: ip("2a06:e487:ffff:ffff:ffff:ffff:ffff:ffff"), feed: "spamhaus-drop.txt", entry: "2a06:e480::/29", info: "SBL301771"},
		{name: "sad path: past the IPv6 CIDR", ioc: ip("2a06:e488::"), feed: "spamhaus-drop.txt", notFound: true},
		{name: "happy path: nested CIDR reports the enclosing one", ioc: ip("45.12.1.5"), feed: "spamhaus-drop.txt", entry: "45.12.0.0/22", info: "SBL900001"},
		{name: "happy path: hosts name", ioc: dom("ads.tracker.example.net"), feed: "blocklist.hosts"},
		{name: "happy path: hosts name lower-cased, inline comment", ioc: dom("malware-drop.example.org"), feed: "blocklist.hosts", info: "dropper"},
		{name: "happy path: domain matches a listed parent", ioc: dom("www.cdn.bad.example.com"), feed: "blocklist.hosts", entry: "bad.example.com"},
		{name: "happy path: second name on a hosts line", ioc: dom("www.c2.example.info"), feed: "blocklist.hosts"},
		{name: "happy path: parent under a private suffix", ioc: dom("x.foo.blogspot.com"), feed: "blocklist.hosts", entry: "foo.blogspot.com"},
		{name: "sad path: sibling under a private suffix", ioc: dom("bar.blogspot.com"), notFound: true},
		{name: "sad path: parent of a listed domain is not listed", ioc: dom("example.com"), notFound: true},
		{name: "sad path: hosts sink address is not an indicator", ioc: ip("0.0.0.0"), feed: "blocklist.hosts", notFound: true},
		{name: "happy path: MISP ip-dst", ioc: ip("45.9.148.108"), feed: "misp-event-wrapped.json", info: "verdict test event: wrapped with a second line"},
		{name: "sad path: MISP to_ids false", ioc: ip("45.9.148.200"), notFound: true},
		{name: "happy path: MISP ip-src|port", ioc: ip("45.9.148.109"), feed: "misp-event-wrapped.json", info: "verdict test event: wrapped with a second line"},
		{name: "happy path: MISP domain|ip, the IP", ioc: ip("45.9.148.110"), feed: "misp-event-wrapped.json", info: "verdict test event: wrapped with a second line"},
		{name: "happy path: MISP domain|ip, the domain", ioc: dom("gate.example.org"), feed: "misp-event-wrapped.json", info: "verdict test event: wrapped with a second line"},
		{name: "happy path: MISP ip-dst CIDR", ioc: ip("91.215.85.77"), feed: "misp-event-wrapped.json", entry: "91.215.85.0/24", info: "verdict test event: wrapped with a second line"},
		{name: "happy path: MISP hostname normalised", ioc: dom("cdn.update-checker.example.net"), feed: "misp-event-wrapped.json", info: "verdict test event: wrapped with a second line"},
		{name: "happy path: MISP filename|sha256", ioc: sha256("7a200c4df99887991c638fe625d07a4a3fc2bdc887112437752b3df5c8da79b6"), feed: "misp-event-wrapped.json", info: "verdict test event: wrapped with a second line"},
		{name: "happy path: MISP filename|md5", ioc: md5("0cc175b9c0f1b6a831c399e269772661"), feed: "misp-event-wrapped.json", info: "verdict test event: wrapped with a second line"},
		{name: "happy path: MISP Object attribute", ioc: sha256("2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"), feed: "misp-event-wrapped.json", info: "verdict test event: wrapped with a second line"},
		{name: "happy path: MISP url", ioc: url("http://gate.example.org/panel/login.php"), feed: "misp-event-wrapped.json", info: "verdict test event: wrapped with a second line"},
		{name: "happy path: MISP url without scheme, as https", ioc: url("https://files.example.org/payload.bin"), feed: "misp-event-wrapped.json", entry: "files.example.org/payload.bin", info: "verdict test event: wrapped with a second line"},
		{name: "sad path: MISP imphash", ioc: md5("fea5902afa6e504a798c73a09b83df5e"), notFound: true},
		{name: "sad path: MISP to_ids false sha256", ioc: sha256("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), notFound: true},
		{name: "sad path: MISP deleted attribute", ioc: sha1("da39a3ee5e6b4b0d3255bfef95601890afd80709"), notFound: true},
		{name: "sad path: MISP deleted object", ioc: dom("deleted-object.example.com"), notFound: true},
		{name: "sad path: MISP link attribute", ioc: url("https://blog.example.com/report"), notFound: true},
		{name: "happy path: MISP bare event Object attribute", ioc: ip("185.156.173.70"), feed: "misp-event-bare.json", info: "verdict test event: bare"},
		{name: "sad path: MISP to_ids 0", ioc: md5("900150983cd24fb0d6963f7d28e17f72"), notFound: true},
		{name: "happy path: Zeek ADDR with desc", ioc: ip("45.142.212.61"), feed: "zeek-intel.mixed.intel", info: "SSH brute force"},
		{name: "happy path: Zeek ADDR without desc uses source", ioc: ip("2a0e:1c80:2::7"), feed: "zeek-intel.mixed.intel", info: "verdict-test"},
		{name: "happy path: Zeek SUBNET", ioc: ip("45.142.213.9"), feed: "zeek-intel.mixed.intel", entry: "45.142.213.0/24", info: "bulletproof hosting"},
		{name: "happy path: Zeek URL without scheme as http", ioc: url("http://zeek-example.net/gate.php?id=1"), feed: "zeek-intel.mixed.intel", entry: "zeek-example.net/gate.php?id=1", info: "gate URL"},
		{name: "happy path: Zeek URL without scheme as https", ioc: url("https://zeek-example.net/gate.php?id=1"), feed: "zeek-intel.mixed.intel", entry: "zeek-example.net/gate.php?id=1", info: "gate URL"},
		{name: "sad path: Zeek URL with another query", ioc: url("http://zeek-example.net/gate.php?id=2"), notFound: true},
		{name: "happy path: Zeek URL with scheme", ioc: url("https://zeek-example.org/dl/x.bin"), feed: "zeek-intel.mixed.intel", info: "full URL"},
		{name: "sad path: Zeek URL with scheme matches only that scheme", ioc: url("http://zeek-example.org/dl/x.bin"), notFound: true},
		{name: "happy path: Zeek DOMAIN parent", ioc: dom("a.c2.zeek-example.com"), feed: "zeek-intel.mixed.intel", entry: "c2.zeek-example.com", info: "C2 domain"},
		{name: "sad path: Zeek EMAIL is not a domain", ioc: dom("zeek-example.com"), notFound: true},
		{name: "happy path: Zeek FILE_HASH md5", ioc: md5("44d88612fea8a8f36de82e1278abb02f"), feed: "zeek-intel.mixed.intel", info: "EICAR"},
		{name: "happy path: Zeek FILE_HASH sha256, (empty) desc", ioc: sha256("275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"), feed: "zeek-intel.mixed.intel", info: "verdict-test"},
		{name: "sad path: Zeek CERT_HASH is not a file hash", ioc: sha1("3395856ce81f2b7382dee72602f798b642f14140"), notFound: true},
	}...)
	runLookups(t, s, cases)

	t.Run("MSTIC filepath rows are not domains", func(t *testing.T) {
		for _, f := range s.Feeds() {
			if f.Name == "msticiocs-exchange-march2021.csv" {
				assert.Zero(t, f.Entries[ioc.Domain])
				assert.Zero(t, f.Skipped)
			}
		}
	})
}

func TestLookup_SharedSamples(t *testing.T) {
	t.Parallel()
	dir := testutil.SharedSamples(t, "feeds")
	s, err := Load([]string{dir}, quiet())
	require.NoError(t, err)
	const asert = "misp-event.circl-osint-asert-2016.json"
	const asertInfo = "OSINT - ASERT Threat Intelligence Report 2016-03 The Four-Element Sword Engagement"
	const sednit = "misp-event.circl-osint-sednit-2017.json"
	cases := append([]lookupCase{}, commonLookups...)
	cases = append(cases, []lookupCase{
		{name: "happy path: Spamhaus legacy IPv6 CIDR", ioc: ip("2a06:e480::1"), feed: "spamhaus-drop.legacy-2015.txt", entry: "2a06:e480::/29", info: "SBL301771"},
		{name: "happy path: Spamhaus legacy IPv4 CIDR", ioc: ip("1.4.100.1"), feed: "spamhaus-drop.legacy-2015.txt", entry: "1.4.0.0/17", info: "SBL256893"},
		{name: "happy path: MISP ip-dst in an Object", ioc: ip("87.236.211.182"), feed: sednit, info: "OSINT - Sednit update: How Fancy Bear Spent the Year"},
		{name: "happy path: MISP domain parent", ioc: dom("www.servicecdp.com"), feed: sednit, entry: "servicecdp.com", info: "OSINT - Sednit update: How Fancy Bear Spent the Year"},
		{name: "happy path: MISP filename|sha256", ioc: sha256("7a200c4df99887991c638fe625d07a4a3fc2bdc887112437752b3df5c8da79b6"), feed: asert, info: asertInfo},
		{name: "happy path: MISP ip-dst", ioc: ip("103.240.203.232"), feed: asert, info: asertInfo},
		{name: "sad path: MISP to_ids false ip-dst", ioc: ip("114.60.106.156"), notFound: true},
		{name: "sad path: MISP imphash", ioc: md5("fea5902afa6e504a798c73a09b83df5e"), notFound: true},
		{name: "happy path: MISP url", ioc: url("http://www.whitewall.top:8080/850D3011FA326CBB6F57A965"), feed: asert, info: asertInfo},
		{name: "happy path: MISP url without scheme", ioc: url("http://www.whitewall.top"), feed: asert, entry: "www.whitewall.top", info: asertInfo},
	}...)
	runLookups(t, s, cases)
}

func TestLookup_Errors(t *testing.T) {
	t.Parallel()
	s, err := Load([]string{filepath.Join("testdata", "feeds", "et-compromised-ips.txt")}, quiet())
	require.NoError(t, err)

	tests := []struct {
		name    string
		ctx     func() context.Context
		ioc     ioc.IOC
		wantErr error
	}{
		{name: "sad path: type no feed lists", ioc: dom("example.com"), wantErr: intel.ErrUnsupported},
		{name: "sad path: IPv6 with only IPv4 feeds", ioc: ip("2001:4860:4860::8888"), wantErr: intel.ErrUnsupported},
		{name: "sad path: not found", ioc: ip("8.8.8.8"), wantErr: intel.ErrNotFound},
		{name: "sad path: invalid address", ioc: ioc.IOC{Type: ioc.IPv4, Value: "999.1.1.1"}, wantErr: ioc.ErrInvalid},
		{name: "sad path: canceled context", ioc: ip("97.74.93.167"), wantErr: context.Canceled, ctx: func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}
			_, err := s.Lookup(ctx, tt.ioc)
			assert.True(t, errors.Is(err, tt.wantErr), "got %v, want %v", err, tt.wantErr)
		})
	}
}
