package root

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/attack"
	"github.com/verdict-dev/verdict/pkg/config"
	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/internal/testutil"
	"github.com/verdict-dev/verdict/pkg/iostreams"
	"github.com/verdict-dev/verdict/pkg/model"
	"github.com/verdict-dev/verdict/pkg/report"
)

var update = flag.Bool("update", false, "rewrite golden files")

// sandbox isolates a test from the user's environment: its own cache and
// config directories, no API keys, a fixed clock, and the repository root as
// working directory so sample paths are stable in reports.
func sandbox(t testing.TB) (root, out string) {
	t.Helper()
	for _, kv := range os.Environ() {
		// Unknown VERDICT_* variables are an error: start from none.
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "VERDICT_") && !strings.HasPrefix(name, "VERDICT_TEST_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	for _, k := range config.AllKeys() {
		t.Setenv(config.EnvName(k.Name), "")
		os.Unsetenv(config.EnvName(k.Name))
		for _, a := range k.Env {
			t.Setenv(a, "")
			os.Unsetenv(a)
		}
	}
	// Keyless providers need no key to reach the internet, and tests never
	// do: they are off unless a test points one at a fake (keylessFakes).
	for _, r := range intel.Registrations() {
		if !r.NeedsKey {
			t.Setenv(config.EnvName(r.Name+".enabled"), "false")
		}
	}
	tmp := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(tmp, "cache"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(tmp, "config"))
	t.Setenv("HOME", tmp)
	t.Setenv("SOURCE_DATE_EPOCH", "1795305600") // 2026-11-22T00:00:00Z
	root = testutil.RepoRoot(t)
	t.Chdir(root)
	return root, filepath.Join(tmp, "out")
}

type result struct {
	code   int
	stdout string
	stderr string
}

func run(t testing.TB, stdin string, args ...string) result {
	t.Helper()
	ios, in, out, errOut := iostreams.Test()
	in.WriteString(stdin)
	code := Main(context.Background(), args, ios)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func sampleAlerts(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("samples/alerts/*")
	require.NoError(t, err)
	sort.Strings(files)
	require.NotEmpty(t, files)
	return files
}

func readReport(t testing.TB, path string) *model.Report {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r, err := report.ReadAll(f)
	require.NoError(t, err)
	return r
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	return p
}

// The README's demo: bundled samples and feeds, offline, no keys.
func TestDemoOffline(t *testing.T) {
	_, out := sandbox(t)
	args := append([]string{"enrich", "--offline", "--feeds", "samples/feeds", "-o", out, "--output-name", "demo"}, sampleAlerts(t)...)
	res := run(t, "", args...)
	require.Equal(t, 0, res.code, res.stderr)
	for _, ext := range []string{"json", "txt", "html"} {
		assert.FileExists(t, filepath.Join(out, "demo."+ext))
	}
	rep := readReport(t, filepath.Join(out, "demo.json"))
	assert.Equal(t, 1, rep.SchemaVersion)
	assert.Equal(t, "verdict", rep.Tool.Name)
	assert.Equal(t, "2026-11-22T00:00:00Z", rep.GeneratedAt)
	bv := rep.Summary.ByVerdict
	assert.Positive(t, bv.Malicious, "the sample feeds drive MALICIOUS alerts")
	assert.Positive(t, bv.Suspicious)
	assert.Positive(t, bv.Clean)
	assert.Equal(t, rep.Summary.Alerts, bv.Malicious+bv.Suspicious+bv.PotentiallySuspicious+bv.Clean)
	assert.Len(t, rep.Alerts, rep.Summary.Alerts)
	assert.NotNil(t, rep.InputErrors)
	for _, p := range []string{"virustotal", "abuseipdb"} {
		if s, ok := rep.Summary.Providers[p]; ok {
			assert.Zero(t, s.Requests, "offline sends nothing to %s", p)
		}
	}
	// Terminal summary: most severe first, then the report paths.
	assert.Contains(t, res.stderr, "ALERT ID")
	assert.Less(t, strings.Index(res.stderr, "MALICIOUS  "), strings.Index(res.stderr, "CLEAN  "))
	assert.Contains(t, res.stderr, filepath.Join(out, "demo.html"))
	assert.Empty(t, res.stdout, "stdout carries only reports, and only with --stdout")
}

func TestEnrichGolden(t *testing.T) {
	_, out := sandbox(t)
	args := append([]string{"enrich", "--offline", "--no-cache", "--feeds", "samples/feeds", "-o", out, "--output-name", "golden", "-f", "json,txt,html,md,csv"}, sampleAlerts(t)...)
	res := run(t, "", args...)
	require.Equal(t, 0, res.code, res.stderr)
	for _, ext := range []string{"json", "txt", "html", "md", "csv"} {
		t.Run(ext, func(t *testing.T) {
			got, err := os.ReadFile(filepath.Join(out, "golden."+ext))
			require.NoError(t, err)
			testutil.Golden(t, *update, got)
		})
	}
}

// `verdict report` must write byte for byte what enrich wrote.
func TestReportRerenderIsByteIdentical(t *testing.T) {
	_, out := sandbox(t)
	args := append([]string{"enrich", "--offline", "--feeds", "samples/feeds", "-o", out, "--output-name", "r", "-f", "json,txt,html,md,csv"}, sampleAlerts(t)...)
	res := run(t, "", args...)
	require.Equal(t, 0, res.code, res.stderr)
	again := filepath.Join(t.TempDir(), "again")
	res = run(t, "", "report", filepath.Join(out, "r.json"), "-f", "json,txt,html,md,csv", "-o", again)
	require.Equal(t, 0, res.code, res.stderr)
	for _, ext := range []string{"json", "txt", "html", "md", "csv"} {
		want, err := os.ReadFile(filepath.Join(out, "r."+ext))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(again, "r."+ext))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want, got), "%s differs between enrich and report", ext)
	}
}

