package triage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/alert"
	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/intel"
	_ "github.com/verdict-dev/verdict/pkg/intel/all" // the registered providers and their default rules
	"github.com/verdict-dev/verdict/pkg/intel/feed"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/internal/testutil"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/score"
)

// One MalwareBazaar sample from the bundled feed: row 2 of the head.
const (
	mbSHA256 = "1d233362395405a19be5da8fc1f3fba060e658fb30718a47eedc0925a7226e52"
	mbMD5    = "7564553469f8675a41cb1ee014b3dfdd"
	mbSHA1   = "4bf5f76757cdf2280df61f970246222aa0b8f8a8"
)

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// realFeeds loads the real public feeds bundled in testdata/feeds.
func realFeeds(t testing.TB) *feed.Set {
	t.Helper()
	s, err := feed.Load([]string{filepath.Join("testdata", "feeds")}, feed.WithLogger(quietLog()))
	require.NoError(t, err)
	return s
}

// offlineProviders are VirusTotal and AbuseIPDB as --offline makes them:
// present, asked about nothing, every lookup skipped.
func offlineProviders() []intel.Spec {
	return []intel.Spec{
		{Provider: &inteltest.Provider{ProviderName: "virustotal"}, Disabled: model.ReasonOffline},
		{Provider: &inteltest.Provider{ProviderName: "abuseipdb", Types: []ioc.Type{ioc.IPv4, ioc.IPv6}}, Disabled: model.ReasonOffline},
	}
}

