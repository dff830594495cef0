package root

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache/pgtest"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/interrupt"
	"github.com/verdict-dev/verdict/pkg/iostreams"
)

const (
	vtKey    = "vt-e2e-key-5f3c9a1b7d2e4f60a8b9c0d1e2f3a4b5"
	abuseKey = "abuse-e2e-key-9d8c7b6a5f4e3d2c1b0a99887766554433221100"
)

// TestMain lets a test start verdict as a separate process: the test binary
// itself, running Main with the arguments in VERDICT_TEST_CHILD_ARGS.
func TestMain(m *testing.M) {
	if args := os.Getenv("VERDICT_TEST_CHILD_ARGS"); args != "" {
		var argv []string
		if err := json.Unmarshal([]byte(args), &argv); err != nil {
			panic(err)
		}
		// As cmd/verdict's main does.
		ctx, sig := interrupt.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		go func() { os.Exit(sig.Second()) }()
		code := Main(ctx, argv, iostreams.System())
		sig.Stop()
		os.Exit(code)
	}
	// pgtest stops the PostgreSQL cluster the multi-host tests start.
	os.Exit(pgtest.Main(m))
}

// fakes starts both REST fakes and points verdict at them.
func fakes(t testing.TB) (*inteltest.VirusTotal, *inteltest.AbuseIPDB) {
	t.Helper()
	vt := inteltest.NewVirusTotal(t, vtKey)
	ab := inteltest.NewAbuseIPDB(t, abuseKey)
	t.Setenv("VIRUSTOTAL_API_KEY", vtKey)
	t.Setenv("ABUSEIPDB_API_KEY", abuseKey)
	t.Setenv("VERDICT_VIRUSTOTAL_BASE_URL", vt.BaseURL())
	t.Setenv("VERDICT_ABUSEIPDB_BASE_URL", ab.BaseURL())
	t.Setenv("VERDICT_VIRUSTOTAL_RATE", "0")
	t.Setenv("VERDICT_ABUSEIPDB_RATE", "0")
	t.Setenv("VERDICT_HTTP_TIMEOUT", "5s")
	return vt, ab
}

// alertsFile writes n alerts; alert i talks to public IP i, a shared domain
// and a private address, and repeats its IP in free text.
func alertsFile(t *testing.T, n, offset int) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		ip := fmt.Sprintf("185.%d.%d.%d", 10+offset, i/200, 1+i%200)
		fmt.Fprintf(&b, `{"id":"a%d","src_ip":"10.0.%d.%d","dst_ip":"%s","msg":"beacon to %s via c2.evil-%d.com","hash":"%032x"}`+"\n",
			i, i/250, 1+i%250, ip, ip, i%3, 0xabcdef00+i%5)
	}
	p := filepath.Join(t.TempDir(), "alerts.ndjson")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	return p
}

func TestLookupsThroughFakes(t *testing.T) {
	_, out := sandbox(t)
	vt, ab := fakes(t)
	vt.Set("185.10.0.1", inteltest.VTObject{Malicious: 15, Suspicious: 4})
	ab.Set("185.10.0.1", inteltest.AbuseIPDBRecord{Score: 100, IsTor: true})
	ab.Set("185.10.0.2", inteltest.AbuseIPDBRecord{Score: 50})
	vt.Set("c2.evil-0.com", inteltest.VTObject{Malicious: 2})
	file := alertsFile(t, 40, 0)

	res := run(t, "", "enrich", "-o", out, "--output-name", "r1", "-f", "json", file)
	require.Equal(t, 0, res.code, res.stderr)
	rep := readReport(t, filepath.Join(out, "r1.json"))

	// Each unique indicator once per provider; non-global addresses never.
	for _, s := range []*inteltest.Server{vt.Server, ab.Server} {
		seen := map[string]int{}
		for _, r := range s.Requests() {
			k := r.Path + "?" + r.Query.Get("ipAddress")
			seen[k]++
			assert.Equal(t, 1, seen[k], "asked twice: %s", k)
			value := r.Query.Get("ipAddress") + strings.TrimPrefix(r.Path, "/api/v3/ip_addresses/")
			assert.False(t, strings.HasPrefix(value, "10."), "a private address was sent: %s", k)
		}
	}
	// 40 IPs, 3 domains, 5 hashes to VirusTotal; 40 IPs to AbuseIPDB.
	assert.Equal(t, 48, len(vt.Requests()))
	assert.Equal(t, 40, len(ab.Requests()))
	assert.Equal(t, 48, rep.Summary.Providers["virustotal"].Lookups)
	assert.Equal(t, 48, rep.Summary.Providers["virustotal"].Requests)
	assert.Equal(t, 40, rep.Summary.Providers["abuseipdb"].Requests)

	first := rep.Alerts[0] // 185.10.0.1: VT 15, AbuseIPDB 100, domain c2.evil-0.com VT 2
	assert.Equal(t, 95, first.Risk.Score, "40 + 30 + 25")
	assert.Equal(t, "MALICIOUS", string(first.Risk.Verdict))
	assert.Contains(t, first.Risk.Factors, "IP 185.10.0.1: 15 VirusTotal malicious detections (+40)")
	e := first.Enrichment["185.10.0.1"]
	assert.Equal(t, 100, *e["abuseipdb"].AbuseConfidenceScore)
	assert.True(t, *e["abuseipdb"].IsTor)
	assert.Equal(t, "not_found", string(rep.Alerts[2].Enrichment["185.10.0.3"]["virustotal"].Status))
	assert.Equal(t, 15, rep.Alerts[1].Risk.Score, "AbuseIPDB 50 is +15")

	// The rerun makes zero requests: everything is in the cache.
	res = run(t, "", "enrich", "-o", out, "--output-name", "r2", "-f", "json", file)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, 48, len(vt.Requests()))
	assert.Equal(t, 40, len(ab.Requests()))
	rep2 := readReport(t, filepath.Join(out, "r2.json"))
	assert.Equal(t, 48, rep2.Summary.Providers["virustotal"].CacheHits)
	assert.Zero(t, rep2.Summary.Providers["virustotal"].Requests)
	assert.Equal(t, first.Risk, rep2.Alerts[0].Risk)

	// --no-cache asks again; --refresh asks again and stores.
	res = run(t, "", "enrich", "--no-cache", "-o", out, "-f", "json", file)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, 96, len(vt.Requests()))
}

