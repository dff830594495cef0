package root

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/model"
)

const (
	urlhausKey   = "urlhaus-e2e-key-1f2e3d4c5b6a79880a1b2c3d4e5f6a7b"
	threatfoxKey = "threatfox-e2e-key-9a8b7c6d5e4f30211f2e3d4c5b6a7980"
	lookupSHA256 = "b325c92fa540edeb89b95dbfd4400c1cb33599c66859a87aead820e568a2ebe7"
)

// abuseCh starts the URLhaus and ThreatFox fakes and points verdict at
// them, the way a user's environment would (ABUSECH_API_KEY serves both).
func abuseCh(t *testing.T) (*inteltest.URLhaus, *inteltest.ThreatFox) {
	t.Helper()
	uh := inteltest.NewURLhaus(t, urlhausKey)
	tf := inteltest.NewThreatFox(t, threatfoxKey)
	t.Setenv("URLHAUS_API_KEY", urlhausKey)
	t.Setenv("THREATFOX_API_KEY", threatfoxKey)
	t.Setenv("VERDICT_URLHAUS_BASE_URL", uh.BaseURL())
	t.Setenv("VERDICT_THREATFOX_BASE_URL", tf.BaseURL())
	t.Setenv("VERDICT_URLHAUS_RATE", "0")
	t.Setenv("VERDICT_THREATFOX_RATE", "0")
	return uh, tf
}

// `verdict lookup 8.8.8.8 evil[.]com <sha256>` prints one row per source
// per indicator, from the real binary's command tree against fakes of
// every source; the JSON says the same; a rerun is answered by the cache.
func TestLookupCommand(t *testing.T) {
	sandbox(t)
	vt, ab := fakes(t)
	uh, tf := abuseCh(t)
	vt.Set("evil.com", inteltest.VTObject{Malicious: 2})
	uh.SetHost("evil.com", inteltest.URLhausHost{URLs: 3, Online: 1})
	tf.Add(inteltest.ThreatFoxIOC{IOC: "evil.com", ThreatType: "botnet_cc", Malware: "QakBot", Confidence: 75})
	uh.AddPayload(inteltest.URLhausPayload{MD5: "5b7e82e051ade4b14d163eea2a17bf8b", SHA256: lookupSHA256, Signature: "CobaltStrike", FileType: "exe", Size: 1024})

	res := run(t, "", "lookup", "8.8.8.8", "evil[.]com", lookupSHA256)
	require.Equal(t, 0, res.code, res.stderr)
	rows := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	sources := []string{"virustotal", "abuseipdb", "urlhaus", "threatfox"}
	require.Len(t, rows, 3*len(sources), res.stdout)
	for i, r := range rows {
		cells := strings.Split(r, "\t")
		require.Len(t, cells, 8, r)
		assert.Equal(t, []string{"8.8.8[.]8", "evil[.]com", lookupSHA256}[i/len(sources)], cells[0], "indicators defanged, in order")
		assert.Equal(t, sources[i%len(sources)], cells[4], "one row per source, in provider order")
	}
	assert.Contains(t, res.stdout, "evil[.]com\tdomain\tMALICIOUS\t95\turlhaus\tfound\t+70\t")
	assert.Contains(t, res.stdout, "evil[.]com\tdomain\tMALICIOUS\t95\tthreatfox\tfound\t(+70)\t", "one listing counts once")
	assert.Contains(t, res.stdout, "8.8.8[.]8\tipv4\tCLEAN\t0\tabuseipdb\tfound\t")
	assert.Equal(t, 3, len(uh.Requests()), "URLhaus takes a host, a domain... and a payload: all three")
	assert.Equal(t, 3, len(tf.Requests()))
	assert.Equal(t, 1, len(ab.Requests()), "AbuseIPDB takes only the address")

	// The same through the cache: no request, the same verdicts.
	res = run(t, "", "lookup", "--json", "8.8.8.8", "evil[.]com", lookupSHA256)
	require.Equal(t, 0, res.code, res.stderr)
	var lr model.LookupReport
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &lr), res.stdout)
	assert.Equal(t, 3, len(uh.Requests())+len(tf.Requests())-3, "answered from the cache")
	assert.Equal(t, 3, lr.Summary.Providers["urlhaus"].CacheHits)
	require.Len(t, lr.Indicators, 3)
	assert.Equal(t, model.Malicious, lr.Indicators[1].Risk.Verdict)
	assert.True(t, lr.Indicators[1].Enrichment["urlhaus"].Cached)
	for _, k := range []string{urlhausKey, threatfoxKey, vtKey, abuseKey} {
		assert.NotContains(t, res.stdout+res.stderr, k)
	}

	// --fail-on: exit 3, after the answer is printed.
	res = run(t, "", "lookup", "--fail-on", "SUSPICIOUS", "evil.com")
	assert.Equal(t, 3, res.code, res.stderr)
	assert.Contains(t, res.stdout, "MALICIOUS")
	assert.Contains(t, res.stderr, "1 indicator(s) are SUSPICIOUS or worse")

	// Not an indicator: exit 2 and usage named.
	res = run(t, "", "lookup", "svchost.exe")
	assert.Equal(t, 2, res.code)
	assert.Contains(t, res.stderr, "not an indicator")
}