// runAlerts runs alerts (NDJSON) through load, lookup, summary and emit.
func runAlerts(t *testing.T, log *slog.Logger, specs []intel.Spec, ndjson string) (*model.Report, map[string]*model.Alert) {
	t.Helper()
	sc, err := score.New(intel.DefaultScoring())
	require.NoError(t, err)
	eng := intel.NewEngine(specs, intel.Options{Cache: cache.Nop{}, Logger: quietLog()})
	f := write(t, t.TempDir(), "alerts.ndjson", ndjson)
	b, err := Load(context.Background(), Options{Inputs: []string{f}, Engine: eng, Scorer: sc, TempDir: t.TempDir(), Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	require.NoError(t, b.Lookup(context.Background()))
	h, alerts := collect(t, b)
	byID := map[string]*model.Alert{}
	for _, a := range alerts {
		byID[a.ID] = a
	}
	return h, byID
}

// The acceptance cases of issue 9, offline with the real feeds: VirusTotal
// and AbuseIPDB are configured but skipped, so the feeds alone decide.
func TestVerdicts_OfflineWithRealFeeds(t *testing.T) {
	t.Parallel()
	specs := append([]intel.Spec{{Provider: realFeeds(t)}}, offlineProviders()...)
	tests := []struct {
		name        string
		alert       string
		wantScore   int
		wantVerdict model.Verdict
		wantFactors []string
		wantChecked []string
	}{
		{name: "a Feodo C2 address alone is MALICIOUS", alert: `{"dst_ip":"192.9.135.73","signature":"outbound 443"}`,
			wantScore: 70, wantVerdict: model.Malicious, wantChecked: []string{"feeds"},
			wantFactors: []string{"IP 192.9.135.73: listed in abusech-feodo-ipblocklist.csv (c2) (+70)"}},
		{name: "a Tor exit alone is POTENTIALLY_SUSPICIOUS", alert: `{"src_ip":"185.241.208.232"}`,
			wantScore: 20, wantVerdict: model.PotentiallySuspicious, wantChecked: []string{"feeds"},
			wantFactors: []string{"IP 185.241.208.232: listed in tor-bulk-exit-list.head.txt (anonymizer), tor-exit-addresses.head.txt (anonymizer) (+20)"}},
		{name: "an ET compromised address is SUSPICIOUS", alert: `{"src_ip":"97.74.93.167"}`,
			wantScore: 40, wantVerdict: model.Suspicious, wantChecked: []string{"feeds"},
			wantFactors: []string{"IP 97.74.93.167: listed in et-compromised-ips.txt (compromised) (+40)"}},
		{name: "an address in Spamhaus DROP and FireHOL level 1 counts drop once", alert: `{"src_ip":"1.19.5.5"}`,
			wantScore: 50, wantVerdict: model.Suspicious, wantChecked: []string{"feeds"},
			wantFactors: []string{"IP 1.19.5.5: listed in firehol_level1.2025-08-27.head.netset (drop, 1.19.0.0/16), spamhaus-drop_v4.head.json (drop, 1.19.0.0/16) (+50)"}},
		{name: "a hash in a feed of no known category is listed", alert: `{"sha256":"8e90ed33c7ee82c0b64078ea36ec95f7420ba435c693b3b3dd728b494abf7dfc"}`,
			wantScore: 40, wantVerdict: model.Suspicious, wantChecked: []string{"feeds"}},
		{name: "MalwareBazaar sha256 alone", alert: `{"file":{"sha256":"` + mbSHA256 + `"}}`,
			wantScore: 70, wantVerdict: model.Malicious, wantChecked: []string{"feeds"},
			wantFactors: []string{"SHA-256 " + mbSHA256 + ": listed in abusech-malwarebazaar-recent.head.csv (malware) (+70)"}},
		{name: "its md5, sha1 and sha256 side by side score as the sha256 alone", alert: `{"file":{"md5":"` + mbMD5 + `","sha1":"` + mbSHA1 + `","sha256":"` + mbSHA256 + `"}}`,
			wantScore: 70, wantVerdict: model.Malicious, wantChecked: []string{"feeds"},
			wantFactors: []string{"SHA-256 " + mbSHA256 + ": listed in abusech-malwarebazaar-recent.head.csv (malware) (+70)"}},
		{name: "scattered over the alert, the feed row links them", alert: `{"parent":{"md5":"` + mbMD5 + `"},"msg":"dropped ` + mbSHA1 + `","child":{"hash":{"sha256":"` + mbSHA256 + `"}}}`,
			wantScore: 70, wantVerdict: model.Malicious, wantChecked: []string{"feeds"},
			wantFactors: []string{"SHA-256 " + mbSHA256 + ": listed in abusech-malwarebazaar-recent.head.csv (malware) (+70)"}},
		{name: "a public address no feed lists is CLEAN, checked by the feeds", alert: `{"dst_ip":"8.8.8.8"}`,
			wantScore: 0, wantVerdict: model.Clean, wantChecked: []string{"feeds"}, wantFactors: []string{}},
		{name: "a domain only VirusTotal could check is UNCHECKED offline", alert: `{"query":"update-check.verdict-test.net"}`,
			wantScore: 0, wantVerdict: model.Unchecked, wantChecked: []string{}, wantFactors: []string{}},
		{name: "private addresses only: nothing to check, CLEAN", alert: `{"src_ip":"10.1.2.3","dst_ip":"192.168.0.9"}`,
			wantScore: 0, wantVerdict: model.Clean, wantChecked: []string{}, wantFactors: []string{}},
		{name: "no indicator at all: CLEAN", alert: `{"msg":"user logged off"}`,
			wantScore: 0, wantVerdict: model.Clean, wantChecked: []string{}, wantFactors: []string{}},
		{name: "a C2 and a Tor exit add up", alert: `{"src_ip":"185.241.208.232","dst_ip":"192.9.135.73"}`,
			wantScore: 90, wantVerdict: model.Malicious, wantChecked: []string{"feeds"}},
	}
	var sb strings.Builder
	for i, tt := range tests {
		fmt.Fprintf(&sb, `{"alert_id":"a%d",%s`+"\n", i, strings.TrimPrefix(tt.alert, "{"))
	}
	h, byID := runAlerts(t, quietLog(), specs, sb.String())
	var want model.ByVerdict
	for i, tt := range tests {
		want.Add(tt.wantVerdict)
		t.Run(tt.name, func(t *testing.T) {
			a := byID[fmt.Sprintf("a%d", i)]
			require.NotNil(t, a)
			assert.Equal(t, tt.wantScore, a.Risk.Score)
			assert.Equal(t, tt.wantVerdict, a.Risk.Verdict)
			assert.Equal(t, tt.wantChecked, a.Risk.CheckedBy)
			if tt.wantFactors != nil {
				assert.Equal(t, tt.wantFactors, a.Risk.Factors)
			}
		})
	}
	assert.Equal(t, want, h.Summary.ByVerdict)
	assert.Contains(t, h.Summary.Notes, fmt.Sprintf("1 of %d alerts are UNCHECKED: no source answered for any of their indicators, so nothing is known about them (they are not CLEAN)", len(tests)))
	assert.ErrorIs(t, CheckUnchecked(&h.Summary), ErrUnchecked)
}

// --offline without feeds: every alert with an indicator to check is
// UNCHECKED, and --fail-on-unchecked has something to fail on.
func TestVerdicts_OfflineWithoutFeeds(t *testing.T) {
	t.Parallel()
	alerts := `{"alert_id":"ip","dst_ip":"192.9.135.73"}
{"alert_id":"hash","file":{"md5":"` + mbMD5 + `","sha256":"` + mbSHA256 + `"}}
{"alert_id":"url","url":"http://update-check.verdict-test.net/a.exe"}
{"alert_id":"private","src_ip":"10.1.2.3"}
{"alert_id":"none","msg":"nothing here"}
`
	h, byID := runAlerts(t, quietLog(), offlineProviders(), alerts)
	for id, want := range map[string]model.Verdict{"ip": model.Unchecked, "hash": model.Unchecked, "url": model.Unchecked, "private": model.Clean, "none": model.Clean} {
		assert.Equal(t, want, byID[id].Risk.Verdict, id)
		assert.Zero(t, byID[id].Risk.Score, id)
		assert.Equal(t, []string{}, byID[id].Risk.CheckedBy, id)
	}
	assert.Equal(t, model.ByVerdict{Unchecked: 3, Clean: 2}, h.Summary.ByVerdict)
	err := CheckUnchecked(&h.Summary)
	require.ErrorIs(t, err, ErrUnchecked)
	assert.EqualError(t, err, "alerts UNCHECKED: 3 of 5 alert(s) could not be checked by any source (--fail-on-unchecked)")
	assert.NoError(t, CheckUnchecked(&model.Summary{Alerts: 2, ByVerdict: model.ByVerdict{Clean: 2}}))
	assert.NoError(t, CheckUnchecked(nil))
}

// A VirusTotal file answer names the file's three hashes: the alert's MD5
// and SHA-256, in unrelated fields, are one artifact and count once.
func TestVerdicts_ProviderNamesTheFile(t *testing.T) {
	t.Parallel()
	vt := &inteltest.Provider{ProviderName: "virustotal", Answer: func(i ioc.IOC, _ int) (model.Result, error) {
		if i.Type.IsHash() {
			return model.Result{Status: model.StatusFound, Malicious: model.Int(12), MD5: mbMD5, SHA1: mbSHA1, SHA256: strings.ToUpper(mbSHA256)}, nil
		}
		return model.Result{}, intel.ErrNotFound
	}}
	alerts := `{"alert_id":"both","process":{"md5":"` + mbMD5 + `"},"note":"sample ` + mbSHA256 + `"}
{"alert_id":"one","process":{"sha256":"` + mbSHA256 + `"}}
{"alert_id":"two-files","a":{"md5":"` + mbMD5 + `"},"b":{"sha256":"e149f36cb6c001aa340c388d7684c8a055f59152026e8e0d1d678264d7c084d7"}}
`
	_, byID := runAlerts(t, quietLog(), []intel.Spec{{Provider: vt}}, alerts)
	assert.Equal(t, 40, byID["both"].Risk.Score)
	assert.Equal(t, byID["one"].Risk, byID["both"].Risk, "the MD5 and the SHA-256 of one file score as the SHA-256 alone")
	assert.Equal(t, []string{"SHA-256 " + mbSHA256 + ": 12 VirusTotal malicious detections (+40)"}, byID["both"].Risk.Factors)
	assert.Equal(t, 80, byID["two-files"].Risk.Score, "an answer naming another SHA-256 does not join two files")
}

// A provider that fails for most of its lookups says so in the summary and
// on the log; alerts it alone could check are UNCHECKED.
func TestVerdicts_FailingProvider(t *testing.T) {
	t.Parallel()
	down := &inteltest.Provider{ProviderName: "virustotal", Answer: func(i ioc.IOC, _ int) (model.Result, error) {
		if i.Value == "9.9.9.9" {
			return model.Result{}, intel.ErrNotFound
		}
		return model.Result{}, errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	}}
	var logs bytes.Buffer
	alerts := `{"alert_id":"a","dst_ip":"1.1.1.1"}
{"alert_id":"b","dst_ip":"1.0.0.1","url":"https://verdict-test.net/x"}
{"alert_id":"c","dst_ip":"9.9.9.9"}
`
	h, byID := runAlerts(t, slog.New(slog.NewTextHandler(&logs, nil)), []intel.Spec{{Provider: down}}, alerts)
	assert.Equal(t, model.Unchecked, byID["a"].Risk.Verdict)
	assert.Equal(t, model.Unchecked, byID["b"].Risk.Verdict)
	assert.Equal(t, model.Clean, byID["c"].Risk.Verdict)
	assert.Equal(t, []string{"virustotal"}, byID["c"].Risk.CheckedBy)
	assert.Contains(t, h.Summary.Notes, "virustotal failed for 4 of 5 lookups (dial tcp 127.0.0.1:1: connect: connection refused): its answers are missing, and alerts that depended on it may be UNCHECKED")
	assert.Contains(t, logs.String(), `level=WARN msg="provider failed for most lookups" provider=virustotal failed=4 lookups=5`)
}

// A provider failing for a minority of lookups is not a run-level problem.
func TestVerdicts_FewFailuresNoNote(t *testing.T) {
	t.Parallel()
	flaky := &inteltest.Provider{ProviderName: "virustotal", Answer: func(i ioc.IOC, _ int) (model.Result, error) {
		if i.Value == "1.1.1.1" {
			return model.Result{}, errors.New("timeout")
		}
		return model.Result{}, intel.ErrNotFound
	}}
	h, _ := runAlerts(t, quietLog(), []intel.Spec{{Provider: flaky}}, `{"a":"1.1.1.1","b":"1.0.0.1","c":"9.9.9.9"}`+"\n")
	for _, n := range h.Summary.Notes {
		assert.NotContains(t, n, "failed for")
	}
	assert.Equal(t, 1, h.Summary.ByVerdict.Clean)
}

// The hashes an alert carries side by side in one object are one file.
func TestExtract_ArtifactLinks(t *testing.T) {
	t.Parallel()
	const (
		m1 = "0123456789abcdef0123456789abcde1"
		m2 = "0123456789abcdef0123456789abcde2"
		s1 = "0123456789abcdef0123456789abcdef0123456a"
		h1 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde1"
		h2 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde2"
	)
	tests := []struct {
		name string
		raw  string
		want [][]string // groups of linked values; values not listed stand alone
	}{
		{name: "Elastic ECS file.hash", raw: `{"file":{"hash":{"md5":"` + m1 + `","sha1":"` + s1 + `","sha256":"` + h1 + `"}}}`,
			want: [][]string{{m1, h1, s1}}},
		{name: "CSV-style columns of one row", raw: `{"Md5":"` + m1 + `","Sha256":"` + h1 + `","ComputerName":"ws1"}`,
			want: [][]string{{m1, h1}}},
		{name: "Sysmon Hashes string (IMPHASH is no MD5 indicator)", raw: `{"Hashes":"SHA1=` + strings.ToUpper(s1) + `,MD5=` + m1 + `,SHA256=` + h1 + `,IMPHASH=` + m2 + `"}`,
			want: [][]string{{m1, h1, s1}}},
		{name: "two MD5s in one message are ambiguous", raw: `{"message":"dropped ` + m1 + ` and ` + m2 + `, then ran ` + h1 + `"}`,
			want: nil},
		{name: "M365: initiating process and file in one object stay apart", raw: `{"InitiatingProcessMD5":"` + m1 + `","InitiatingProcessSHA256":"` + h1 + `","MD5":"` + m2 + `","SHA256":"` + h2 + `"}`,
			want: [][]string{{m1, h1}, {m2, h2}}},
		{name: "parent and child objects stay apart", raw: `{"process":{"md5":"` + m1 + `","parent":{"sha256":"` + h1 + `"}}}`,
			want: nil},
		{name: "an array of file objects is ambiguous", raw: `{"files":[{"md5":"` + m1 + `","sha256":"` + h1 + `"},{"md5":"` + m2 + `","sha256":"` + h2 + `"}]}`,
			want: nil},
		{name: "one file twice in an array is still one file", raw: `{"files":[{"md5":"` + m1 + `","sha256":"` + h1 + `"},{"md5":"` + m1 + `","sha256":"` + h1 + `"}]}`,
			want: [][]string{{m1, h1}}},
		{name: "a hash and an address are never one artifact", raw: `{"md5":"` + m1 + `","ip":"8.8.8.8"}`,
			want: nil},
		{name: "a JSON cell holding another file", raw: `{"Md5":"` + m1 + `","ParentDetails":"{\"md5\":\"` + m2 + `\",\"sha256\":\"` + h2 + `\"}"}`,
			want: [][]string{{m2, h2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newExtractor(nil)
			_, found, err := e.alert(alert.Record{Raw: []byte(tt.raw)})
			require.NoError(t, err)
			groups := map[int][]string{}
			for _, f := range found {
				if f.art != 0 {
					groups[f.art] = append(groups[f.art], f.ioc.Value)
				}
			}
			for _, g := range groups {
				slices.Sort(g)
			}
			var got [][]string
			for k := 1; k <= len(found); k++ {
				if g, ok := groups[k]; ok {
					got = append(got, g)
				}
			}
			for _, g := range tt.want {
				assert.Contains(t, got, g)
			}
			assert.Len(t, got, len(tt.want), "groups: %v", got)
		})
	}
}

func TestHashStem(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"SHA256": "", "sha256_hash": "", "Hashes": "", "file_hash": "file", "InitiatingProcessSHA1": "initiatingprocess",
		"InitiatingProcessMD5": "initiatingprocess", "md5sum": "sum", "message": "message", "SHA-256": "",
	} {
		assert.Equal(t, want, hashStem(in), in)
	}
}

func TestArtifactsUnion(t *testing.T) {
	t.Parallel()
	types := []ioc.Type{ioc.MD5, ioc.SHA256, ioc.MD5, ioc.SHA1, ioc.IPv4}
	var a artifacts
	a.reset(len(types), func(i int) uint8 { return hashBit(types[i]) })
	assert.True(t, a.union(0, 1))
	assert.False(t, a.union(2, 1), "a second MD5 cannot join a file that has one")
	assert.True(t, a.union(3, 1))
	assert.False(t, a.union(4, 0), "an address is never part of a file")
	assert.Equal(t, []int{1, 1, 0, 1, 0}, []int{a.id(0), a.id(1), a.id(2), a.id(3), a.id(4)})
}

// On the real exports, with and without the real feeds: an alert is
// UNCHECKED exactly when it holds an indicator to check and no source
// answered, and never CLEAN then.
func TestVerdicts_SharedRealExports(t *testing.T) {
	t.Parallel()
	dir := testutil.SharedSamples(t, "alerts")
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err)
	feeds := testutil.SharedSamples(t, "feeds")
	fs, err := feed.Load([]string{feeds}, feed.WithLogger(quietLog()))
	require.NoError(t, err)
	for name, specs := range map[string][]intel.Spec{
		"without feeds": offlineProviders(),
		"with feeds":    append([]intel.Spec{{Provider: fs}}, offlineProviders()...),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sc, err := score.New(intel.DefaultScoring())
			require.NoError(t, err)
			eng := intel.NewEngine(specs, intel.Options{Cache: cache.Nop{}, Logger: quietLog()})
			b, err := Load(context.Background(), Options{Inputs: files, Engine: eng, Scorer: sc, TempDir: t.TempDir(), Logger: quietLog()})
			require.NoError(t, err)
			defer b.Close()
			require.NoError(t, b.Lookup(context.Background()))
			h, alerts := collect(t, b)
			for _, a := range alerts {
				toCheck := false
				for _, i := range a.IOCs {
					toCheck = toCheck || i.Skipped == ""
				}
				unchecked := toCheck && len(a.Risk.CheckedBy) == 0
				assert.Equal(t, unchecked, a.Risk.Verdict == model.Unchecked, "alert %s (%s)", a.ID, a.Source.File)
				if name == "without feeds" {
					assert.Equal(t, toCheck, unchecked, "offline without feeds, every alert with an indicator to check is UNCHECKED: %s", a.ID)
				}
			}
			t.Logf("%s: %+v", name, h.Summary.ByVerdict)
		})
	}
}
