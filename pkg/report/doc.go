// Package report writes the JSON report (schema_version 1, CONTRACT.md, types
// in pkg/model) as a stream, reads it back, and renders every human format
// (txt, html, md, csv, user templates) from one view model.
package report