func TestExitCodesAndBadInput(t *testing.T) {
	big := `{"id":"big","msg":"` + strings.Repeat("A", 5<<20) + ` from 203.0.113.9"}` + "\n"
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		stdin      string
		files      map[string]string // name -> content, substituted for @name in args
		wantExit   int
		wantStderr []string
		check      func(t *testing.T, out string, res result)
	}{
		{name: "sad path: missing file", args: []string{"enrich", "--offline", "no/such/file.json"}, wantExit: 2, wantStderr: []string{"no/such/file.json", "no such file"}},
		{name: "sad path: no arguments", args: []string{"enrich"}, wantExit: 2, wantStderr: []string{"at least one alert file", "--help"}},
		{name: "sad path: unknown flag", args: []string{"enrich", "--bogus", "x"}, wantExit: 2, wantStderr: []string{"unknown flag: --bogus"}},
		{name: "sad path: unknown format", args: []string{"enrich", "-f", "pdf", "x"}, wantExit: 2, wantStderr: []string{`unknown format "pdf"`}},
		{name: "sad path: bad fail-on", args: []string{"enrich", "--fail-on", "EVIL", "x"}, wantExit: 2, wantStderr: []string{"--fail-on"}},
		{name: "sad path: unknown command", args: []string{"frobnicate"}, wantExit: 2},
		{name: "sad path: empty file", files: map[string]string{"empty.json": ""}, args: []string{"enrich", "--offline", "@empty.json"}, wantExit: 2, wantStderr: []string{"empty.json", "empty"}},
		{name: "sad path: nothing readable", files: map[string]string{"junk.ndjson": "not json\n{also not\n"}, args: []string{"enrich", "--offline", "@junk.ndjson"}, wantExit: 2,
			wantStderr: []string{"junk.ndjson", "record=1", "record=2", "not one record"}},
		{name: "happy path: a malformed record is reported and the run goes on",
			files: map[string]string{"mixed.ndjson": `{"id":"a","src":"8.8.8.8"}` + "\n" + `{"id":"b",:}` + "\n" + `{"note":"no id here"}` + "\n"},
			args:  []string{"enrich", "--offline", "@mixed.ndjson"}, wantExit: 0, wantStderr: []string{"mixed.ndjson", "record=2", "line=2"},
			check: func(t *testing.T, out string, res result) {
				rep := readReport(t, filepath.Join(out, "x.json"))
				assert.Equal(t, 2, rep.Summary.Alerts)
				require.Len(t, rep.InputErrors, 1)
				assert.Equal(t, 2, rep.InputErrors[0].Record)
				assert.Equal(t, 2, rep.InputErrors[0].Line)
				assert.Contains(t, rep.InputErrors[0].File, "mixed.ndjson")
				assert.Equal(t, "#3", rep.Alerts[1].ID)
			}},
		{name: "sad path: --strict makes a malformed record fatal",
			files: map[string]string{"mixed.ndjson": `{"id":"a"}` + "\n" + `{"id":"b",:}` + "\n"},
			args:  []string{"enrich", "--offline", "--strict", "@mixed.ndjson"}, wantExit: 2, wantStderr: []string{"--strict"}},
		{name: "sad path: truncated JSON array",
			files: map[string]string{"trunc.json": `[{"id":"a","ip":"8.8.8.8"},{"id":"b","ip":"9.9.9.9"`},
			args:  []string{"enrich", "--offline", "@trunc.json"}, wantExit: 0, wantStderr: []string{"trunc.json", "record=2"}},
		{name: "sad path: ragged CSV row",
			files: map[string]string{"rag.csv": "id,src,dst\n1,8.8.8.8,1.1.1.1\n2,9.9.9.9\n3,1.0.0.1,8.8.4.4\n"},
			args:  []string{"enrich", "--offline", "@rag.csv"}, wantExit: 0, wantStderr: []string{"rag.csv", "record=2", "line=3"},
			check: func(t *testing.T, out string, res result) {
				rep := readReport(t, filepath.Join(out, "x.json"))
				assert.Equal(t, 2, rep.Summary.Alerts)
				assert.Contains(t, rep.InputErrors[0].Reason, "fields")
			}},
		{name: "happy path: invalid UTF-8 is replaced, not an error",
			files: map[string]string{"utf.ndjson": "{\"id\":\"u\",\"msg\":\"bad \xff\xfe bytes from 8.8.8.8\"}\n"},
			args:  []string{"enrich", "--offline", "@utf.ndjson"}, wantExit: 0,
			check: func(t *testing.T, out string, res result) {
				rep := readReport(t, filepath.Join(out, "x.json"))
				require.Len(t, rep.Alerts, 1)
				assert.Contains(t, string(rep.Alerts[0].Alert), "\uFFFD")
				assert.Equal(t, "8.8.8.8", rep.Alerts[0].IOCs[0].Value)
			}},
		{name: "happy path: a 5 MB field", files: map[string]string{"big.ndjson": big}, args: []string{"enrich", "--offline", "-f", "json", "@big.ndjson"}, wantExit: 0,
			check: func(t *testing.T, out string, res result) {
				rep := readReport(t, filepath.Join(out, "x.json"))
				require.Len(t, rep.Alerts, 1)
				assert.Equal(t, "documentation", rep.Alerts[0].IOCs[0].Skipped)
			}},
		{name: "happy path: stdin to --stdout json", stdin: `{"alert_id":"S-1","dst":"8.8.8.8"}` + "\n", args: []string{"enrich", "--offline", "--stdout", "json", "-"}, wantExit: 0,
			check: func(t *testing.T, out string, res result) {
				rep, err := report.ReadAll(strings.NewReader(res.stdout))
				require.NoError(t, err)
				require.Len(t, rep.Alerts, 1)
				assert.Equal(t, "S-1", rep.Alerts[0].ID)
				assert.Equal(t, []string{"stdin"}, rep.Inputs)
				_, err = os.Stat(out)
				assert.True(t, os.IsNotExist(err), "--stdout writes no files")
			}},
		{name: "fail-on: MALICIOUS alert exits 3", args: []string{"enrich", "--offline", "--feeds", "samples/feeds", "--fail-on", "malicious", "samples/alerts/suricata-eve.ndjson"}, wantExit: 3,
			wantStderr: []string{"--fail-on MALICIOUS"}},
		{name: "fail-on: below the threshold exits 0", files: map[string]string{"calm.ndjson": `{"id":"calm","src":"10.0.0.1"}` + "\n"},
			args: []string{"enrich", "--offline", "--feeds", "samples/feeds", "--fail-on", "SUSPICIOUS", "@calm.ndjson"}, wantExit: 0},
		{name: "sad path: explicit config file missing", args: []string{"--config", "/no/such/verdict.yaml", "enrich", "x"}, wantExit: 2, wantStderr: []string{"/no/such/verdict.yaml"}},
		{name: "sad path: invalid config value", files: map[string]string{"bad.yaml": "virustotal:\n  rate: lots\n"}, args: []string{"--config", "@bad.yaml", "enrich", "--offline", "samples/alerts/suricata-eve.ndjson"}, wantExit: 2,
			wantStderr: []string{"virustotal"}},
		{name: "sad path: unknown config key names the key, the file and the nearest key", files: map[string]string{"typo.yaml": "feeds:\n  dir: samples/feeds\n"},
			args: []string{"--config", "@typo.yaml", "enrich", "--offline", "samples/alerts/suricata-eve.ndjson"}, wantExit: 2,
			wantStderr: []string{`unknown configuration key "feeds.dir"`, "typo.yaml", "did you mean feeds.dirs?"}},
		{name: "sad path: unknown VERDICT_ variable", env: map[string]string{"VERDICT_VIRUSTOTAL_RAET": "4/m"},
			args: []string{"enrich", "--offline", "samples/alerts/suricata-eve.ndjson"}, wantExit: 2,
			wantStderr: []string{"unknown environment variable VERDICT_VIRUSTOTAL_RAET; did you mean VERDICT_VIRUSTOTAL_RATE?"}},
		{name: "happy path: CI switches are not configuration", env: map[string]string{"VERDICT_REQUIRE_BROWSER": "1", "VERDICT_REQUIRE_POSTGRES": "1"},
			args: []string{"enrich", "--offline", "-f", "json", "samples/alerts/suricata-eve.ndjson"}, wantExit: 0},
		{name: "sad path: report of a non-report", files: map[string]string{"n.json": `[1,2]`}, args: []string{"report", "@n.json"}, wantExit: 2, wantStderr: []string{"not a verdict JSON report"}},
		{name: "happy path: version", args: []string{"version"}, wantExit: 0, check: func(t *testing.T, out string, res result) {
			assert.Contains(t, res.stdout, "verdict ")
			assert.Contains(t, res.stdout, "commit:")
			assert.Contains(t, res.stdout, "attack: MITRE ATT&CK® Enterprise v18.1. © 2025 The MITRE Corporation.", "the attribution MITRE's terms require")
		}},
		{name: "happy path: version as JSON", args: []string{"version", "--json"}, wantExit: 0, check: func(t *testing.T, out string, res result) {
			var v map[string]string
			require.NoError(t, json.Unmarshal([]byte(res.stdout), &v))
			assert.Equal(t, attack.Attribution(), v["attack"])
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, out := sandbox(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			dir := t.TempDir()
			args := []string{}
			for _, a := range tt.args {
				if strings.HasPrefix(a, "@") {
					p := filepath.Join(dir, a[1:])
					require.NoError(t, os.WriteFile(p, []byte(tt.files[a[1:]]), 0o644))
					a = p
				}
				args = append(args, a)
			}
			if len(args) > 0 && args[0] == "enrich" {
				args = append([]string{"enrich", "-o", out, "--output-name", "x"}, args[1:]...)
			}
			res := run(t, tt.stdin, args...)
			assert.Equal(t, tt.wantExit, res.code, "stderr:\n%s", res.stderr)
			for _, s := range tt.wantStderr {
				assert.Contains(t, res.stderr, s)
			}
			assert.NotContains(t, res.stderr, "panic")
			if tt.check != nil {
				tt.check(t, out, res)
			}
		})
	}
}

