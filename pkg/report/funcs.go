package report

import (
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"

	"github.com/verdict-dev/verdict/pkg/ioc"
)

var htmlFuncs = htmltemplate.FuncMap{
	"requests":      func(ps []ProviderRow) int { return sumProviders(ps, func(p ProviderRow) int { return p.Requests }) },
	"cacheHits":     func(ps []ProviderRow) int { return sumProviders(ps, func(p ProviderRow) int { return p.CacheHits }) },
	"maxCount":      maxCount,
	"barWidth":      barWidth,
	"bucketVerdict": bucketVerdict,
	"trunc":         truncWidth,
}

var mdFuncs = texttemplate.FuncMap{
	"md":         markdownEscape,
	"topRows":    func(r []*Row, n int) []*Row { return r[:min(n, len(r))] },
	"topDetails": func(d []*AlertView, n int) []*AlertView { return d[:min(n, len(d))] },
}

func sumProviders(ps []ProviderRow, f func(ProviderRow) int) int {
	n := 0
	for _, p := range ps {
		n += f(p)
	}
	return n
}

func maxCount(cs []Count) int {
	m := 0
	for _, c := range cs {
		m = max(m, c.Count)
	}
	return m
}

// barWidth scales n against max into [0, width], with a visible sliver for
// any non-zero count.
func barWidth(n, max, width int) int {
	if n <= 0 || max <= 0 {
		return 0
	}
	w := n * width / max
	if w < 2 {
		w = 2
	}
	return w
}

// bucketVerdict colours histogram bucket i (scores i*10..i*10+9) by the
// default bands.
func bucketVerdict(i int) string {
	switch {
	case i >= 7:
		return "MALICIOUS"
	case i >= 4:
		return "SUSPICIOUS"
	case i >= 1:
		return "POTENTIALLY_SUSPICIOUS"
	}
	return "CLEAN"
}

// markdownEscape makes attacker text inert in GitHub-flavoured Markdown,
// in a table cell or a list item: no HTML, no entity, no link or image, no
// emphasis or code, no table break, and no autolink. GFM turns bare
// "www.x", "scheme://x", "a@b.c" and "mailto:a@b.c" into links; a
// backslash before the '.' of "www.", the ':' of "://" and every '@'
// splits the text where GitHub's autolinker looks for them, and renders as
// the character itself.
// One pass, linear in s.
func markdownEscape(s string) string {
	s = SanitizeLine(s)
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\\', '`', '*', '_', '[', ']', '|', '#', '!', '~', '@':
			b.WriteByte('\\')
			b.WriteByte(c)
		case ':':
			if strings.HasPrefix(s[i+1:], "//") {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		case '.':
			if i >= 3 && strings.EqualFold(s[i-3:i], "www") {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		case '\n', '\r':
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// userFuncs are what --template files get besides sprig's hermetic maps.
var userFuncs = map[string]any{
	"defang":     func(typ, value string) string { return defang(typ, value) },
	"defangText": func(s string) string { return ioc.DefangText(s) },
	"sanitize":   Sanitize,
	"markdown":   markdownEscape,
	"csvSafe":    csvSafe,
}
