package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/model"
)

// uncheckedReport has one alert of each verdict, UNCHECKED twice: alerts
// with indicators that no source answered for.
func uncheckedReport() *model.Report {
	rep := &model.Report{SchemaVersion: 1, Tool: model.Tool{Name: "verdict", Version: "test"}, GeneratedAt: "2026-11-22T00:00:00Z", Inputs: []string{"a.json"}}
	for i, v := range []struct {
		verdict model.Verdict
		score   int
	}{{model.Clean, 5}, {model.Unchecked, 0}, {model.Malicious, 90}, {model.PotentiallySuspicious, 15}, {model.Unchecked, 0}, {model.Suspicious, 40}} {
		raw, _ := json.Marshal(map[string]string{"msg": fmt.Sprintf("alert %d to 203.0.113.%d", i, i)})
		a := &model.Alert{
			ID: fmt.Sprintf("%s-%d", strings.ToLower(string(v.verdict)), i), Source: model.Source{File: "a.json", Record: i + 1}, Alert: raw,
			IOCs:       []model.IOC{{Type: "domain", Value: fmt.Sprintf("host%d.example.net", i), Fields: []string{"msg"}}},
			Enrichment: map[string]map[string]*model.Result{fmt.Sprintf("host%d.example.net", i): {"virustotal": {Status: model.StatusSkipped, Reason: "offline"}}},
			Risk:       model.Risk{Score: v.score, Verdict: v.verdict, Factors: []string{}},
		}
		rep.Alerts = append(rep.Alerts, a)
		rep.Summary.ByVerdict.Add(v.verdict)
	}
	rep.Summary.Alerts = len(rep.Alerts)
	return rep
}

func TestUncheckedInEveryFormat(t *testing.T) {
	t.Parallel()
	rep := uncheckedReport()
	vb := NewViewBuilder(ViewOptions{})
	require.NoError(t, vb.Begin(rep))
	for _, a := range rep.Alerts {
		require.NoError(t, vb.Alert(a))
	}
	require.NoError(t, vb.End(rep))
	v := vb.Build()

	t.Run("summary counts", func(t *testing.T) {
		require.Len(t, v.Verdicts, 5)
		assert.Equal(t, Count{Name: "UNCHECKED", Count: 2, Percent: 33}, v.Verdicts[4])
		assert.Equal(t, 2, v.Unchecked)
	})
	t.Run("rows: UNCHECKED above CLEAN, below every finding", func(t *testing.T) {
		var order []string
		for _, r := range v.Rows {
			order = append(order, r.Verdict)
		}
		assert.Equal(t, []string{"MALICIOUS", "SUSPICIOUS", "POTENTIALLY_SUSPICIOUS", "UNCHECKED", "UNCHECKED", "CLEAN"}, order)
	})
	t.Run("the score histogram holds only checked alerts", func(t *testing.T) {
		total := 0
		for _, b := range v.Histogram {
			total += b.Count
		}
		assert.Equal(t, 4, total)
		assert.Equal(t, 1, v.Histogram[0].Count, "the CLEAN alert with score 5, not the two UNCHECKED with 0")
	})
	render := func(f Format) string {
		var b strings.Builder
		require.NoError(t, RenderView(&b, f, v))
		return b.String()
	}
	t.Run("txt", func(t *testing.T) {
		out := render(FormatTXT)
		assert.Contains(t, out, "UNCHECKED 2")
		assert.Regexp(t, `\|   2    unchecked-1\s+UNCHECKED\s+0`, out)
	})
	t.Run("md", func(t *testing.T) {
		out := render(FormatMarkdown)
		assert.Contains(t, out, "| UNCHECKED | 2 | 33% |")
		assert.Contains(t, out, "| unchecked-1 | UNCHECKED | 0 |")
	})
	t.Run("html", func(t *testing.T) {
		out := render(FormatHTML)
		assert.Contains(t, out, `<div class="card UNCHECKED"><span class="n">2</span><span class="l">unchecked</span></div>`)
		assert.Contains(t, out, `<option value="UNCHECKED">UNCHECKED</option>`)
		assert.Contains(t, out, `<rect class="f-UNCHECKED"`)
		assert.Contains(t, out, `data-verdict="UNCHECKED"`)
		assert.Contains(t, out, `<span class="badge v-UNCHECKED">UNCHECKED</span>`)
		assert.Contains(t, out, "2 unchecked alerts have no score")
		assert.Contains(t, htmlCSS, ".v-UNCHECKED", "the stylesheet colours it")
	})
	t.Run("csv", func(t *testing.T) {
		var b strings.Builder
		w := NewCSVWriter(&b)
		require.NoError(t, w.Begin(rep))
		for _, a := range rep.Alerts {
			require.NoError(t, w.Alert(a))
		}
		require.NoError(t, w.End(rep))
		rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
		require.NoError(t, err)
		assert.Equal(t, "UNCHECKED", rows[2][1])
	})
}

// TestHTMLReportUncheckedInBrowser filters on UNCHECKED in Chromium.
func TestHTMLReportUncheckedInBrowser(t *testing.T) {
	path := writeHTML(t, uncheckedReport())
	p := openPage(t, path, true)
	p.checkQuiet(t, path)
	require.NoError(t, chromedp.Run(p.ctx, chromedp.Evaluate(
		`(() => { const e = document.getElementById('f-verdict'); e.value = 'UNCHECKED'; e.dispatchEvent(new Event('change')); })()`, nil)))
	var ids []string
	p.eval(t, `Array.from(document.querySelectorAll('#alerts tbody tr')).filter(r => !r.hidden).map(r => r.dataset.id)`, &ids)
	assert.Equal(t, []string{"unchecked-1", "unchecked-4"}, ids)
	var card string
	p.eval(t, `document.querySelector('.card.UNCHECKED .n').textContent`, &card)
	assert.Equal(t, "2", card)
	var colour string
	p.eval(t, `getComputedStyle(document.querySelector('.badge.v-UNCHECKED')).borderTopStyle`, &colour)
	assert.Equal(t, "dashed", colour, "the stylesheet (allowed by its CSP hash) applies")
	p.checkQuiet(t, path)
}

func TestMarkdownEscape(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain words", "plain words"},
		{"<img src=x>", "&lt;img src=x&gt;"},
		{"![a](b) [c](d)", `\!\[a\](b) \[c\](d)`},
		{"hxxp://evil[.]com", `hxxp\://evil\[.\]com`},
		{"www.evil.example WWW.X.Y", `www\.evil.example WWW\.X.Y`},
		{"user@corp.example", `user\@corp.example`},
		{"&lt; &#60;", `&amp;lt; &amp;\#60;`},
		{"a|b *c* _d_ `e` #f ~g~", `a\|b \*c\* \_d\_ \` + "`" + `e\` + "`" + ` \#f \~g\~`},
		{"line\nbreak\ttab\x1b", `line\\nbreak\\ttab\\u001b`},
		{"time 10:30 ok", "time 10:30 ok"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, markdownEscape(tt.in), "%q", tt.in)
		assert.Empty(t, markdownActive(markdownEscape(tt.in)), "%q", tt.in)
	}
}