func TestBlocklistExport(t *testing.T) {
	_, out := sandbox(t)
	bl := filepath.Join(out, "block.txt")
	res := run(t, "", "enrich", "--offline", "--feeds", "samples/feeds", "-o", out, "-f", "json", "--export-blocklist", bl, "samples/alerts/suricata-eve.ndjson")
	require.Equal(t, 0, res.code, res.stderr)
	b, err := os.ReadFile(bl)
	require.NoError(t, err)
	body := string(b)
	// The default format is plain: values only, one per line.
	assert.Regexp(t, `^(\S+\n)+$`, body)
	assert.NotContains(t, body, "#")
	assert.Contains(t, body, "192.9.135.73\n")
	assert.Contains(t, body, "update-check.verdict-demo.int\n")
	assert.NotContains(t, body, "10.20.30.41", "private addresses never go on a blocklist")
	assert.NotContains(t, body, "93.184.216.34", "CLEAN alerts' indicators stay off")
}

// Enrichment JSON shape for a lookup that was skipped offline.
func TestOfflineProvidersAreSkippedNotErrors(t *testing.T) {
	_, out := sandbox(t)
	t.Setenv("VIRUSTOTAL_API_KEY", "k-should-never-leave")
	res := run(t, "", "enrich", "--offline", "-o", out, "--output-name", "o", "-f", "json", "samples/alerts/suricata-eve.ndjson")
	require.Equal(t, 0, res.code, res.stderr)
	raw, err := os.ReadFile(filepath.Join(out, "o.json"))
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "k-should-never-leave")
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	rep := readReport(t, filepath.Join(out, "o.json"))
	for _, a := range rep.Alerts {
		for _, byProvider := range a.Enrichment {
			if r, ok := byProvider["virustotal"]; ok {
				assert.Equal(t, "skipped", string(r.Status))
				assert.Equal(t, "offline", r.Reason)
			}
		}
	}
}

