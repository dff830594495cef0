package root

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/model"
)

const gnKey = "gn-e2e-key-77f0c3a9d1e2b4c5a6f7e8d9c0b1a2f3"

// keyless are the fakes of the keyless sources, switched on and pointed
// at: GreyNoise (with a key unless keyless), Shodan InternetDB, and RDAP's
// IANA bootstrap listing one registry for .top and .com.
type keyless struct {
	gn   *inteltest.GreyNoise
	idb  *inteltest.InternetDB
	boot *inteltest.RDAPBootstrap
	reg  *inteltest.RDAPServer
}

func keylessFakes(t *testing.T, withKey bool) *keyless {
	t.Helper()
	k := &keyless{gn: inteltest.NewGreyNoise(t, gnKey), idb: inteltest.NewInternetDB(t), boot: inteltest.NewRDAPBootstrap(t), reg: inteltest.NewRDAPServer(t)}
	k.boot.Add(k.reg.BaseURL(), "top", "com")
	for name, base := range map[string]string{"greynoise": k.gn.BaseURL(), "internetdb": k.idb.BaseURL(), "rdap": k.boot.BaseURL()} {
		t.Setenv("VERDICT_"+strings.ToUpper(name)+"_ENABLED", "true")
		t.Setenv("VERDICT_"+strings.ToUpper(name)+"_BASE_URL", base)
		t.Setenv("VERDICT_"+strings.ToUpper(name)+"_RATE", "0")
	}
	t.Setenv("VERDICT_RDAP_SERVER_RATE", "0")
	if withKey {
		t.Setenv("GREYNOISE_API_KEY", gnKey) // the name users already have
	}
	t.Setenv("VERDICT_HTTP_TIMEOUT", "5s")
	return k
}

