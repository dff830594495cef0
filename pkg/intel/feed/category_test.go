package feed

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/internal/testutil"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

// wantCategory is the category a feed file gets and how it was decided.
type wantCategory struct {
	category string
	from     string
	knownAs  string
}

// fileCategories is every feed file the project knows, in
// pkg/intel/feed/testdata, samples/feeds and ../shared/samples-real/feeds,
// with the category it gets. Each was checked by reading the file: its
// banner, its format and its published name.
var fileCategories = map[string]wantCategory{
	"abusech-feodo-ipblocklist.csv":          {model.CategoryC2, CategoryFromWellKnown, "abuse.ch Feodo Tracker"},
	"abusech-malwarebazaar-recent.head.csv":  {model.CategoryMalware, CategoryFromWellKnown, "abuse.ch MalwareBazaar"},
	"blocklist.hosts":                        {model.CategoryListed, CategoryFromDefault, ""},
	"et-compromised-ips.txt":                 {model.CategoryCompromised, CategoryFromWellKnown, "Emerging Threats compromised IPs"},
	"firehol_level1.2015-11-13.head.netset":  {model.CategoryDrop, CategoryFromWellKnown, "FireHOL level 1"},
	"firehol_level1.2025-08-27.head.netset":  {model.CategoryDrop, CategoryFromWellKnown, "FireHOL level 1"},
	"misp-event-bare.json":                   {model.CategoryListed, CategoryFromDefault, ""},
	"misp-event-wrapped.json":                {model.CategoryListed, CategoryFromDefault, ""},
	"msticiocs-exchange-march2021.csv":       {model.CategoryListed, CategoryFromDefault, ""},
	"spamhaus-drop.txt":                      {model.CategoryDrop, CategoryFromWellKnown, "Spamhaus DROP"},
	"spamhaus-drop_v4.head.json":             {model.CategoryDrop, CategoryFromWellKnown, "Spamhaus DROP"},
	"tor-bulk-exit-list.head.txt":            {model.CategoryAnonymizer, CategoryFromWellKnown, "Tor exit list"},
	"tor-exit-addresses.head.txt":            {model.CategoryAnonymizer, CategoryFromWellKnown, "Tor exit list"},
	"zeek-intel.abuse-ch-malware.head.intel": {model.CategoryMalware, CategoryFromWellKnown, "abuse.ch MalwareBazaar"},
	"zeek-intel.mixed.intel":                 {model.CategoryListed, CategoryFromDefault, ""},
	// samples/feeds
	"verdict-demo-domains.txt": {model.CategoryListed, CategoryFromDefault, ""},
	// ../shared/samples-real/feeds only
	"misp-event.circl-osint-asert-2016.json":  {model.CategoryListed, CategoryFromDefault, ""},
	"misp-event.circl-osint-sednit-2017.json": {model.CategoryListed, CategoryFromDefault, ""},
	"spamhaus-drop.legacy-2015.txt":           {model.CategoryDrop, CategoryFromWellKnown, "Spamhaus DROP"},
}

