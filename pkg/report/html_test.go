package report

import (
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
			for _, a := range tok.Attr {
				k := strings.ToLower(a.Key)
				if tok.Data == "meta" && k == "content" && strings.Contains(a.Val, "default-src") {
					csp = a.Val
				}
				assert.False(t, strings.HasPrefix(k, "on"), "event handler attribute %s=%q on <%s>", a.Key, a.Val, tok.Data)
				switch k {
				case "src", "srcdoc", "action", "formaction", "data", "background", "poster":
					t.Errorf("<%s %s=%q> would fetch or run something", tok.Data, a.Key, a.Val)
				case "href":
					ok := a.Val == "data:," || strings.HasPrefix(a.Val, "#alert-")
					assert.True(t, ok, "<%s href=%q>", tok.Data, a.Val)
				case "style":
					t.Errorf("inline style attribute on <%s>: blocked by the CSP, so it must not exist", tok.Data)
				}
			}
		case html.TextToken:
			if inScript {
				assert.Equal(t, htmlJS, string(tok.Data), "the only script is ours, byte for byte (its CSP hash)")
			}
			if inStyle {
				assert.Equal(t, htmlCSS, string(tok.Data), "the only style is ours, byte for byte (its CSP hash)")
			}
		case html.EndTagToken:
			inScript, inStyle = false, false
		}
	}
	assert.Equal(t, 1, tags["script"], "one script element: ours")
	assert.Equal(t, 1, tags["style"], "one style element: ours")
	for _, bad := range []string{"iframe", "img", "object", "embed", "base", "form", "input type=image", "link rel=stylesheet", "animate"} {
		assert.Zero(t, tags[bad], "<%s> element in the report", bad)
	}
	assert.Equal(t, 1, tags["link"], "only the data: favicon")
	assert.Equal(t, 5, tags["meta"], "charset, CSP, viewport, referrer, generator: no refresh")
	// The payloads are still there, as text a reader can see.
	assert.True(t, strings.Contains(out, "&lt;script&gt;window.__xss0=1&lt;/script&gt;"), "payload text is shown, escaped")
	// The CSP allows nothing but our two inline elements, pinned by hash.
	assert.Equal(t, "default-src 'none'; style-src "+htmlCSSSum+"; script-src "+htmlJSSum+"; img-src data:; base-uri 'none'; form-action 'none'", csp,
		"the CSP allows nothing but our own inline style and script, pinned by hash")
	if i := strings.Index(out, "http://tracker"); i >= 0 {
		t.Errorf("an IOC is shown undefanged: ...%s...", out[max(0, i-80):i+40])
	}
	testutil.Golden(t, *update, []byte(out))
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