func TestRateIsNeverExceeded(t *testing.T) {
	_, out := sandbox(t)
	vt, _ := fakes(t)
	t.Setenv("VERDICT_VIRUSTOTAL_RATE", "20/s")
	t.Setenv("VERDICT_VIRUSTOTAL_CONCURRENCY", "8")
	vt.Latency = 20 * time.Millisecond
	res := run(t, "", "enrich", "-o", out, "-f", "json", alertsFile(t, 42, 1))
	require.Equal(t, 0, res.code, res.stderr)
	require.Equal(t, 50, len(vt.Requests()))
	// Arrival times jitter on a loaded machine (a connection's first request
	// waits for its dial, later ones do not), so the window is 5% short of
	// a second; paced at 20/s, 19 requests fit in it, a limiter 10% too
	// fast would put 21.
	assert.LessOrEqual(t, vt.MaxInWindow(950*time.Millisecond), 20, "more than 20 requests in some second")
}

func TestFaultsNeverStopTheRun(t *testing.T) {
	_, out := sandbox(t)
	vt, ab := fakes(t)
	t.Setenv("VERDICT_HTTP_MAX_RETRIES", "2")
	t.Setenv("VERDICT_HTTP_RETRY_BACKOFF", "50ms")
	t.Setenv("VERDICT_HTTP_TIMEOUT", "500ms")
	for ip, f := range map[string]inteltest.Fault{
		"185.12.0.1": inteltest.Fault500, "185.12.0.2": inteltest.FaultHTML502, "185.12.0.3": inteltest.FaultGarbage,
		"185.12.0.4": inteltest.FaultFlaky, "185.12.0.5": inteltest.FaultSlow, "185.12.0.6": inteltest.Fault429Once,
	} {
		vt.SetFault(ip, f)
	}
	vt.SlowDelay = 2 * time.Second
	ab.SetFault("185.12.0.1", inteltest.Fault422)
	res := run(t, "", "enrich", "-o", out, "--output-name", "f", "-f", "json", alertsFile(t, 8, 2))
	require.Equal(t, 0, res.code, "failed lookups are not a failed run:\n%s", res.stderr)
	rep := readReport(t, filepath.Join(out, "f.json"))
	status := func(ip, p string) string {
		for _, a := range rep.Alerts {
			if r, ok := a.Enrichment[ip][p]; ok {
				return string(r.Status)
			}
		}
		return ""
	}
	assert.Equal(t, "error", status("185.12.0.1", "virustotal"))
	assert.Equal(t, 3, vt.Count("185.12.0.1"), "one try and two retries")
	assert.Equal(t, "error", status("185.12.0.2", "virustotal"))
	assert.Equal(t, "error", status("185.12.0.3", "virustotal"))
	assert.Equal(t, "not_found", status("185.12.0.4", "virustotal"), "flaky: succeeds on the third try")
	assert.Equal(t, "error", status("185.12.0.5", "virustotal"))
	assert.Equal(t, "not_found", status("185.12.0.6", "virustotal"), "a 429 with Retry-After: 1 is waited out, then answered")
	assert.Equal(t, "error", status("185.12.0.1", "abuseipdb"), "422")
	assert.Equal(t, "found", status("185.12.0.2", "abuseipdb"), "one provider's failure never stops another")
	assert.Equal(t, 4, rep.Summary.Providers["virustotal"].Errors)
	assert.Contains(t, res.stderr, "lookup failed")
}