// Under --offline no request reaches URLhaus or ThreatFox, in lookup and
// in enrich, and the report says why they did not answer.
func TestAbuseChOffline(t *testing.T) {
	_, out := sandbox(t)
	uh, tf := abuseCh(t)
	res := run(t, "", "lookup", "--offline", "--fail-on-unchecked", "185.220.101.45", "evil.com")
	assert.Equal(t, 3, res.code, "nothing answered: UNCHECKED\n%s", res.stderr)
	assert.Contains(t, res.stdout, "urlhaus\tskipped\t\toffline")
	res = run(t, "", "enrich", "--offline", "-o", out, "--output-name", "off", "-f", "json", alertsFile(t, 4, 20))
	require.Equal(t, 0, res.code, res.stderr)
	assert.Empty(t, uh.Requests())
	assert.Empty(t, tf.Requests())
	rep := readReport(t, filepath.Join(out, "off.json"))
	assert.Contains(t, strings.Join(rep.Summary.Notes, "\n"), "urlhaus: offline")
}

// In enrich, a URLhaus or ThreatFox listing scores as a local feed of its
// category, shows in the reports, and puts the indicator on the blocklist.
func TestAbuseChInEnrich(t *testing.T) {
	_, out := sandbox(t)
	fakes(t)
	uh, tf := abuseCh(t)
	t.Setenv("VIRUSTOTAL_API_KEY", "")
	t.Setenv("ABUSEIPDB_API_KEY", "")
	file := alertsFile(t, 3, 21) // 185.31.0.1-3, c2.evil-0..2.com, hashes
	tf.Add(inteltest.ThreatFoxIOC{IOC: "185.31.0.1:443", ThreatType: "botnet_cc", Malware: "Cobalt Strike", Confidence: 100})
	uh.SetHost("c2.evil-1.com", inteltest.URLhausHost{URLs: 4, Online: 4, Tags: []string{"Mozi"}})
	uh.SetHost("c2.evil-2.com", inteltest.URLhausHost{URLs: 900, Online: 3, SpamhausDBL: "abused_legit_malware"})
	block := filepath.Join(out, "block.txt")
	res := run(t, "", "enrich", "-o", out, "--output-name", "ac", "-f", "json,txt,html,md", "--export-blocklist", block,
		"--blocklist-min", "SUSPICIOUS", "--blocklist-format", "annotated", file)
	require.Equal(t, 0, res.code, res.stderr)
	rep := readReport(t, filepath.Join(out, "ac.json"))
	byID := map[string]*model.Alert{}
	for _, a := range rep.Alerts {
		byID[a.ID] = a
	}
	a0, a1, a2 := byID["a0"], byID["a1"], byID["a2"]
	require.NotNil(t, a0)
	assert.Equal(t, 70, a0.Risk.Score, a0.Risk.Factors)
	assert.Contains(t, a0.Risk.Factors, "IP 185.31.0.1: listed in ThreatFox (c2, 185.31.0.1:443) (+70)")
	assert.Equal(t, 70, a1.Risk.Score, a1.Risk.Factors)
	assert.Contains(t, a1.Risk.Factors, "domain c2.evil-1.com: listed in URLhaus (malware) (+70)")
	assert.Equal(t, 0, a2.Risk.Score, "an abused legitimate host is shown, not scored: %v", a2.Risk.Factors)
	assert.Equal(t, true, a2.Enrichment["c2.evil-2.com"]["urlhaus"].Attrs["abused_legit"])
	assert.Contains(t, a2.Risk.CheckedBy, "urlhaus")

	// The text report wraps lines inside a box: read it as words.
	txt := strings.Join(strings.Fields(strings.ReplaceAll(readFile(t, filepath.Join(out, "ac.txt")), "|", " ")), " ")
	assert.Contains(t, txt, "listed in ThreatFox as 185.31.0[.]1:443 (Cobalt Strike)")
	assert.Contains(t, txt, "url count 4; urls online 4; listed in URLhaus (4 malware URLs, 4 online; malware_download)")
	assert.Contains(t, txt, "urlhaus: found - abused legit true; first seen 2026-11-09T13:37:11Z; spamhaus dbl abused_legit_malware; url count 900")
	html := readFile(t, filepath.Join(out, "ac.html"))
	assert.Contains(t, html, "listed in URLhaus")
	md := readFile(t, filepath.Join(out, "ac.md"))
	assert.Contains(t, md, "ThreatFox")

	bl := readFile(t, block)
	assert.Contains(t, bl, "185.31.0.1\n")
	assert.Contains(t, bl, "c2.evil-1.com\n")
	assert.NotContains(t, bl, "c2.evil-2.com", "an abused legitimate host is never blocked")
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// A URLhaus payload answer names the file's MD5 and SHA-256: an alert that
// carries both, apart (so extraction alone would not join them), scores the
// file once, not once per hash.
func TestAbuseChNamesOneFilesHashes(t *testing.T) {
	_, out := sandbox(t)
	uh, _ := abuseCh(t)
	const md5, sha = "5b7e82e051ade4b14d163eea2a17bf8b", lookupSHA256
	uh.AddPayload(inteltest.URLhausPayload{MD5: md5, SHA256: sha, Signature: "CobaltStrike", FileType: "exe", Size: 1024})
	file := filepath.Join(t.TempDir(), "a.ndjson")
	require.NoError(t, os.WriteFile(file, []byte(`{"id":"f1","process":{"hash":{"md5":"`+md5+`"}},"parent":{"hash":{"sha256":"`+sha+`"}}}`+"\n"), 0o644))
	res := run(t, "", "enrich", "-o", out, "--output-name", "h", "-f", "json", file)
	require.Equal(t, 0, res.code, res.stderr)
	a := readReport(t, filepath.Join(out, "h.json")).Alerts[0]
	require.Len(t, a.IOCs, 2)
	assert.Equal(t, md5, a.Enrichment[sha]["urlhaus"].MD5)
	assert.Equal(t, 70, a.Risk.Score, "one file, one +70: %v", a.Risk.Factors)
	assert.Equal(t, []string{"SHA-256 " + sha + ": listed in URLhaus (malware) (+70)"}, a.Risk.Factors, "named by its SHA-256")
}
