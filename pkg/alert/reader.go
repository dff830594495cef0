package alert

import (
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"
	"unsafe"
)

// Reader reads the records of one input, one at a time, in memory bounded by
// the largest record rather than the file. It is not safe for concurrent use.
type Reader struct {
	f      *os.File
	name   string
	format Format
	comma  rune
	max    int
	lazy   bool // Options.Unvalidated

	sc      scanner
	index   int   // last record number handed out
	done    bool  // nothing more to read: Next returns io.EOF
	pending error // a *FileError found by Open, returned by the first Next

	capBuf []byte // captured JSON value, reused
	fixBuf []byte // UTF-8 repair output, reused

	// base holds the file's bytes from offset baseOff that the record being
	// made was cut from (a line, a captured value), for Record.Offset; nil
	// when the record is not the file's bytes.
	base    []byte
	baseOff int64

	js  jsonState
	nd  ndjsonState
	csv *csvState
}

// Open opens the input at path, which must be a regular, seekable file (the
// caller spools standard input to a temporary file first); name is the
// display name put in records and errors. Only a file that cannot be opened,
// or is not a regular file, fails here: an empty or unrecognised file comes
// back as a *FileError from the first call to Next, like every other whole-file
// problem.
func Open(path, name string, opts Options) (*Reader, error) {
	format, err := ParseFormat(string(opts.Format))
	if err != nil {
		return nil, &FileError{File: name, Err: err}
	}
	maxRec := opts.MaxRecordBytes
	if maxRec <= 0 {
		maxRec = DefaultMaxRecordBytes
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{File: name, Err: err}
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err != nil {
		f.Close()
		return nil, &FileError{File: name, Err: err}
	}
	r := &Reader{f: f, name: name, max: maxRec, lazy: opts.Unvalidated}
	r.sc.reset(f, 0, 1)

	// The extension decides when it can; the content is looked at anyway, to
	// find empty files and the CSV delimiter.
	extFormat, extComma := formatFromExt(path)
	if extFormat == FormatAuto && name != path {
		extFormat, extComma = formatFromExt(name)
	}
	if format == FormatAuto {
		format = extFormat
	}
	switch format {
	case FormatAuto:
		format, r.comma, err = sniffContent(&r.sc, maxRec)
	case FormatCSV:
		r.sc.skipBOM()
		if _, ok := r.sc.skipSpace(); !ok {
			err = ErrEmpty
		} else if r.comma = extComma; r.comma == 0 {
			r.comma = commaFor(r.sc.firstLine(64 << 10))
		}
	default:
		r.sc.skipBOM()
		if _, ok := r.sc.skipSpace(); !ok {
			err = ErrEmpty
		}
	}
	if err == nil {
		err = r.sc.err
	}
	r.format = format
	if err != nil {
		r.pending = &FileError{File: name, Err: err}
		return r, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		r.pending = &FileError{File: name, Err: fmt.Errorf("seek: %w", err)}
		return r, nil
	}
	if format == FormatCSV {
		r.csv = newCSVState(f, r.comma)
	} else {
		r.sc.reset(f, 0, 1)
		r.sc.skipBOM()
	}
	return r, nil
}

// Format returns the input's format, detected or forced; FormatAuto when it
// could not be detected.
func (r *Reader) Format() Format { return r.format }

// Next returns the next record. A malformed record comes back as a Record
// with Err set and a nil error, and reading goes on after it. Next returns a
// *FileError for a whole-file problem (empty file, unsupported format, read
// failure), and io.EOF after the last record or after a *FileError.
func (r *Reader) Next() (Record, error) {
	if r.pending != nil {
		err := r.pending
		r.pending, r.done = nil, true
		return Record{}, err
	}
	if r.done {
		return Record{}, io.EOF
	}
	if cap(r.capBuf) > 8<<20 {
		r.capBuf = nil // do not pin one huge record's buffer for the rest of the file
	}
	if cap(r.fixBuf) > 8<<20 {
		r.fixBuf = nil
	}
	var rec Record
	var err error
	r.base = nil
	switch r.format {
	case FormatNDJSON:
		rec, err = r.nextNDJSON()
	case FormatCSV:
		rec, err = r.nextCSV()
	default:
		rec, err = r.nextJSON()
	}
	rec.Offset = r.offsetOf(rec.Raw)
	r.base = nil
	if err != nil {
		r.done = true
		var fe *FileError
		switch {
		case err == io.EOF || errors.As(err, &fe):
		default:
			err = &FileError{File: r.name, Err: fmt.Errorf("read: %w", err)}
		}
		return Record{}, err
	}
	return rec, nil
}

// cutFrom records that the next record is cut from b, the file's bytes at
// offset off.
func (r *Reader) cutFrom(b []byte, off int64) { r.base, r.baseOff = b, off }

// offsetOf returns the file offset of raw when it lies within r.base, else
// -1. Trimming, unwrapping a Splunk envelope or an Elasticsearch hit only
// reslice: raw then still points into base.
func (r *Reader) offsetOf(raw []byte) int64 {
	if r.base == nil || len(raw) == 0 {
		return -1
	}
	b := uintptr(unsafe.Pointer(unsafe.SliceData(r.base)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(raw)))
	if p < b || p+uintptr(len(raw)) > b+uintptr(len(r.base)) {
		return -1
	}
	return r.baseOff + int64(p-b)
}

// Stat describes the open input file: after the last record, the file as
// it was read, for a caller that reads records again (Record.Offset) and
// wants to know whether the file changed in between.
func (r *Reader) Stat() (os.FileInfo, error) { return r.f.Stat() }

// Close closes the input file.
func (r *Reader) Close() error {
	r.done = true
	return r.f.Close()
}

// recordError returns the next record as a malformed one.
func (r *Reader) recordError(line int, reason string) Record {
	r.index++
	return Record{File: r.name, Index: r.index, Line: line,
		Err: &RecordError{File: r.name, Record: r.index, Line: line, Reason: reason}}
}

// tooLarge is the reason for a record over MaxRecordBytes.
func (r *Reader) tooLarge() string { return "record exceeds " + sizeString(r.max) }

// object turns captured bytes into the next record: a JSON object, repaired
// to valid UTF-8, or a malformed record saying why not.
func (r *Reader) object(raw []byte, line int, res capResult) Record {
	return r.objectChecked(raw, line, res, true)
}

// objectChecked is object; with check false, a record that starts with '{'
// is not parsed (Options.Unvalidated), unless it looks like a Splunk
// envelope, which the reader takes apart.
func (r *Reader) objectChecked(raw []byte, line int, res capResult, check bool) Record {
	switch res {
	case capEOF:
		return r.recordError(line, "invalid JSON: unexpected end of file (truncated record)")
	case capTooLarge:
		return r.recordError(line, r.tooLarge())
	}
	raw = trimSpace(raw)
	if !utf8.Valid(raw) {
		r.fixBuf = appendValidUTF8(r.fixBuf[:0], raw)
		raw = r.fixBuf
		r.base = nil // no longer the file's bytes
	}
	if check || len(raw) == 0 || raw[0] != '{' || hasSplunkFirstKey(raw) {
		if err := validate(raw); err != nil {
			return r.recordError(line, "invalid JSON: "+err.Error())
		}
	}
	if raw[0] != '{' {
		return r.recordError(line, "not a JSON object ("+jsonKind(raw[0])+")")
	}
	r.index++
	return Record{File: r.name, Index: r.index, Line: line, Raw: raw}
}

// splunkKeys are the members of a Splunk export API line around its result.
var splunkKeys = map[string]bool{"preview": true, "offset": true, "lastrow": true, "result": true, "messages": true}

// unwrapSplunk replaces a Splunk export line
// {"preview":false,"offset":0,"result":{...}} by its result. It reports
// whether the line is a pure envelope with no result at all
// ({"preview":false,"lastrow":true}, messages): protocol metadata, not an
// alert, which the caller skips like Spamhaus's metadata line.
func unwrapSplunk(rec *Record) (metadata bool) {
	if rec.Err != nil || !hasSplunkFirstKey(rec.Raw) {
		return false
	}
	var result []byte
	ok := true
	fields(rec.Raw, func(key string, val []byte) bool {
		if !splunkKeys[key] {
			ok = false
			return false
		}
		if key == "result" {
			result = val
		}
		return true
	})
	if ok && len(result) > 0 && result[0] == '{' {
		rec.Raw = result
	}
	return ok && result == nil
}

// hasSplunkFirstKey is a cheap test that spares most records the full check.
func hasSplunkFirstKey(raw []byte) bool {
	i := 1
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	if i >= len(raw) || raw[i] != '"' {
		return false
	}
	j := i + 1
	for j < len(raw) && j < i+10 && raw[j] != '"' {
		j++
	}
	return j < len(raw) && raw[j] == '"' && splunkKeys[string(raw[i+1:j])]
}

func jsonKind(c byte) string {
	switch c {
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// appendValidUTF8 appends b with each invalid byte sequence replaced by U+FFFD.
func appendValidUTF8(dst, b []byte) []byte {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, b[:size]...)
		}
		b = b[size:]
	}
	return dst
}
