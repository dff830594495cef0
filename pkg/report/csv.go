package report

import (
	"bufio"
	"encoding/csv"
	"io"
	"strconv"
	"strings"

	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/model"
)

// CSVHeader is the first row of the CSV report.
var CSVHeader = []string{
	"id", "risk_verdict", "score", "classification", "confidence", "top_factors",
	"iocs", "skipped_iocs", "ipv4", "ipv6", "domain", "url", "md5", "sha1", "sha256",
	"source_file", "source_record", "source_line",
}

// CSVWriter streams one row per alert, in report order.
type CSVWriter struct {
	buf *bufio.Writer
	w   *csv.Writer
}

// NewCSVWriter writes to w.
func NewCSVWriter(w io.Writer) *CSVWriter {
	b := bufio.NewWriterSize(w, 128<<10)
	return &CSVWriter{buf: b, w: csv.NewWriter(b)}
}

// Begin implements Sink.
func (c *CSVWriter) Begin(*model.Report) error { return c.w.Write(CSVHeader) }

// Alert implements Sink.
func (c *CSVWriter) Alert(a *model.Alert) error {
	label, conf := "", ""
	if a.Classification != nil {
		label, conf = token(a.Classification.Label), strconv.Itoa(a.Classification.Confidence)
	}
	// Cells are clipped (a spreadsheet cell holds 32,767 characters, and a
	// CSV row is for people); the JSON report keeps every byte.
	factors := a.Risk.Factors[:min(3, len(a.Risk.Factors))]
	defanged := make([]string, len(factors))
	for i, f := range factors {
		defanged[i] = shown(clip(f, csvCellLimit/4))
	}
	counts := map[string]int{}
	total, skipped := 0, 0
	for _, i := range a.IOCs {
		if i.Skipped != "" {
			skipped++
			continue
		}
		total++
		counts[i.Type]++
	}
	row := []string{
		shown(clip(a.ID, csvCellLimit)), token(string(a.Risk.Verdict)), strconv.Itoa(a.Risk.Score), label, conf, strings.Join(defanged, "; "),
		strconv.Itoa(total), strconv.Itoa(skipped),
	}
	for _, t := range ioc.AllTypes {
		row = append(row, strconv.Itoa(counts[string(t)]))
	}
	row = append(row, shown(clip(a.Source.File, csvCellLimit)), strconv.Itoa(a.Source.Record), strconv.Itoa(a.Source.Line))
	for i := range row {
		row[i] = csvSafe(row[i])
	}
	return c.w.Write(row)
}

// End implements Sink.
func (c *CSVWriter) End(*model.Report) error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return err
	}
	return c.buf.Flush()
}

// csvSafe neutralises spreadsheet formula injection (OWASP "CSV
// injection"): a cell starting with = + - @, a tab or a carriage return is
// prefixed with a single quote so Excel, LibreOffice and Sheets show it as
// text. Plain negative numbers are left alone.
func csvSafe(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '@', '\t', '\r':
		return "'" + s
	case '-':
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return s
		}
		return "'" + s
	}
	return s
}