func checkCategories(t *testing.T, dir string) {
	t.Helper()
	var logs bytes.Buffer
	s, err := Load([]string{dir}, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	assert.NotContains(t, logs.String(), "level=WARN")
	require.NotEmpty(t, s.Feeds())
	for _, f := range s.Feeds() {
		t.Run(f.Name, func(t *testing.T) {
			want, ok := fileCategories[filepath.Base(f.Name)]
			require.True(t, ok, "add %s to fileCategories with the category it should get", f.Name)
			assert.Equal(t, want, wantCategory{f.Category, f.CategoryFrom, f.KnownAs})
		})
	}
}

func TestCategory_EveryKnownFile(t *testing.T) {
	t.Parallel()
	t.Run("testdata", func(t *testing.T) { checkCategories(t, filepath.Join("testdata", "feeds")) })
	t.Run("samples", func(t *testing.T) {
		checkCategories(t, filepath.Join(testutil.RepoRoot(t), "samples", "feeds"))
	})
	t.Run("shared", func(t *testing.T) { checkCategories(t, testutil.SharedSamples(t, "feeds")) })
}

// A file renamed by a user is still recognised by what it holds.
func TestCategory_RenamedFilesByContent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, from, to string
		want           wantCategory
	}{
		{name: "Feodo CSV banner", from: "abusech-feodo-ipblocklist.csv", to: "list-a.csv", want: wantCategory{model.CategoryC2, CategoryFromWellKnown, "abuse.ch Feodo Tracker"}},
		{name: "MalwareBazaar banner", from: "abusech-malwarebazaar-recent.head.csv", to: "recent.csv", want: wantCategory{model.CategoryMalware, CategoryFromWellKnown, "abuse.ch MalwareBazaar"}},
		{name: "Tor exit-addresses format", from: "tor-exit-addresses.head.txt", to: "nodes.txt", want: wantCategory{model.CategoryAnonymizer, CategoryFromWellKnown, "Tor exit list"}},
		{name: "Spamhaus DROP JSON format", from: "spamhaus-drop_v4.head.json", to: "netblocks.json", want: wantCategory{model.CategoryDrop, CategoryFromWellKnown, "Spamhaus DROP"}},
		{name: "Spamhaus DROP text banner", from: "spamhaus-drop.txt", to: "bad-nets.txt", want: wantCategory{model.CategoryDrop, CategoryFromWellKnown, "Spamhaus DROP"}},
		{name: "FireHOL level1 header", from: "firehol_level1.2025-08-27.head.netset", to: "level.netset", want: wantCategory{model.CategoryDrop, CategoryFromWellKnown, "FireHOL level 1"}},
		// A bare list of addresses says nothing about itself.
		{name: "renamed ET list is just listed", from: "et-compromised-ips.txt", to: "ips.txt", want: wantCategory{model.CategoryListed, CategoryFromDefault, ""}},
		{name: "renamed Tor bulk list is just listed", from: "tor-bulk-exit-list.head.txt", to: "ips.txt", want: wantCategory{model.CategoryListed, CategoryFromDefault, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(filepath.Join("testdata", "feeds", tt.from))
			require.NoError(t, err)
			_, info, _ := loadContent(t, tt.to, b)
			assert.Equal(t, tt.want, wantCategory{info.Category, info.CategoryFrom, info.KnownAs})
		})
	}
}

func TestCategory_ByPublishedName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"ipblocklist.csv":             model.CategoryC2, // Feodo Tracker's own names
		"ipblocklist_recommended.txt": model.CategoryC2,
		"feodotracker.txt":            model.CategoryC2,
		"threatfox-hostfile.txt":      model.CategoryMalware,
		"malwarebazaar.txt":           model.CategoryMalware,
		"urlhaus-text_online.txt":     model.CategoryMalware,
		"openphish-feed.txt":          model.CategoryPhishing,
		"online-valid.csv":            model.CategoryPhishing, // PhishTank
		"drop.txt":                    model.CategoryDrop,     // Spamhaus
		"edrop.txt.gz":                model.CategoryDrop,
		"drop_v6.json":                model.CategoryDrop,
		"firehol_level1.netset":       model.CategoryDrop,
		"compromised-ips.txt":         model.CategoryCompromised, // Emerging Threats
		"blocklist.de-all.txt":        model.CategoryCompromised,
		"blocklist_de_ssh.ipset":      model.CategoryCompromised,
		"ci-badguys.txt":              model.CategoryCompromised, // CINS Army
		"torbulkexitlist":             model.CategoryAnonymizer,
		"exit-addresses":              model.CategoryAnonymizer,
		"tor_exits.ipset":             model.CategoryAnonymizer,
		// Lookalikes that are not the feed.
		"monitor-exit.txt":     model.CategoryListed,
		"my-ipblocklist.txt":   model.CategoryListed,
		"firehol_level2.txt":   model.CategoryListed,
		"dropbox-ranges.txt":   model.CategoryListed,
		"scripts-cinsider.txt": model.CategoryListed,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, info, _ := loadContent(t, name, []byte("192.0.2.1\n"))
			assert.Equal(t, want, info.Category)
		})
	}
}

