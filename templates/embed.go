// Package templates holds the report templates compiled into the binary.
package templates

import "embed"

// FS holds every *.tmpl file, plus the stylesheet and script the HTML report
// inlines.
//
//go:embed *.tmpl *.css *.js
var FS embed.FS