// The day the sandbox's clock reads (SOURCE_DATE_EPOCH).
var today = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func TestNewSourcesEndToEnd(t *testing.T) {
	tmp, out := sandbox(t)
	_ = tmp
	k := keylessFakes(t, true)
	k.reg.Set("evil-new.top", inteltest.RDAPDomain{Registered: today.AddDate(0, 0, -4).Add(9*time.Hour + 30*time.Minute), Registrar: "NameSilo, LLC"})
	k.reg.Set("quiet-registry.top", inteltest.RDAPDomain{Registrar: "Quiet Registry"})
	k.reg.Set("old-brand.com", inteltest.RDAPDomain{Registered: time.Date(2001, 3, 4, 0, 0, 0, 0, time.UTC), Registrar: "MarkMonitor Inc."})
	k.gn.Set("185.220.101.45", inteltest.GreyNoiseRecord{Noise: true, Classification: "malicious", LastSeen: "2026-11-21"})
	k.gn.Set("8.8.8.8", inteltest.GreyNoiseRecord{RIOT: true, Classification: "benign", Name: "Google Public DNS", LastSeen: "2026-11-21"})
	k.gn.Set("1.1.1.1", inteltest.GreyNoiseRecord{RIOT: true, Classification: "benign", Name: "Cloudflare Public DNS", LastSeen: "2026-11-21"})
	k.idb.Set("185.220.101.45", inteltest.InternetDBHost{Ports: []int{22, 443, 9001}, Tags: []string{"tor"}, Vulns: []string{"CVE-2023-38408"}})
	k.idb.Set("8.8.8.8", inteltest.InternetDBHost{Ports: []int{53, 443}, Hostnames: []string{"dns.google"}, CPEs: []string{"cpe:/a:isc:bind"}})

	feeds := filepath.Join(t.TempDir(), "feeds")
	require.NoError(t, os.MkdirAll(feeds, 0o755))
	// An over-broad feed that lists 8.8.8.8 beside a real C2 address.
	require.NoError(t, os.WriteFile(filepath.Join(feeds, "c2-ips.txt"), []byte("# category: c2\n45.9.148.7\n8.8.8.8\n"), 0o644))
	alerts := writeFile(t, "alerts.ndjson", strings.Join([]string{
		`{"id":"N-1","dst_ip":"185.220.101.45","query":"login.evil-new.top","referrer":"https://www.evil-new.top/a"}`,
		`{"id":"N-2","dns_server":"8.8.8.8","c2":"45.9.148.7","msg":"beacon"}`,
		`{"id":"N-3","dst_ip":"1.1.1.1","msg":"DNS query","severity":"medium"}`,
		`{"id":"N-4","query":"quiet-registry.top"}`,
		`{"id":"N-5","query":"old-brand.com"}`,
	}, "\n")+"\n")
	bl := filepath.Join(out, "block.txt")
	res := run(t, "", "classify", "--feeds", feeds, "-o", out, "--output-name", "n", "-f", "json,txt,html,md",
		"--export-blocklist", bl, "--blocklist-min", "SUSPICIOUS", alerts)
	require.Equal(t, 0, res.code, res.stderr)
	rep := readReport(t, filepath.Join(out, "n.json"))
	alert := func(id string) *model.Alert {
		for _, a := range rep.Alerts {
			if a.ID == id {
				return a
			}
		}
		t.Fatalf("no alert %s", id)
		return nil
	}

	// RDAP: one request for evil-new.top and its two subdomains; the age
	// is counted on the run's clock; the factor names the date.
	assert.Equal(t, []string{"evil-new.top", "old-brand.com", "quiet-registry.top"}, sorted(k.reg.Domains()), "registrable domains only, each once")
	assert.Len(t, k.boot.Requests(), 1)
	n1 := alert("N-1")
	assert.Contains(t, n1.Risk.Factors, "domain login.evil-new.top: registered 2026-11-18 (4 days ago) (+40)")
	assert.Contains(t, n1.Risk.Factors, "domain www.evil-new.top: registered 2026-11-18 (4 days ago) (+40)")
	assert.Equal(t, 80, n1.Risk.Score, "each domain is its own artifact (CONTRACT.md), as for VirusTotal: one request, two signals")
	r := n1.Enrichment["login.evil-new.top"]["rdap"]
	require.NotNil(t, r)
	assert.Equal(t, "2026-11-18T09:30:00Z", r.Attrs["registered"])
	assert.Equal(t, "NameSilo, LLC", r.Attrs["registrar"])
	assert.Equal(t, "evil-new.top", r.Attrs["registered_domain"])
	age, ok := r.Number("domain_age_days")
	assert.True(t, ok)
	assert.EqualValues(t, 4, age)
	assert.Equal(t, 4, rep.Summary.Providers["rdap"].Lookups, "four domains looked up")
	assert.Equal(t, 3, rep.Summary.Providers["rdap"].Requests, "three questions asked")
	quiet := alert("N-4")
	assert.Equal(t, "found", string(quiet.Enrichment["quiet-registry.top"]["rdap"].Status), "no registration event: found, age unknown")
	assert.Zero(t, quiet.Risk.Score)
	assert.Zero(t, alert("N-5").Risk.Score, "an old domain scores nothing")

	// GreyNoise: the label and RIOT; 0 points; the key went in its header.
	gn := n1.Enrichment["185.220.101.45"]["greynoise"]
	assert.Equal(t, "malicious", gn.Classification)
	assert.Equal(t, true, gn.Attrs["noise"])
	n2 := alert("N-2")
	assert.True(t, *n2.Enrichment["8.8.8.8"]["greynoise"].RIOT)
	for _, q := range k.gn.Requests() {
		assert.Equal(t, gnKey, q.Header.Get("key"))
	}
	// InternetDB: ports, tags, CVEs, host names; no points.
	idb := n1.Enrichment["185.220.101.45"]["internetdb"]
	assert.Equal(t, []string{"tor"}, idb.Tags)
	assert.Equal(t, []string{"dns.google"}, n2.Enrichment["8.8.8.8"]["internetdb"].Hostnames)
	assert.Equal(t, "not_found", string(alert("N-3").Enrichment["1.1.1.1"]["internetdb"].Status))

	// A RIOT address never reaches the blocklist, even when a feed lists it
	// in a MALICIOUS alert.
	assert.Equal(t, "MALICIOUS", string(n2.Risk.Verdict))
	b, err := os.ReadFile(bl)
	require.NoError(t, err)
	assert.Contains(t, string(b), "45.9.148.7\n")
	assert.NotContains(t, string(b), "8.8.8.8", "GreyNoise RIOT keeps it off")

	// The heuristic (no Gemini key) cites GreyNoise for the DNS alert.
	n3 := alert("N-3")
	require.NotNil(t, n3.Classification)
	assert.Equal(t, "FALSE_POSITIVE", n3.Classification.Label)
	assert.Contains(t, n3.Classification.Reasoning, "GreyNoise: 1.1.1.1 is Cloudflare Public DNS, a known benign service (RIOT).")

	// Every report shows the new sources' facts.
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(out, name))
		require.NoError(t, err)
		assert.NotContains(t, string(b), gnKey, "%s holds the GreyNoise key", name)
		return string(b)
	}
	txt, html, md := read("n.txt"), read("n.html"), read("n.md")
	assert.Contains(t, txt, "rdap: found - registered 2026-11-18 (4 days ago)")
	assert.Contains(t, txt, "greynoise: found - malicious, internet scanner")
	assert.Contains(t, txt, "internetdb: found - open ports 22, 443, 9001; 1 known CVE")
	assert.Contains(t, html, `<span class="tag t-bad">registered 2026-11-18 (4 days ago)</span>`)
	assert.Contains(t, html, `<span class="tag t-good">benign, known service (RIOT): Google Public DNS</span>`)
	assert.Contains(t, html, `<span class="tag">registration date unknown</span>`)
	assert.Contains(t, md, "registered 2026-11-18 (4 days ago) (+40)")
	assert.Contains(t, read("n.json"), `"greynoise":{"status":"found","classification":"malicious","riot":false,`)
	assert.NotContains(t, res.stderr, gnKey)

	// The rerun answers from the cache: no request anywhere, the same risk.
	before := len(k.reg.Requests()) + len(k.gn.Requests()) + len(k.idb.Requests()) + len(k.boot.Requests())
	res = run(t, "", "enrich", "--feeds", feeds, "-o", out, "--output-name", "n2", "-f", "json", alerts)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, before, len(k.reg.Requests())+len(k.gn.Requests())+len(k.idb.Requests())+len(k.boot.Requests()), "the bootstrap is cached too")
	assert.Equal(t, n1.Risk, readReport(t, filepath.Join(out, "n2.json")).Alerts[0].Risk)
}