func TestCategory_Precedence(t *testing.T) {
	t.Parallel()
	feodo, err := os.ReadFile(filepath.Join("testdata", "feeds", "abusech-feodo-ipblocklist.csv"))
	require.NoError(t, err)
	tests := []struct {
		name       string
		files      map[string]string
		categories map[string]string
		want       map[string]wantCategory
		wantWarn   string
	}{
		{
			name:  "header beats the well-known feed",
			files: map[string]string{"tor-exits.txt": "# category: compromised\n192.0.2.1\n"},
			want:  map[string]wantCategory{"tor-exits.txt": {model.CategoryCompromised, CategoryFromHeader, ""}},
		},
		{
			name:  "header after a banner, any case, ; comments",
			files: map[string]string{"x.txt": "; my list\n;\n; Category:  PHISHING \n192.0.2.1\n"},
			want:  map[string]wantCategory{"x.txt": {model.CategoryPhishing, CategoryFromHeader, ""}},
		},
		{
			name:  "a category line after the first data line is not a header",
			files: map[string]string{"x.txt": "192.0.2.1\n# category: c2\n"},
			want:  map[string]wantCategory{"x.txt": {model.CategoryListed, CategoryFromDefault, ""}},
		},
		{
			name:     "unknown header category is ignored with a warning",
			files:    map[string]string{"et-compromised-ips.txt": "# category: botnet\n192.0.2.1\n"},
			want:     map[string]wantCategory{"et-compromised-ips.txt": {model.CategoryCompromised, CategoryFromWellKnown, "Emerging Threats compromised IPs"}},
			wantWarn: "unknown category",
		},
		{
			name:       "config beats the header and the well-known feed",
			files:      map[string]string{"abusech-feodo-ipblocklist.csv": "# category: drop\n" + string(feodo)},
			categories: map[string]string{"abusech-feodo-ipblocklist.csv": "Anonymizer"},
			want:       map[string]wantCategory{"abusech-feodo-ipblocklist.csv": {model.CategoryAnonymizer, CategoryFromConfig, "abusech-feodo-ipblocklist.csv"}},
		},
		{
			name:       "exact name beats a glob, longer glob beats a shorter one",
			files:      map[string]string{"a/c2-list.txt": "192.0.2.1\n", "a/c2-other.txt": "192.0.2.2\n", "b/misc.txt": "192.0.2.3\n"},
			categories: map[string]string{"*": "compromised", "c2-*.txt": "c2", "c2-other.txt": "phishing", "b/*": "drop"},
			want: map[string]wantCategory{
				"c2-list.txt":  {model.CategoryC2, CategoryFromConfig, "c2-*.txt"},
				"c2-other.txt": {model.CategoryPhishing, CategoryFromConfig, "c2-other.txt"},
				"misc.txt":     {model.CategoryDrop, CategoryFromConfig, "b/*"},
			},
		},
		{
			name:  "FireHOL's own Category line is FireHOL's vocabulary",
			files: map[string]string{"firehol_proxies.netset": "#\n# firehol_proxies\n#\n# Maintainer      : FireHOL\n# Category        : anonymizers\n#\n192.0.2.1\n"},
			want:  map[string]wantCategory{"firehol_proxies.netset": {model.CategoryAnonymizer, CategoryFromWellKnown, "FireHOL anonymizers"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeTree(t, tt.files)
			var logs bytes.Buffer
			s, err := Load([]string{dir}, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), WithCategories(tt.categories))
			require.NoError(t, err)
			got := map[string]wantCategory{}
			for _, f := range s.Feeds() {
				got[f.Name] = wantCategory{f.Category, f.CategoryFrom, f.KnownAs}
			}
			assert.Equal(t, tt.want, got)
			if tt.wantWarn != "" {
				assert.Contains(t, logs.String(), tt.wantWarn)
			} else {
				assert.NotContains(t, logs.String(), "level=WARN")
			}
		})
	}
}

