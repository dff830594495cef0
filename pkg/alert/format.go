package alert

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Format is an input format. The zero value, FormatAuto, means "detect".
type Format string

// The input formats.
const (
	FormatAuto   Format = ""
	FormatJSON   Format = "json"
	FormatNDJSON Format = "ndjson"
	FormatCSV    Format = "csv"
)

// AllFormats lists the formats a user may force, for flag help and validation.
var AllFormats = []Format{FormatJSON, FormatNDJSON, FormatCSV}

// String returns the format name, "auto" for FormatAuto.
func (f Format) String() string {
	if f == FormatAuto {
		return "auto"
	}
	return string(f)
}

// ParseFormat parses a --input-format value: "", "auto", "json", "ndjson"
// (or "jsonl") and "csv", case-insensitively.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return FormatAuto, nil
	case "json":
		return FormatJSON, nil
	case "ndjson", "jsonl":
		return FormatNDJSON, nil
	case "csv":
		return FormatCSV, nil
	}
	return FormatAuto, fmt.Errorf("unknown input format %q (allowed: auto, json, ndjson, jsonl, csv)", s)
}

// formatFromExt maps a file extension to a format, FormatAuto when the
// extension says nothing (".json" can be an array, an object or NDJSON).
func formatFromExt(path string) (Format, rune) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return FormatCSV, ','
	case ".tsv":
		return FormatCSV, '\t'
	case ".ndjson", ".jsonl", ".ldjson":
		return FormatNDJSON, 0
	}
	return FormatAuto, 0
}

// Sniff detects the format of the file at path: by extension (.csv, .tsv,
// .ndjson, .jsonl, .ldjson), otherwise by content after an optional UTF-8 BOM
// and whitespace: '[' is JSON; '{' is NDJSON when the first value ends on its
// first line and more non-whitespace follows, else a JSON document; anything
// else is CSV when the first line has a comma or tab. An empty file is a
// *FileError wrapping ErrEmpty, an unknown one a *FileError wrapping ErrFormat.
func Sniff(path string) (Format, error) {
	if f, _ := formatFromExt(path); f != FormatAuto {
		return f, nil
	}
	file, err := os.Open(path)
	if err != nil {
		return FormatAuto, &FileError{File: path, Err: err}
	}
	defer file.Close()
	sc := scanner{br: bufio.NewReaderSize(file, readBufSize), line: 1}
	f, _, err := sniffContent(&sc, DefaultMaxRecordBytes)
	if err != nil {
		return FormatAuto, &FileError{File: path, Err: err}
	}
	return f, nil
}

// sniffContent detects the format from the start of the input and the CSV
// delimiter that goes with it. It consumes input; callers seek back after.
func sniffContent(sc *scanner, maxRecord int) (Format, rune, error) {
	sc.skipBOM()
	c, ok := sc.skipSpace()
	if !ok {
		if sc.err != nil {
			return FormatAuto, 0, sc.err
		}
		return FormatAuto, 0, ErrEmpty
	}
	switch c {
	case '[':
		return FormatJSON, 0, nil
	case '{':
		// One value per line is NDJSON; a value spanning lines (or a lone
		// one-line object) is a JSON document. A first line longer than a
		// record may be cannot be an NDJSON record, so the scan is bounded.
		if sc.valueEndsOnLine(maxRecord) {
			if _, more := sc.skipSpace(); more {
				return FormatNDJSON, 0, nil
			}
		}
		if sc.err != nil {
			return FormatAuto, 0, sc.err
		}
		return FormatJSON, 0, nil
	}
	line := sc.firstLine(64 << 10)
	if sc.err != nil {
		return FormatAuto, 0, sc.err
	}
	if bytes.IndexByte(line, 0) < 0 && bytes.ContainsAny(line, ",\t") {
		return FormatCSV, commaFor(line), nil
	}
	return FormatAuto, 0, ErrFormat
}

// commaFor picks the CSV delimiter from a header line: tab when it has more
// tabs than commas.
func commaFor(line []byte) rune {
	if bytes.Count(line, []byte{'\t'}) > bytes.Count(line, []byte{','}) {
		return '\t'
	}
	return ','
}