// Cached registration dates age: a week later the same cached answer
// makes a domain 11 days old, and its factor says so.
func TestDomainAgeCountsOnTheRunsClock(t *testing.T) {
	_, out := sandbox(t)
	k := keylessFakes(t, true)
	k.reg.Set("evil-new.top", inteltest.RDAPDomain{Registered: today.AddDate(0, 0, -4)})
	alerts := writeFile(t, "a.ndjson", `{"id":"A","query":"evil-new.top"}`+"\n")
	res := run(t, "", "enrich", "-o", out, "--output-name", "d1", "-f", "json", alerts)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, []string{"domain evil-new.top: registered 2026-11-18 (4 days ago) (+40)"}, readReport(t, filepath.Join(out, "d1.json")).Alerts[0].Risk.Factors)

	t.Setenv("SOURCE_DATE_EPOCH", fmt.Sprint(today.AddDate(0, 0, 7).Unix()))
	res = run(t, "", "enrich", "-o", out, "--output-name", "d2", "-f", "json", alerts)
	require.Equal(t, 0, res.code, res.stderr)
	rep := readReport(t, filepath.Join(out, "d2.json"))
	assert.Len(t, k.reg.Requests(), 1, "answered from the cache")
	assert.True(t, rep.Alerts[0].Enrichment["evil-new.top"]["rdap"].Cached)
	assert.Equal(t, []string{"domain evil-new.top: registered 2026-11-18 (11 days ago) (+25)"}, rep.Alerts[0].Risk.Factors, "past 7 days: the 30-day rule")
}

