package report

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/verdict-dev/verdict/pkg/internal/testutil"
)

// TestHTMLStructureWithHostileInput parses the report rendered from the XSS
// corpus and checks what a browser would build from it: exactly our own
// style and script, no event-handler attribute, nothing that fetches.
func TestHTMLStructureWithHostileInput(t *testing.T) {
	t.Parallel()
	out, err := renderAll(xssReport(), FormatHTML)
	require.NoError(t, err)
	for _, p := range htmlProblems(out) {
		t.Error(p)
	}
	// The payloads are still there, as text a reader can see.
	assert.True(t, strings.Contains(out, "&lt;script&gt;window.__xss0=1&lt;/script&gt;"), "payload text is shown, escaped")
	if i := strings.Index(out, "http://tracker"); i >= 0 {
		t.Errorf("an IOC is shown undefanged: ...%s...", out[max(0, i-80):i+40])
	}
	testutil.Golden(t, *update, []byte(out))
}

// htmlProblems parses an HTML report and lists what a browser would build
// from it that it must not: any element but our own style and script, an
// event-handler attribute, anything that fetches, a CSP other than ours.
func htmlProblems(out string) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	z := html.NewTokenizer(strings.NewReader(out))
	tags := map[string]int{}
	var inScript, inStyle bool
	csp := ""
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			tags[tok.Data]++
			inScript, inStyle = tok.Data == "script", tok.Data == "style"
			if !allowedTags[tok.Data] {
				add("<%s> element in the report", tok.Data)
			}
			for _, a := range tok.Attr {
				k := strings.ToLower(a.Key)
				if tok.Data == "meta" && k == "content" && strings.Contains(a.Val, "default-src") {
					csp = a.Val
				}
				if strings.HasPrefix(k, "on") {
					add("event handler attribute %s=%q on <%s>", a.Key, a.Val, tok.Data)
				}
				switch k {
				case "src", "srcdoc", "action", "formaction", "data", "background", "poster", "srcset", "xlink:href", "ping":
					add("<%s %s=%q> would fetch or run something", tok.Data, a.Key, a.Val)
				case "href":
					if !(a.Val == "data:," && tok.Data == "link" || strings.HasPrefix(a.Val, "#alert-") && tok.Data == "a") {
						add("<%s href=%q>", tok.Data, a.Val)
					}
				case "style":
					add("inline style attribute on <%s>: blocked by the CSP, so it must not exist", tok.Data)
				case "http-equiv":
					if !strings.EqualFold(a.Val, "Content-Security-Policy") {
						add("<meta http-equiv=%q>", a.Val)
					}
				}
			}
		case html.TextToken:
			if inScript && string(tok.Data) != htmlJS {
				add("a script that is not ours, byte for byte (its CSP hash)")
			}
			if inStyle && string(tok.Data) != htmlCSS {
				add("a style that is not ours, byte for byte (its CSP hash)")
			}
		case html.EndTagToken:
			inScript, inStyle = false, false
		}
	}
	if tags["script"] != 1 || tags["style"] != 1 || tags["link"] != 1 || tags["meta"] != 5 {
		add("elements: %d script, %d style, %d link, %d meta; want 1, 1, 1 (the data: favicon), 5 (charset, CSP, viewport, referrer, generator)",
			tags["script"], tags["style"], tags["link"], tags["meta"])
	}
	want := "default-src 'none'; style-src " + htmlCSSSum + "; script-src " + htmlJSSum + "; img-src data:; base-uri 'none'; form-action 'none'"
	if csp != want {
		add("CSP %q, want %q", csp, want)
	}
	return problems
}

// allowedTags are the elements the report template itself writes.
var allowedTags = map[string]bool{}

func init() {
	for _, tag := range strings.Fields(`html head meta link title style body header h1 h2 h3 p code main section div span ul li
		figure svg text rect table thead tbody tr th td button label input select option a details summary strong pre footer script`) {
		allowedTags[tag] = true
	}
}

func TestHTMLReadableWithoutJavaScript(t *testing.T) {
	t.Parallel()
	out, err := renderAll(xssReport(), FormatHTML)
	require.NoError(t, err)
	// The sort/filter controls do nothing without JavaScript, so they start
	// hidden; the table and the <details> sections work on their own.
	assert.Contains(t, out, `<div class="controls" id="controls" hidden>`)
	assert.Contains(t, out, `<details class="alert"`)
	assert.Contains(t, out, `<table id="alerts"`)
}

func TestMarkdownAndTextWithHostileInput(t *testing.T) {
	t.Parallel()
	md, err := renderAll(xssReport(), FormatMarkdown)
	require.NoError(t, err)
	assert.NotContains(t, md, "<script")
	assert.NotContains(t, md, "<img")
	assert.NotContains(t, md, "](javascript", "no Markdown link survives escaping")
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Contains(line, "xss-") {
			assert.Equal(t, 7, strings.Count(line, " |")+boolInt(strings.HasPrefix(line, "| ")), "a payload broke a table row: %s", line)
		}
	}
	testutil.Golden(t, *update, []byte(md))

	txt, err := renderAll(xssReport(), FormatTXT)
	require.NoError(t, err)
	assert.NotContains(t, txt, "\u202e", "bidi overrides are shown escaped, never applied")
	assert.NotContains(t, txt, "\x00")
	assert.Contains(t, txt, `\u202e`)
	for _, line := range strings.Split(strings.TrimRight(txt, "\n"), "\n") {
		if line != "" {
			assert.True(t, strings.HasPrefix(line, "|") || strings.HasPrefix(line, "+"), "line outside the box: %q", line)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