func TestRejectedKeyNamesTheConfigKey(t *testing.T) {
	_, out := sandbox(t)
	fakes(t)
	t.Setenv("VIRUSTOTAL_API_KEY", "wrong-"+vtKey)
	res := run(t, "", "enrich", "-o", out, "--output-name", "k", "-f", "json,txt", alertsFile(t, 5, 3))
	require.Equal(t, 0, res.code, res.stderr)
	rep := readReport(t, filepath.Join(out, "k.json"))
	assert.Contains(t, strings.Join(rep.Summary.Notes, "\n"), "virustotal.api_key (VERDICT_VIRUSTOTAL_API_KEY)")
	assert.Contains(t, res.stderr, "virustotal.api_key")
	for _, f := range []string{"k.json", "k.txt"} {
		b, _ := os.ReadFile(filepath.Join(out, f))
		assert.NotContains(t, string(b), vtKey)
	}
	assert.NotContains(t, res.stderr, vtKey)
}

// A quota is counted across runs, and across processes sharing the cache.
func TestDailyQuotaAcrossRunsAndProcesses(t *testing.T) {
	_, out := sandbox(t)
	vt, _ := fakes(t)
	t.Setenv("VERDICT_ABUSEIPDB_API_KEY", "")
	t.Setenv("ABUSEIPDB_API_KEY", "")
	t.Setenv("VERDICT_VIRUSTOTAL_DAILY_QUOTA", "30")

	res := run(t, "", "enrich", "-o", out, "--output-name", "q1", "-f", "json", alertsFile(t, 12, 4)) // 12 IPs + 3 domains + 5 hashes = 20
	require.Equal(t, 0, res.code, res.stderr)
	require.Equal(t, 20, len(vt.Requests()))

	// Two processes at once, 20 new indicators each: only 10 requests remain.
	cacheDir := filepath.Join(os.Getenv("XDG_CACHE_HOME"), "verdict")
	var wg sync.WaitGroup
	outs := make([]string, 2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			file := alertsFile(t, 12, 5+i)
			outs[i] = child(t, []string{"enrich", "--cache-dir", cacheDir, "-o", out, "--output-name", fmt.Sprintf("p%d", i), "-f", "json", file})
		}()
	}
	wg.Wait()
	assert.Equal(t, 30, len(vt.Requests()), "the quota of 30 held across two concurrent processes:\n%s\n%s", outs[0], outs[1])
	skipped := 0
	for i := 0; i < 2; i++ {
		rep := readReport(t, filepath.Join(out, fmt.Sprintf("p%d.json", i)))
		skipped += rep.Summary.Providers["virustotal"].Skipped
		if rep.Summary.Providers["virustotal"].Skipped > 0 {
			assert.Contains(t, strings.Join(rep.Summary.Notes, " "), "quota")
		}
	}
	assert.Equal(t, 2*12-10, skipped, "two runs of 12 new addresses (domains and hashes are cached), 10 requests left")
}

// child runs verdict as a separate process and returns its combined output.
func child(t *testing.T, args []string) string {
	t.Helper()
	argv, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "VERDICT_TEST_CHILD_ARGS="+string(argv))
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
	return string(b)
}

// After a kill -9 mid-run the cache opens, and the rerun asks only about
// what was not answered before the kill (at most the lookups in flight).
func TestKill9KeepsCompletedLookups(t *testing.T) {
	_, out := sandbox(t)
	vt, _ := fakes(t)
	t.Setenv("ABUSEIPDB_API_KEY", "")
	t.Setenv("VERDICT_VIRUSTOTAL_RATE", "50/s")
	t.Setenv("VERDICT_VIRUSTOTAL_CONCURRENCY", "4")
	vt.Latency = 10 * time.Millisecond
	file := alertsFile(t, 150, 8)
	argv, _ := json.Marshal([]string{"enrich", "-o", out, "-f", "json", file})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "VERDICT_TEST_CHILD_ARGS="+string(argv))
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(20 * time.Second)
	for len(vt.Requests()) < 60 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	before := map[string]bool{}
	for _, r := range vt.Requests() {
		before[r.Path] = true
	}
	require.GreaterOrEqual(t, len(before), 60)
	require.Less(t, len(before), 158, "the kill came too late to test anything")

	res := run(t, "", "enrich", "-o", out, "-f", "json", file)
	require.Equal(t, 0, res.code, "the cache must open after a kill -9:\n%s", res.stderr)
	again := 0
	all := vt.Requests()
	for _, r := range all[len(before):] {
		if before[r.Path] {
			again++
		}
	}
	assert.LessOrEqual(t, again, 4+1, "only lookups in flight at the kill may be asked again")
	assert.Equal(t, 158, len(all)-again, "every indicator answered exactly once overall")
}