func TestCacheCommands(t *testing.T) {
	_, _ = sandbox(t)
	dir := t.TempDir()
	res := run(t, "", "cache", "stats", "--cache-dir", dir)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "entries: 0")
	res = run(t, "", "cache", "stats", "--json", "--cache-dir", dir)
	require.Equal(t, 0, res.code, res.stderr)
	var st map[string]any
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &st))
	assert.EqualValues(t, 0, st["entries"])
	res = run(t, "", "cache", "prune", "--older-than", "72h", "--cache-dir", dir)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "pruned 0 entries")
	res = run(t, "", "cache", "clear", "--cache-dir", dir)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "cleared 0 entries")
	// The cache directory also comes from the environment.
	t.Setenv("VERDICT_CACHE_DIR", dir)
	res = run(t, "", "cache", "stats")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, dir)
}

func TestSampleUserTemplate(t *testing.T) {
	_, out := sandbox(t)
	args := append([]string{"enrich", "--offline", "--no-cache", "--feeds", "samples/feeds", "-o", out, "--output-name", "tmpl", "-f", "json"}, sampleAlerts(t)...)
	res := run(t, "", args...)
	require.Equal(t, 0, res.code, res.stderr)
	res = run(t, "", "report", "--template", "samples/templates/slack.md.tmpl", "--stdout", "template", filepath.Join(out, "tmpl.json"))
	require.Equal(t, 0, res.code, res.stderr)
	assert.NotContains(t, res.stdout, "192.9.135.73", "the template defangs")
	testutil.Golden(t, *update, []byte(res.stdout))

	// Without --stdout the template's output is a file named after it.
	res = run(t, "", "report", "--template", "samples/templates/slack.md.tmpl", "-f", "md", "-o", out, filepath.Join(out, "tmpl.json"))
	require.Equal(t, 0, res.code, res.stderr)
	assert.FileExists(t, filepath.Join(out, "tmpl.slack.md"))
	assert.FileExists(t, filepath.Join(out, "tmpl.md"))

	// A template cannot read the environment or the clock (hermetic sprig).
	bad := writeFile(t, "env.txt.tmpl", `{{ env "HOME" }}`)
	res = run(t, "", "report", "--template", bad, "--stdout", "template", filepath.Join(out, "tmpl.json"))
	assert.Equal(t, 2, res.code)
	assert.Contains(t, res.stderr, `function "env" not defined`)
}

func TestReportStdoutMarkdownAndBlocklist(t *testing.T) {
	_, out := sandbox(t)
	res := run(t, "", "enrich", "--offline", "--feeds", "samples/feeds", "-o", out, "--output-name", "s", "-f", "json", "samples/alerts/suricata-eve.ndjson")
	require.Equal(t, 0, res.code, res.stderr)
	bl := filepath.Join(out, "from-report.txt")
	res = run(t, "", "report", "--stdout", "md", "--export-blocklist", bl, "--blocklist-min", "suspicious", "--blocklist-format", "annotated", filepath.Join(out, "s.json"))
	require.Equal(t, 0, res.code, res.stderr)
	assert.True(t, strings.HasPrefix(res.stdout, "## verdict: 5 alerts triaged"), res.stdout)
	b, err := os.ReadFile(bl)
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^# ipv4: listed in .*\n192\.9\.135\.73$`, string(b), "a SUSPICIOUS alert's IOC, with --blocklist-min suspicious")
	assert.Contains(t, string(b), "SUSPICIOUS or worse")
}
