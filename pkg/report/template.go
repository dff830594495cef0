package report

import (
	"fmt"
	htmltemplate "html/template"
	"io"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"

	"github.com/Masterminds/sprig/v3"

	"github.com/verdict-dev/verdict/pkg/model"
)

// UserTemplate is a --template file: html/template when its name says HTML
// (.html, .htm, with or without .tmpl), text/template otherwise. Both get
// sprig's hermetic functions (no env, no clock, no randomness) plus
// defang, defangText, sanitize, markdown and csvSafe.
type UserTemplate struct {
	Path   string
	Suffix string // the output file's extension: "summary.html" for summary.html.tmpl
	html   *htmltemplate.Template
	text   *texttemplate.Template
}

// LoadTemplate parses a user template.
func LoadTemplate(path string) (*UserTemplate, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	base := filepath.Base(path)
	suffix := base
	for _, ext := range []string{".tmpl", ".tpl", ".gotmpl", ".gotxt"} {
		suffix = strings.TrimSuffix(suffix, ext)
	}
	if suffix == "" {
		suffix = "out"
	}
	ut := &UserTemplate{Path: path, Suffix: suffix}
	ext := strings.ToLower(filepath.Ext(suffix))
	if ext == ".html" || ext == ".htm" {
		t, err := htmltemplate.New(base).Funcs(sprig.HermeticHtmlFuncMap()).Funcs(userFuncs).Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", path, err)
		}
		ut.html = t
	} else {
		t, err := texttemplate.New(base).Funcs(sprig.HermeticTxtFuncMap()).Funcs(userFuncs).Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", path, err)
		}
		ut.text = t
	}
	return ut, nil
}

// IsHTML reports whether the template is escaped as HTML.
func (u *UserTemplate) IsHTML() bool { return u.html != nil }

// Execute renders the template over the whole report.
func (u *UserTemplate) Execute(w io.Writer, r *model.Report) error {
	if u.html != nil {
		return u.html.Execute(w, r)
	}
	return u.text.Execute(w, r)
}
