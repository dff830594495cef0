package report

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/internal/testutil"
	"github.com/verdict-dev/verdict/pkg/model"
)

// chromium finds a headless-capable Chromium. Without one the browser tests
// skip with a message, unless VERDICT_REQUIRE_BROWSER is set (CI installs
// Debian's chromium and sets it, so there they always run).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("VERDICT_REQUIRE_BROWSER") != "" {
		t.Fatal("VERDICT_REQUIRE_BROWSER is set but no chromium is installed (apt-get install chromium)")
	}
	t.Skip("no chromium found: the browser test needs Debian's chromium package (.ci/run installs it)")
	return ""
}

// page is a report opened in headless Chromium, with everything it tried
// to fetch and every console complaint recorded.
type page struct {
	ctx      context.Context
	mu       sync.Mutex
	requests []string
	problems []string
}

func openPage(t *testing.T, htmlPath string, scripts bool) *page {
	t.Helper()
	// Not t.TempDir: Chromium may still be writing its profile while the
	// test's own cleanup runs, so remove it after the browser is gone.
	profile, err := os.MkdirTemp("", "verdict-chromium-")
	require.NoError(t, err)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelT()
		cancelC()
		cancelA()
		for range 20 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	p := &page{ctx: ctx}
	chromedp.ListenTarget(ctx, func(ev any) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			p.requests = append(p.requests, ev.Request.URL)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError || ev.Type == runtime.APITypeWarning || ev.Type == runtime.APITypeAssert {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				p.problems = append(p.problems, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(parts, " ")))
			}
		case *runtime.EventExceptionThrown:
			p.problems = append(p.problems, "exception: "+ev.ExceptionDetails.Error())
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.LevelError || ev.Entry.Level == cdplog.LevelWarning {
				p.problems = append(p.problems, fmt.Sprintf("log %s/%s: %s", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text))
			}
		}
	})
	actions := []chromedp.Action{network.Enable(), cdplog.Enable(), runtime.Enable()}
	if !scripts {
		actions = append(actions, emulation.SetScriptExecutionDisabled(true))
	}
	actions = append(actions, chromedp.Navigate("file://"+htmlPath), chromedp.WaitReady("body"), chromedp.Sleep(300*time.Millisecond))
	require.NoError(t, chromedp.Run(ctx, actions...))
	return p
}

// checkQuiet asserts the page fetched nothing but itself and said nothing.
func (p *page) checkQuiet(t *testing.T, htmlPath string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, u := range p.requests {
		ok := u == "file://"+htmlPath || strings.HasPrefix(u, "data:")
		assert.True(t, ok, "the page tried to fetch %s", u)
	}
	assert.Empty(t, p.problems, "console errors or warnings")
}

func (p *page) eval(t *testing.T, js string, out any) {
	t.Helper()
	require.NoError(t, chromedp.Run(p.ctx, chromedp.Evaluate(js, out)))
}

func (p *page) scores(t *testing.T) []int {
	var s []int
	p.eval(t, `Array.from(document.querySelectorAll('#alerts tbody tr')).map(r => Number(r.dataset.score))`, &s)
	return s
}

func writeHTML(t *testing.T, rep *model.Report) string {
	t.Helper()
	out, err := renderAll(rep, FormatHTML)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "report.html")
	require.NoError(t, os.WriteFile(path, []byte(out), 0o644))
	return path
}