// Each keyless source's rate and daily quota, on the fakes' own clocks.
func TestNewSourcesRateAndQuota(t *testing.T) {
	_, out := sandbox(t)
	k := keylessFakes(t, false) // GreyNoise keyless: its own small quota
	t.Setenv("VERDICT_INTERNETDB_RATE", "3/s")
	t.Setenv("VERDICT_RDAP_SERVER_RATE", "2/s")
	t.Setenv("VERDICT_RDAP_CONCURRENCY", "4")
	t.Setenv("VERDICT_INTERNETDB_CONCURRENCY", "4")
	t.Setenv("VERDICT_INTERNETDB_DAILY_QUOTA", "6")
	t.Setenv("VERDICT_RDAP_DAILY_QUOTA", "5")
	t.Setenv("VERDICT_GREYNOISE_RATE", "2/s")
	var lines []string
	for i := range 7 {
		lines = append(lines, fmt.Sprintf(`{"id":"R-%d","dst_ip":"185.77.0.%d","query":"www.dom-%d.top"}`, i, i+1, i))
	}
	alerts := writeFile(t, "rate.ndjson", strings.Join(lines, "\n")+"\n")
	res := run(t, "", "enrich", "-o", out, "--output-name", "q1", "-f", "json", alerts)
	require.Equal(t, 0, res.code, res.stderr)
	rep := readReport(t, filepath.Join(out, "q1.json"))

	// The windows allow 50 ms of scheduling jitter: the fakes stamp a
	// request when its handler starts, and on a busy machine the first one
	// (a new connection) can start late enough for the fifth after it to
	// land inside its second. 6/s or no limit at all still fails.
	window := time.Second - 50*time.Millisecond
	assert.Len(t, k.reg.Requests(), 5, "rdap.daily_quota")
	assert.Equal(t, 2, rep.Summary.Providers["rdap"].Skipped)
	assert.LessOrEqual(t, k.reg.MaxInWindow(window), 2, "more than server_rate requests to one RDAP server in a second")
	assert.Len(t, k.idb.Requests(), 6, "internetdb.daily_quota")
	assert.LessOrEqual(t, k.idb.MaxInWindow(window), 3, "more than 3 InternetDB requests in a second")
	assert.Equal(t, 1, rep.Summary.Providers["internetdb"].Skipped)
	assert.Len(t, k.gn.Requests(), 3, "without a key, GreyNoise gets its keyless quota of 3 a day")
	assert.Equal(t, 4, rep.Summary.Providers["greynoise"].Skipped)
	assert.LessOrEqual(t, k.gn.MaxInWindow(window), 2, "more than 2 GreyNoise requests in a second")
	assert.Contains(t, strings.Join(rep.Summary.Notes, "\n"), "greynoise: out of quota for this run (daily quota of 3 requests is spent for today (UTC))")
	for _, q := range k.gn.Requests() {
		_, sent := q.Header["Key"]
		assert.False(t, sent, "keyless: no key header at all")
	}

	// The quota holds across runs: new addresses, no GreyNoise request.
	lines = lines[:0]
	for i := range 3 {
		lines = append(lines, fmt.Sprintf(`{"id":"S-%d","dst_ip":"185.78.0.%d"}`, i, i+1))
	}
	res = run(t, "", "enrich", "-o", out, "--output-name", "q2", "-f", "json", writeFile(t, "more.ndjson", strings.Join(lines, "\n")+"\n"))
	require.Equal(t, 0, res.code, res.stderr)
	assert.Len(t, k.gn.Requests(), 3)
	assert.Equal(t, "quota_exhausted", readReport(t, filepath.Join(out, "q2.json")).Alerts[0].Enrichment["185.78.0.1"]["greynoise"].Reason)
}

// --offline sends nothing to any of them, the IANA bootstrap included.
func TestOfflineSendsNothingToNewSources(t *testing.T) {
	_, out := sandbox(t)
	k := keylessFakes(t, true)
	alerts := writeFile(t, "o.ndjson", `{"id":"O-1","dst_ip":"185.220.101.45","query":"login.evil-new.top"}`+"\n")
	for _, args := range [][]string{
		{"enrich", "--offline", "-o", out, "--output-name", "o", "-f", "json,txt", alerts},
		{"classify", "--offline", "-o", out, "--output-name", "c", "-f", "json", alerts},
		{"enrich", "--dry-run", alerts},
	} {
		res := run(t, "", args...)
		require.Equal(t, 0, res.code, res.stderr)
	}
	for name, s := range map[string]*inteltest.Server{"greynoise": k.gn.Server, "internetdb": k.idb.Server, "bootstrap": k.boot.Server, "registry": k.reg.Server} {
		assert.Empty(t, s.Requests(), "%s was contacted", name)
	}
	rep := readReport(t, filepath.Join(out, "o.json"))
	e := rep.Alerts[0].Enrichment
	for ioc, p := range map[string]string{"185.220.101.45": "greynoise", "login.evil-new.top": "rdap"} {
		assert.Equal(t, "skipped", string(e[ioc][p].Status))
		assert.Equal(t, "offline", e[ioc][p].Reason)
	}
	assert.Equal(t, "skipped", string(e["185.220.101.45"]["internetdb"].Status))
}

// <name>.enabled=false leaves a source out entirely: no request, no row.
func TestDisabledSourceIsLeftOut(t *testing.T) {
	_, out := sandbox(t)
	k := keylessFakes(t, true)
	t.Setenv("VERDICT_GREYNOISE_ENABLED", "false")
	alerts := writeFile(t, "d.ndjson", `{"id":"D-1","dst_ip":"185.220.101.45"}`+"\n")
	res := run(t, "", "enrich", "-o", out, "--output-name", "d", "-f", "json", alerts)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Empty(t, k.gn.Requests())
	rep := readReport(t, filepath.Join(out, "d.json"))
	assert.NotContains(t, rep.Alerts[0].Enrichment["185.220.101.45"], "greynoise")
	assert.NotContains(t, rep.Summary.Providers, "greynoise")
	assert.Contains(t, rep.Alerts[0].Enrichment["185.220.101.45"], "internetdb")
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