func TestCategory_ConfigErrors(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"a.txt": "192.0.2.1\n"})
	for name, tt := range map[string]struct {
		m       map[string]string
		wantErr string
	}{
		"unknown category": {map[string]string{"a.txt": "botnet"}, `feeds.categories["a.txt"]: unknown feed category "botnet" (want one of c2, malware, phishing, drop, compromised, listed, anonymizer)`},
		"bad glob":         {map[string]string{"[a.txt": "c2"}, `feeds.categories["[a.txt"]: syntax error in pattern`},
		"empty pattern":    {map[string]string{" ": "c2"}, "empty file name or glob"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Load([]string{dir}, quiet(), WithCategories(tt.m))
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestParseCategory(t *testing.T) {
	t.Parallel()
	for _, c := range model.FeedCategories {
		got, err := ParseCategory(strings.ToUpper(c) + " ")
		require.NoError(t, err)
		assert.Equal(t, c, got)
	}
	_, err := ParseCategory("tor")
	assert.Error(t, err)
}

func TestCategory_ThreatFoxPerRow(t *testing.T) {
	t.Parallel()
	content := "# ThreatFox IOCs: recent additions - CSV format\n" +
		`# "first_seen_utc","ioc_id","ioc_value","ioc_type","threat_type","fk_malware","malware_alias","malware_printable","last_seen_utc","confidence_level","is_compromised","reference","tags","anonymous","reporter"` + "\n" +
		`"2026-01-01 00:00:00", "1", "203.0.113.9:443", "ip:port", "botnet_cc", "win.x", "None", "X", "", "100", "False", "None", "", "0", "r"` + "\n" +
		`"2026-01-01 00:00:00", "2", "203.0.113.9:8080", "ip:port", "payload_delivery", "win.x", "None", "X", "", "100", "False", "None", "", "0", "r"` + "\n" +
		`"2026-01-01 00:00:00", "3", "dl.example.net", "domain", "payload_delivery", "win.y", "None", "Y", "", "100", "False", "None", "", "0", "r"` + "\n" +
		`"2026-01-01 00:00:00", "4", "c2.example.net", "domain", "payload", "win.y", "None", "Y", "", "100", "False", "None", "", "0", "r"` + "\n" +
		`"2026-01-01 00:00:00", "5", "c2.example.net", "domain", "botnet_cc", "win.y", "None", "Y", "", "100", "False", "None", "", "0", "r"` + "\n"
	for _, name := range []string{"threatfox.csv", "export.csv"} {
		s, info, _ := loadContent(t, name, []byte(content))
		assert.Equal(t, wantCategory{model.CategoryMalware, CategoryFromWellKnown, "abuse.ch ThreatFox"}, wantCategory{info.Category, info.CategoryFrom, info.KnownAs}, name)
		assert.True(t, info.PerRow)
		for v, want := range map[ioc.IOC]string{
			ip("203.0.113.9"):       model.CategoryC2, // listed twice: the stronger row wins
			dom("dl.example.net"):   model.CategoryMalware,
			dom("c2.example.net"):   model.CategoryC2,
			dom("x.c2.example.net"): model.CategoryC2,
		} {
			r, err := s.Lookup(context.Background(), v)
			require.NoError(t, err, v)
			require.Len(t, r.Matches, 1)
			assert.Equal(t, want, r.Matches[0].Category, "%s in %s", v, name)
		}
	}
	// A category set for the whole file overrides the rows.
	dir := writeTree(t, map[string]string{"threatfox.csv": content})
	s, err := Load([]string{dir}, quiet(), WithCategories(map[string]string{"threat*": "listed"}))
	require.NoError(t, err)
	r, err := s.Lookup(context.Background(), ip("203.0.113.9"))
	require.NoError(t, err)
	assert.Equal(t, model.CategoryListed, r.Matches[0].Category)
}

// A row listing one file's hashes links them: any of them names the others.
func TestHashLinks(t *testing.T) {
	t.Parallel()
	s := loadTestdata(t)
	ctx := context.Background()
	// Row 2 of the MalwareBazaar head: sha256, md5, sha1 of one sample.
	const (
		h256 = "1d233362395405a19be5da8fc1f3fba060e658fb30718a47eedc0925a7226e52"
		h5   = "7564553469f8675a41cb1ee014b3dfdd"
		h1   = "4bf5f76757cdf2280df61f970246222aa0b8f8a8"
	)
	for _, q := range []ioc.IOC{sha256(h256), md5(h5), sha1(h1)} {
		r, err := s.Lookup(ctx, q)
		require.NoError(t, err, q)
		assert.Equal(t, [3]string{h5, h1, h256}, [3]string{r.MD5, r.SHA1, r.SHA256}, q)
		assert.Equal(t, model.CategoryMalware, r.Matches[0].Category)
	}
	// A MISP file object's hashes are linked too; an event's loose
	// attributes are not (an event describes many files).
	r, err := s.Lookup(ctx, sha256("7a200c4df99887991c638fe625d07a4a3fc2bdc887112437752b3df5c8da79b6"))
	require.NoError(t, err)
	assert.Empty(t, r.MD5+r.SHA1+r.SHA256, "loose event attributes")
	// Lists of one hash per line link nothing.
	r, err = s.Lookup(ctx, sha1("392c59924103a45553b1e4bd1f5845e42d4f1c9b"))
	require.NoError(t, err)
	assert.Empty(t, r.MD5+r.SHA1+r.SHA256)
}

func TestHashLinks_Rows(t *testing.T) {
	t.Parallel()
	const (
		a256 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		b256 = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
		a5   = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa5"
		c5   = "ccccccccccccccccccccccccccccccc5"
		c1   = "cccccccccccccccccccccccccccccccccccccc01"
	)
	content := "sha256,md5,sha1,hash\n" +
		a256 + "," + a5 + ",,\n" + // two kinds: linked
		b256 + "," + c5 + "," + c1 + "," + a256 + "\n" + // two SHA-256: ambiguous, nothing linked
		"," + c5 + "," + c1 + ",\n" // md5 and sha1 of one file
	misp := `{"Event":{"info":"e","Attribute":[{"type":"md5","value":"` + a5 + `","to_ids":true}],"Object":[{"name":"file","Attribute":[` +
		`{"type":"md5","value":"dddddddddddddddddddddddddddddddd","to_ids":true},` +
		`{"type":"sha1","value":"dddddddddddddddddddddddddddddddddddddddd","to_ids":true},` +
		`{"type":"filename","value":"d.exe","to_ids":false}]}]}}`
	dir := writeTree(t, map[string]string{"hashes.csv": content, "event.json": misp})
	s, err := Load([]string{dir}, quiet())
	require.NoError(t, err)
	ctx := context.Background()
	r, err := s.Lookup(ctx, md5(a5))
	require.NoError(t, err)
	assert.Equal(t, [3]string{a5, "", a256}, [3]string{r.MD5, r.SHA1, r.SHA256})
	r, err = s.Lookup(ctx, sha256(b256))
	require.NoError(t, err)
	assert.Empty(t, r.MD5+r.SHA1+r.SHA256, "a row naming two files links nothing")
	r, err = s.Lookup(ctx, sha1(c1))
	require.NoError(t, err)
	assert.Equal(t, [3]string{c5, c1, ""}, [3]string{r.MD5, r.SHA1, r.SHA256}, "a later row links what an ambiguous one could not")
	r, err = s.Lookup(ctx, sha1("dddddddddddddddddddddddddddddddddddddddd"))
	require.NoError(t, err)
	assert.Equal(t, "dddddddddddddddddddddddddddddddd", r.MD5, "a MISP file object")
	r, err = s.Lookup(ctx, md5(a5))
	require.NoError(t, err)
	assert.Equal(t, a256, r.SHA256, "the CSV row's link, whatever the MISP event lists loose")
	assert.Len(t, r.Matches, 2)
}