// TestHTMLReportInBrowser opens the report built from the XSS corpus in
// headless Chromium.
func TestHTMLReportInBrowser(t *testing.T) {
	path := writeHTML(t, xssReport())
	p := openPage(t, path, true)

	t.Run("no payload ran", func(t *testing.T) {
		var fired []string
		p.eval(t, `Object.keys(window).filter(k => k.startsWith('__xss'))`, &fired)
		assert.Empty(t, fired, "XSS sentinels set")
		var frames, injected int
		p.eval(t, `document.querySelectorAll('iframe, object, embed, img, base').length`, &frames)
		assert.Zero(t, frames)
		p.eval(t, `document.querySelectorAll('[onerror], [onload], [onfocus], [ontoggle], [onmouseover], [onbegin]').length`, &injected)
		assert.Zero(t, injected)
		var text string
		p.eval(t, `document.body.innerText`, &text)
		assert.Contains(t, text, "<script>window.__xss0=1</script>", "payloads are shown as text")
	})

	t.Run("nothing fetched, nothing complained", func(t *testing.T) { p.checkQuiet(t, path) })

	t.Run("script ran: controls shown", func(t *testing.T) {
		var hidden bool
		p.eval(t, `document.getElementById('controls').hidden`, &hidden)
		assert.False(t, hidden)
	})

	t.Run("sort", func(t *testing.T) {
		initial := p.scores(t)
		require.Len(t, initial, len(xssPayloads))
		assert.True(t, sort.SliceIsSorted(initial, func(i, j int) bool { return initial[i] > initial[j] }), "most severe first: %v", initial)
		require.NoError(t, chromedp.Run(p.ctx, chromedp.Click(`th[data-key="score"] button`, chromedp.ByQuery)))
		asc := p.scores(t)
		assert.True(t, sort.IntsAreSorted(asc), "ascending after a click: %v", asc)
		require.NoError(t, chromedp.Run(p.ctx, chromedp.Click(`th[data-key="score"] button`, chromedp.ByQuery)))
		desc := p.scores(t)
		assert.True(t, sort.SliceIsSorted(desc, func(i, j int) bool { return desc[i] > desc[j] }), "descending after a second click: %v", desc)
		var seq []int
		require.NoError(t, chromedp.Run(p.ctx, chromedp.Click(`th[data-key="seq"] button`, chromedp.ByQuery)))
		p.eval(t, `Array.from(document.querySelectorAll('#alerts tbody tr')).map(r => Number(r.dataset.seq))`, &seq)
		assert.True(t, sort.IntsAreSorted(seq), "by # ascending: %v", seq)
	})

	t.Run("filter", func(t *testing.T) {
		visible := func() (n int, verdicts []string) {
			p.eval(t, `Array.from(document.querySelectorAll('#alerts tbody tr')).filter(r => !r.hidden).map(r => r.dataset.verdict)`, &verdicts)
			return len(verdicts), verdicts
		}
		require.NoError(t, chromedp.Run(p.ctx, chromedp.SendKeys("#q", "xss-05", chromedp.ByID)))
		n, _ := visible()
		assert.Equal(t, 1, n, "free text")
		var shown string
		p.eval(t, `document.getElementById('shown').textContent`, &shown)
		assert.Equal(t, "1", shown)
		setAndFire := func(id, value string) {
			require.NoError(t, chromedp.Run(p.ctx, chromedp.Evaluate(fmt.Sprintf(
				`(() => { const e = document.getElementById(%q); e.value = %q; e.dispatchEvent(new Event('input')); e.dispatchEvent(new Event('change')); })()`, id, value), nil)))
		}
		setAndFire("q", "")
		setAndFire("f-verdict", "MALICIOUS")
		n, verdicts := visible()
		assert.Equal(t, xssReport().Summary.ByVerdict.Malicious, n, "verdict filter")
		for _, v := range verdicts {
			assert.Equal(t, "MALICIOUS", v)
		}
		setAndFire("f-class", "TRUE_POSITIVE")
		var both []string
		p.eval(t, `Array.from(document.querySelectorAll('#alerts tbody tr')).filter(r => !r.hidden).map(r => r.dataset.verdict + '/' + r.dataset.class)`, &both)
		assert.NotEmpty(t, both)
		for _, v := range both {
			assert.Equal(t, "MALICIOUS/TRUE_POSITIVE", v)
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		var png []byte
		require.NoError(t, chromedp.Run(p.ctx, chromedp.FullScreenshot(&png, 100)))
		shot := filepath.Join(t.TempDir(), "xss-report.png")
		require.NoError(t, os.WriteFile(shot, png, 0o644))
		assert.Greater(t, len(png), 10_000)
		t.Logf("screenshot: %s", shot)
	})

	t.Run("nothing fetched after interaction", func(t *testing.T) { p.checkQuiet(t, path) })
}

// TestHTMLReportWithoutJavaScript: the table and details read fine when
// scripts are off, and the dead controls stay hidden.
func TestHTMLReportWithoutJavaScript(t *testing.T) {
	path := writeHTML(t, xssReport())
	p := openPage(t, path, false)
	var hidden bool
	var rows, details int
	p.eval(t, `document.getElementById('controls').hidden`, &hidden)
	p.eval(t, `document.querySelectorAll('#alerts tbody tr').length`, &rows)
	p.eval(t, `document.querySelectorAll('details.alert').length`, &details)
	assert.True(t, hidden, "controls stay hidden without JavaScript")
	assert.Equal(t, len(xssPayloads), rows)
	assert.Equal(t, len(xssPayloads), details)
	p.checkQuiet(t, path)
}

// TestSampleReportScreenshot renders the committed sample report and, with
// -update, saves the screenshot the README shows.
func TestSampleReportScreenshot(t *testing.T) {
	root := testutil.RepoRoot(t)
	f, err := os.Open(filepath.Join(root, "reports", "example", "sample.json"))
	require.NoError(t, err)
	defer f.Close()
	rep, err := ReadAll(f)
	require.NoError(t, err)
	path := writeHTML(t, rep)
	p := openPage(t, path, true)
	p.checkQuiet(t, path)
	var png []byte
	require.NoError(t, chromedp.Run(p.ctx, chromedp.EmulateViewport(1280, 1000), chromedp.CaptureScreenshot(&png)))
	assert.Greater(t, len(png), 10_000)
	if *update {
		require.NoError(t, os.WriteFile(filepath.Join(root, "reports", "example", "sample.png"), png, 0o644))
	}
}