// The API keys appear in no report, log line, error or cache row.
func TestKeysNeverLeak(t *testing.T) {
	_, out := sandbox(t)
	vt, ab := fakes(t)
	// alertsFile(t, 6, 9) talks to 185.19.0.1 .. 185.19.0.6. Besides a 500
	// and a rejected key, servers echo the key back in a JSON error, an
	// HTML error page and a header.
	vt.SetFault("185.19.0.1", inteltest.Fault500)
	ab.SetFault("185.19.0.2", inteltest.Fault401)
	vt.SetFault("185.19.0.3", inteltest.FaultEchoKeyJSON)
	vt.SetFault("185.19.0.4", inteltest.FaultEchoKeyHTML)
	vt.SetFault("185.19.0.5", inteltest.FaultEchoKeyHeader)
	ab.SetFault("185.19.0.3", inteltest.FaultEchoKeyJSON)
	ab.SetFault("185.19.0.4", inteltest.FaultEchoKeyHTML)
	ab.SetFault("185.19.0.5", inteltest.FaultEchoKeyHeader)
	res := run(t, "", "-v", "enrich", "-o", out, "--output-name", "s", "-f", "json,txt,html,md,csv", alertsFile(t, 6, 9))
	require.Equal(t, 0, res.code, res.stderr)
	res2 := run(t, "", "--log-format", "json", "-v", "enrich", "--dry-run", alertsFile(t, 6, 10))
	require.Equal(t, 0, res2.code, res2.stderr)
	texts := map[string]string{"stderr": res.stderr + res2.stderr, "stdout": res.stdout}
	files, _ := filepath.Glob(filepath.Join(out, "s.*"))
	require.Len(t, files, 5)
	cacheFiles, _ := filepath.Glob(filepath.Join(os.Getenv("XDG_CACHE_HOME"), "verdict", "*"))
	require.NotEmpty(t, cacheFiles)
	for _, f := range append(files, cacheFiles...) {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		texts[f] = string(b)
	}
	for name, text := range texts {
		for _, k := range []string{vtKey, abuseKey} {
			assert.NotContains(t, text, k, "%s holds an API key", name)
		}
	}
	assert.Contains(t, res.stderr, "DEBUG", "debug logging was on, so the check covers it")
	assert.Contains(t, res.stderr, "[redacted]", "an echoed key was seen, and scrubbed")
}

func TestDryRunSendsNothing(t *testing.T) {
	_, _ = sandbox(t)
	vt, ab := fakes(t)
	t.Setenv("VERDICT_VIRUSTOTAL_RATE", "4/m")
	res := run(t, "", "enrich", "--dry-run", alertsFile(t, 20, 11))
	require.Equal(t, 0, res.code, res.stderr)
	assert.Empty(t, vt.Requests())
	assert.Empty(t, ab.Requests())
	sc := bufio.NewScanner(strings.NewReader(res.stderr))
	var vtLine string
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "virustotal") {
			vtLine = sc.Text()
		}
	}
	// 20 IPs + 3 domains + 5 hashes at 4/m: 27 gaps of 15 s (plus 1%) = 6m49s.
	assert.Contains(t, vtLine, "28")
	assert.Contains(t, vtLine, "500 of 500")
	assert.Contains(t, vtLine, "6m49s")
}

// Ctrl-C stops cleanly: exit 130, answers so far kept, and the rerun resumes.
func TestInterruptKeepsAnswersAndResumes(t *testing.T) {
	_, out := sandbox(t)
	vt, _ := fakes(t)
	t.Setenv("ABUSEIPDB_API_KEY", "")
	t.Setenv("VERDICT_VIRUSTOTAL_RATE", "40/s")
	file := alertsFile(t, 100, 12)
	argv, _ := json.Marshal([]string{"enrich", "-o", out, "-f", "json", file})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "VERDICT_TEST_CHILD_ARGS="+string(argv))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(20 * time.Second)
	for len(vt.Requests()) < 30 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	err := cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 130, ee.ExitCode(), "CONTRACT.md: 130 for SIGINT")
	assert.Contains(t, stderr.String(), "interrupted by SIGINT")
	first := len(vt.Requests())
	require.Less(t, first, 108, "interrupted too late to test anything")

	res := run(t, "", "enrich", "-o", out, "-f", "json", file)
	require.Equal(t, 0, res.code, res.stderr)
	total := len(vt.Requests())
	assert.GreaterOrEqual(t, total, 108)
	assert.LessOrEqual(t, total, 108+4, "the rerun asks only about the rest (and the lookups that were in flight)")
}
