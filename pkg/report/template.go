package report

import (
	"bufio"
	"context"
	"fmt"
	htmltemplate "html/template"
	"io"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"
	"text/template/parse"

	"github.com/Masterminds/sprig/v3"

	"github.com/verdict-dev/verdict/pkg/model"
)

// UserTemplate is a --template file. Its output is HTML, and it is
// executed as html/template (contextual escaping of every value), when its
// name without the template extension ends in .html or .htm, or is just
// "html" or "htm" (so report.html.tmpl and html.tmpl); otherwise it is
// text/template. Both get sprig's hermetic functions (no env, no clock, no
// randomness) plus defang, defangText, sanitize, markdown and csvSafe.
//
// Its output is the user's own file, written beside the built-in reports
// and never instead of one: slack.md.tmpl writes NAME.slack.md, and a
// template named after a built-in format (html.tmpl, txt.tmpl, ...) writes
// NAME.template.html, NAME.template.txt, ...
type UserTemplate struct {
	Path   string
	Suffix string // the output file's extension: "slack.md" for slack.md.tmpl
	html   *htmltemplate.Template
	text   *texttemplate.Template
	// list says the template uses .Alerts as a list, not only ranging over
	// it (see alertsAsList): it gets the whole list, within
	// templateListMax, instead of the stream.
	list bool
}

// templateExts are the extensions a template file's name may end in.
var templateExts = []string{".tmpl", ".tpl", ".gotmpl", ".gotxt"}

// LoadTemplate parses a user template.
func LoadTemplate(path string) (*UserTemplate, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	base := filepath.Base(path)
	suffix := base
	for _, ext := range templateExts {
		if strings.HasSuffix(strings.ToLower(suffix), ext) {
			suffix = suffix[:len(suffix)-len(ext)]
		}
	}
	lower := strings.ToLower(suffix)
	isHTML := lower == "html" || lower == "htm" || strings.HasSuffix(lower, ".html") || strings.HasSuffix(lower, ".htm")
	switch {
	case suffix == "":
		suffix = "template"
	case isBuiltinExt(lower):
		suffix = "template." + suffix
	}
	ut := &UserTemplate{Path: path, Suffix: suffix}
	if isHTML {
		t, err := htmltemplate.New(base).Funcs(sprig.HermeticHtmlFuncMap()).Funcs(userFuncs).Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", path, err)
		}
		ut.html = t
		for _, x := range t.Templates() {
			ut.list = ut.list || alertsAsList([]*parse.Tree{x.Tree})
		}
	} else {
		t, err := texttemplate.New(base).Funcs(sprig.HermeticTxtFuncMap()).Funcs(userFuncs).Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", path, err)
		}
		ut.text = t
		for _, x := range t.Templates() {
			ut.list = ut.list || alertsAsList([]*parse.Tree{x.Tree})
		}
	}
	return ut, nil
}

// isBuiltinExt reports whether ext is a built-in report's extension (the
// comparison is case-insensitive: NAME.HTML is NAME.html on macOS and
// Windows).
func isBuiltinExt(ext string) bool {
	for _, f := range AllFormats {
		if ext == string(f) {
			return true
		}
	}
	return false
}

// IsHTML reports whether the template is escaped as HTML.
func (u *UserTemplate) IsHTML() bool { return u.html != nil }

// ListsAlerts reports whether the template uses .Alerts as a list (len,
// index, a range with an index variable, with, if, a variable or a function
// argument holding it) rather than only ranging over it. Such a template
// is given the whole report in memory, and refused for reports whose
// alerts take more than templateListMax; any other streams the alerts.
func (u *UserTemplate) ListsAlerts() bool { return u.list }

// Execute renders the template over a report held whole, stopping with
// ctx's error once ctx is done: .Alerts is the report's list.
func (u *UserTemplate) Execute(ctx context.Context, w io.Writer, r *model.Report) error {
	return u.execute(ctx, w, r)
}

// ExecuteData renders the template over d, whose Alerts is a stream,
// stopping with ctx's error once ctx is done. A template that ListsAlerts
// fails on it (a stream has no length, no index): give it Execute.
func (u *UserTemplate) ExecuteData(ctx context.Context, w io.Writer, d *TemplateData) error {
	return u.execute(ctx, w, d)
}

func (u *UserTemplate) execute(ctx context.Context, w io.Writer, data any) error {
	bw := bufio.NewWriterSize(ctxWriter{ctx: ctx, w: w}, 64<<10)
	var err error
	if u.html != nil {
		err = u.html.Execute(bw, data)
	} else {
		err = u.text.Execute(bw, data)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}
