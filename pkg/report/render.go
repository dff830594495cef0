package report

import (
	"bufio"
	"bytes"
	"context"
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

// wrap breaks s into lines of at most width columns, at spaces when it
// can. It is linear in s: each line measures only the characters it takes
// (plus one), never the rest of the string.
func wrap(s string, width int) []string {
	if width < 8 {
		width = 8
	}
	var lines []string
	for {
		cut, lastSpace, rest := fitWidth(s, width)
		if rest == "" {
			return append(lines, s)
		}
		if cut == 0 { // a single character wider than the line
			c, _, _, _ := uniseg.FirstGraphemeClusterInString(s, -1)
			cut = len(c)
		}
		if lastSpace > 0 {
			lines = append(lines, s[:lastSpace])
			s = s[lastSpace+1:]
		} else {
			lines = append(lines, s[:cut])
			s = s[cut:]
		}
	}
}

// fitWidth measures the start of s that fits in width columns: its length
// in bytes, the byte index of its last space worth breaking at (past a
// third of the width, so that a line is never mostly empty; 0 if none) and
// what is left after it ("" when s fits whole).
func fitWidth(s string, width int) (cut, lastSpace int, rest string) {
	w, state := 0, -1
	rest = s
	for rest != "" {
		cluster, r, cw, st := uniseg.FirstGraphemeClusterInString(rest, state)
		if w+cw > width {
			return cut, lastSpace, rest
		}
		if cluster == " " && cut > width/3 {
			lastSpace = cut
		}
		w += cw
		cut += len(cluster)
		rest, state = r, st
	}
	return cut, lastSpace, ""
}

func padRight(s string, width int) string {
	if w := uniseg.StringWidth(s); w < width {
		return s + strings.Repeat(" ", width-w)
	}
	return s
}

// truncWidth cuts s to width columns with an ellipsis. It reads no more of
// s than the columns it keeps.
func truncWidth(width int, s string) string {
	cut, _, rest := fitWidth(s, width)
	if rest == "" {
		return s
	}
	cut, _, _ = fitWidth(s, max(width-3, 0))
	return s[:cut] + "..."
}

// verdictLine lists counts as "NAME n | NAME n", starting a new line
// (for kv to indent) rather than splitting a name from its count.
func verdictLine(cs []Count) string {
	const width = boxWidth - 12 // what kv leaves for the value
	var b strings.Builder
	col := 0
	for i, c := range cs {
		part := c.Name + " " + itoa(c.Count)
		switch {
		case i == 0:
		case col+3+len(part) > width:
			b.WriteString("\n")
			col = 0
		default:
			b.WriteString(" | ")
			col += 3
		}
		b.WriteString(part)
		col += len(part)
	}
	return b.String()
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

func renderTXT(ctx context.Context, w io.Writer, v *View) error {
	return renderText(ctx, w, txtTemplate, v)
}

func renderMarkdown(ctx context.Context, w io.Writer, v *View) error {
	return renderText(ctx, w, mdTemplate, v)
}

// renderText executes a text template, streaming, so that its output
// starts with content and ends with exactly one newline.
func renderText(ctx context.Context, w io.Writer, t *texttemplate.Template, v *View) error {
	bw := bufio.NewWriterSize(ctxWriter{ctx: ctx, w: w}, 64<<10)
	tw := &trimWriter{w: bw}
	if err := t.Execute(tw, v); err != nil {
		return err
	}
	if tw.last != '\n' {
		if _, err := bw.WriteString("\n"); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// trimWriter drops the newlines a template writes before its first content
// and remembers the last byte written.
type trimWriter struct {
	w       io.Writer
	started bool
	last    byte
}

func (t *trimWriter) Write(p []byte) (int, error) {
	n := len(p)
	if n == 0 {
		return 0, nil
	}
	if !t.started {
		p = bytes.TrimLeft(p, "\n")
		if len(p) == 0 {
			return n, nil
		}
		t.started = true
	}
	t.last = p[len(p)-1]
	if _, err := t.w.Write(p); err != nil {
		return 0, err
	}
	return n, nil
}

// htmlPage is what the HTML template sees: the view plus the inline assets
// and their CSP hashes.
type htmlPage struct {
	*View
	CSS htmltemplate.CSS
	JS  htmltemplate.JS
	CSP string
}

func renderHTML(ctx context.Context, w io.Writer, v *View) error {
	page := htmlPage{
		View: v,
		CSS:  htmltemplate.CSS(htmlCSS),
		JS:   htmltemplate.JS(htmlJS),
		// Nothing may be fetched: no default source at all; only our own
		// inline style and script, pinned by hash; no forms, no base URL.
		CSP: "default-src 'none'; style-src " + htmlCSSSum + "; script-src " + htmlJSSum +
			"; img-src data:; base-uri 'none'; form-action 'none'",
	}
	bw := bufio.NewWriterSize(ctxWriter{ctx: ctx, w: w}, 64<<10)
	if err := htmlTemplate.Execute(bw, page); err != nil {
		return err
	}
	return bw.Flush()
}
