package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	htmltemplate "html/template"
	"io"
	"strings"
	texttemplate "text/template"

	"github.com/Masterminds/sprig/v3"
	"github.com/rivo/uniseg"

	"github.com/verdict-dev/verdict/templates"
)

// boxWidth is the inner width of the TXT report's box (80 columns in all).
const boxWidth = 76

var txtTemplate = texttemplate.Must(texttemplate.New("txt.tmpl").
	Funcs(sprig.HermeticTxtFuncMap()).Funcs(txtFuncs).
	ParseFS(templates.FS, "txt.tmpl"))

var mdTemplate = texttemplate.Must(texttemplate.New("md.tmpl").
	Funcs(sprig.HermeticTxtFuncMap()).Funcs(mdFuncs).
	ParseFS(templates.FS, "md.tmpl"))

var htmlTemplate = htmltemplate.Must(htmltemplate.New("html.tmpl").
	Funcs(sprig.HermeticHtmlFuncMap()).Funcs(htmlFuncs).
	ParseFS(templates.FS, "html.tmpl"))

var (
	htmlCSS    = mustRead("report.css")
	htmlJS     = mustRead("report.js")
	htmlCSSSum = cspHash(htmlCSS)
	htmlJSSum  = cspHash(htmlJS)
)

func mustRead(name string) string {
	b, err := templates.FS.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time: cannot happen in a built binary
	}
	return string(b)
}

// cspHash is the Content-Security-Policy source for an inline element.
func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

var txtFuncs = texttemplate.FuncMap{
	"rule":        func(ch string) string { return "+" + strings.Repeat(ch, boxWidth+2) + "+" },
	"line":        func(s string) string { return boxLines("", "", s) },
	"kv":          kv,
	"wrapIndent":  boxLines,
	"trunc":       truncWidth,
	"verdictLine": verdictLine,
	"rawLines":    rawLines,
	"firstRows":   func(r []*Row, n int) []*Row { return r[:min(n, len(r))] },
}

// kv writes "Label     : value" in the box, wrapping under the value.
func kv(label, value string) string {
	head := "  "
	if label != "" {
		head = padRight(label, 10) + ": "
	} else {
		head = strings.Repeat(" ", 12)
	}
	return boxLines(head, strings.Repeat(" ", 12), value)
}

// boxLines wraps text into box lines: the first starts with first, the rest
// with cont; each is padded to the box width and framed.
func boxLines(first, cont, text string) string {
	var out []string
	prefix := first
	for _, para := range strings.Split(text, "\n") {
		for _, l := range wrap(para, boxWidth-uniseg.StringWidth(prefix)) {
			out = append(out, "| "+padRight(prefix+l, boxWidth)+" |")
			prefix = cont
		}
	}
	return strings.Join(out, "\n")
}

// wrap breaks s into lines of at most width columns, at spaces when it can.
func wrap(s string, width int) []string {
	if width < 8 {
		width = 8
	}
	if uniseg.StringWidth(s) <= width {
		return []string{s}
	}
	var lines []string
	for uniseg.StringWidth(s) > width {
		cut, w, lastSpace := 0, 0, -1
		for i, r := range s {
			rw := uniseg.StringWidth(string(r))
			if w+rw > width {
				break
			}
			w += rw
			cut = i + len(string(r))
			if r == ' ' {
				lastSpace = i
			}
		}
		if cut == 0 { // a single character wider than the line
			_, size := firstRune(s)
			cut = size
		}
		if lastSpace > width/3 {
			lines = append(lines, s[:lastSpace])
			s = s[lastSpace+1:]
		} else {
			lines = append(lines, s[:cut])
			s = s[cut:]
		}
	}
	return append(lines, s)
}

func firstRune(s string) (rune, int) {
	for _, r := range s {
		return r, len(string(r))
	}
	return 0, 0
}

func padRight(s string, width int) string {
	if w := uniseg.StringWidth(s); w < width {
		return s + strings.Repeat(" ", width-w)
	}
	return s
}

// truncWidth cuts s to width columns with an ellipsis.
func truncWidth(width int, s string) string {
	if uniseg.StringWidth(s) <= width {
		return s
	}
	var b strings.Builder
	w := 0
	for _, r := range s {
		rw := uniseg.StringWidth(string(r))
		if w+rw > width-3 {
			break
		}
		w += rw
		b.WriteRune(r)
	}
	return b.String() + "..."
}

func verdictLine(cs []Count) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Name + " " + itoa(c.Count)
	}
	return strings.Join(parts, " | ")
}

// rawLines splits a pretty-printed record, capped at max lines.
func rawLines(raw string, max int) []string {
	lines := strings.Split(raw, "\n")
	if len(lines) > max {
		n := len(lines) - max
		lines = append(lines[:max:max], "... "+itoa(n)+" more lines in the JSON report")
	}
	return lines
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

func renderTXT(w io.Writer, v *View) error { return renderText(w, txtTemplate, v) }

func renderMarkdown(w io.Writer, v *View) error { return renderText(w, mdTemplate, v) }

// renderText executes a text template and trims it to start with content
// and end with exactly one newline.
func renderText(w io.Writer, t *texttemplate.Template, v *View) error {
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return err
	}
	out := strings.TrimLeft(b.String(), "\n")
	if !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	_, err := io.WriteString(w, out)
	return err
}

// htmlPage is what the HTML template sees: the view plus the inline assets
// and their CSP hashes.
type htmlPage struct {
	*View
	CSS htmltemplate.CSS
	JS  htmltemplate.JS
	CSP string
}

func renderHTML(w io.Writer, v *View) error {
	page := htmlPage{
		View: v,
		CSS:  htmltemplate.CSS(htmlCSS),
		JS:   htmltemplate.JS(htmlJS),
		// Nothing may be fetched: no default source at all; only our own
		// inline style and script, pinned by hash; no forms, no base URL.
		CSP: "default-src 'none'; style-src " + htmlCSSSum + "; script-src " + htmlJSSum +
			"; img-src data:; base-uri 'none'; form-action 'none'",
	}
	return htmlTemplate.Execute(w, page)
}
