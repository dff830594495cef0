// Package alert reads SIEM alert exports (JSON arrays, JSON wrapper objects,
// NDJSON and CSV) into records, one at a time and in bounded memory, and walks
// a record's values for IOC extraction and the alert id.
//
// Alert files are written by attackers and by broken exporters, so hostile
// input is the normal case: nothing here panics, and a malformed record comes
// back as a Record with Err set instead of being dropped.
package alert

import (
	"errors"
	"fmt"
)

// DefaultMaxRecordBytes is the size above which a record is reported as
// malformed instead of being read into memory.
const DefaultMaxRecordBytes = 64 << 20

// ErrEmpty means an input holds nothing but whitespace (or a byte-order mark).
var ErrEmpty = errors.New("file is empty")

// ErrFormat means an input is none of the supported formats.
var ErrFormat = errors.New("not a supported alert format (want a JSON array or object, NDJSON, or CSV with a header row)")

// Record is one alert read from an input, or a malformed record (Err != nil,
// Raw nil).
type Record struct {
	// File is the display name of the input, as given to Open.
	File string
	// Index is the 1-based record number within the file: CSV data rows from
	// 1, JSON array element number, NDJSON non-blank line number.
	Index int
	// Line is the 1-based line in the file where the record starts.
	Line int
	// Raw is the alert as a JSON object: valid JSON and valid UTF-8 (invalid
	// bytes replaced by U+FFFD). It is only valid until the next call to
	// Reader.Next; copy it to keep it.
	Raw []byte
	// HitID is the Elasticsearch hit "_id" when the alert came from
	// hits.hits[]._source.
	HitID string
	// Offset is where Raw starts in the file when Raw is the file's own
	// bytes, as written there (JSON and NDJSON records that needed no
	// UTF-8 repair), so that a caller can read the record again instead of
	// keeping a copy; -1 otherwise (CSV rows, repaired records, malformed
	// ones).
	Offset int64
	// Err describes why the record is malformed; nil for a good record.
	Err *RecordError
}

// RecordError describes one malformed record. Reading goes on after it.
type RecordError struct {
	File   string // display name of the input
	Record int    // 1-based record number, as Record.Index
	Line   int    // 1-based line where the record starts
	Reason string // what is wrong, e.g. "invalid JSON: ..."
}

// Error formats the error as `alerts.json: record 2 (line 2): reason`.
func (e *RecordError) Error() string {
	return fmt.Sprintf("%s: record %d (line %d): %s", e.File, e.Record, e.Line, e.Reason)
}

// FileError is a problem with a whole input: it cannot be opened, is empty,
// is not a supported format, or failed to read.
type FileError struct {
	File string // display name of the input
	Err  error
}

// Error formats the error as `alerts.json: file is empty`.
func (e *FileError) Error() string { return e.File + ": " + e.Err.Error() }

// Unwrap returns the underlying error, so errors.Is(err, ErrEmpty) works.
func (e *FileError) Unwrap() error { return e.Err }

// Options tune Open.
type Options struct {
	// Format forces the input format; FormatAuto detects it (see Sniff).
	Format Format
	// MaxRecordBytes bounds one record; 0 means DefaultMaxRecordBytes.
	MaxRecordBytes int
	// Unvalidated lets NDJSON records that start with '{' through without
	// the strict parse that proves them JSON, for a caller that parses
	// every record strictly anyway (triage walks each one on a worker) and
	// would otherwise pay for the parse twice, the first time on the one
	// goroutine that reads. Such a caller must treat a parse error as a
	// malformed record with the reason "invalid JSON: " + the error, which
	// is what the reader would have said. Records the reader takes apart
	// itself (Splunk envelopes) are still validated.
	Unvalidated bool
}

// sizeString prints a byte count the way the reasons in RecordError do.
func sizeString(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
