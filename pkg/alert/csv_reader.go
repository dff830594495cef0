package alert

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/verdict-dev/verdict/pkg/internal/jsonstr"
)

// errRecordTooLarge stops encoding/csv when a record grows past the limit;
// csv.Reader has no size limit of its own and would buffer a runaway quoted
// field to the end of the file.
var errRecordTooLarge = errors.New("record too large")

// countingReader counts the bytes and newlines read from the file, and fails
// reads once the current record has taken more than limit bytes.
type countingReader struct {
	r        io.Reader
	n        int64 // bytes read since the current record started
	limit    int64 // < 0: no limit
	newlines int   // newlines read in total
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.limit >= 0 && c.n > c.limit {
		return 0, errRecordTooLarge
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.newlines += bytes.Count(p[:n], []byte{'\n'})
	return n, err
}

// csvState reads CSV with a header row through encoding/csv.
type csvState struct {
	lim      *countingReader
	br       *bufio.Reader
	cr       *csv.Reader
	comma    rune
	header   bool
	keys     [][]byte // each column's name as a JSON string and ':'
	lineBase int      // lines consumed before cr started (cr counts from 1)
	row      []byte   // the row as a JSON object, reused
}

func newCSVState(f io.Reader, comma rune) *csvState {
	lim := &countingReader{r: f, limit: -1}
	st := &csvState{lim: lim, br: bufio.NewReaderSize(lim, readBufSize), comma: comma}
	if b, _ := st.br.Peek(3); bytes.Equal(b, utf8BOM) {
		_, _ = st.br.Discard(3)
	}
	st.newReader()
	return st
}

func (st *csvState) newReader() {
	// st.br is large enough that csv.NewReader uses it as it is, so the
	// bytes it has not consumed stay in st.br for a resync.
	cr := csv.NewReader(st.br)
	cr.Comma = st.comma
	cr.FieldsPerRecord = -1 // a ragged row is a malformed record, not the end
	// Lets `a, "b"` parse (abuse.ch style). Not for TSV: encoding/csv would
	// trim the tab after an empty cell as leading space and lose the cell.
	cr.TrimLeadingSpace = st.comma != '\t'
	cr.ReuseRecord = true
	st.cr = cr
}

// consumedLines is the number of newlines consumed from st.br so far.
func (st *csvState) consumedLines() int {
	b, _ := st.br.Peek(st.br.Buffered())
	return st.lim.newlines - bytes.Count(b, []byte{'\n'})
}

// read reads one record, failing with errRecordTooLarge past max bytes.
func (st *csvState) read(max int) ([]string, error) {
	st.lim.n = int64(st.br.Buffered()) // read ahead: part of this record or later ones
	st.lim.limit = int64(max) + readBufSize
	return st.cr.Read()
}

// resync skips the rest of the line after an oversized record and starts a
// fresh csv.Reader there.
func (st *csvState) resync() error {
	st.lim.limit = -1
	for {
		_, err := st.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && err != io.EOF {
			return err
		}
		break
	}
	st.lineBase = st.consumedLines()
	st.newReader()
	return nil
}

func (st *csvState) setHeader(names []string) {
	used := make(map[string]bool, len(names))
	st.keys = make([][]byte, len(names))
	for i, n := range names {
		if strings.TrimSpace(n) == "" {
			n = "column_" + strconv.Itoa(i+1)
		}
		if used[n] {
			k := 2
			for used[n+"_"+strconv.Itoa(k)] {
				k++
			}
			n += "_" + strconv.Itoa(k)
		}
		used[n] = true
		st.keys[i] = append(jsonstr.Append(nil, n), ':')
	}
	st.header = true
}

func (r *Reader) nextCSV() (Record, error) {
	st := r.csv
	if !st.header {
		names, err := st.read(r.max)
		switch {
		case err == io.EOF:
			return Record{}, &FileError{File: r.name, Err: ErrEmpty}
		case errors.Is(err, errRecordTooLarge):
			return Record{}, &FileError{File: r.name, Err: errors.New("CSV header row exceeds " + sizeString(r.max))}
		case err != nil:
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return Record{}, &FileError{File: r.name, Err: fmt.Errorf("read CSV header: line %d, column %d: %w", pe.Line, pe.Column, pe.Err)}
			}
			return Record{}, err
		}
		st.setHeader(names)
	}

	startLine := st.consumedLines() + 1
	cells, err := st.read(r.max)
	var pe *csv.ParseError
	switch {
	case err == io.EOF:
		return Record{}, io.EOF
	case errors.Is(err, errRecordTooLarge):
		rec := r.recordError(startLine, r.tooLarge())
		if err := st.resync(); err != nil {
			return Record{}, err
		}
		return rec, nil
	case errors.As(err, &pe):
		return r.recordError(st.lineBase+pe.StartLine,
			fmt.Sprintf("invalid CSV: line %d, column %d: %v", st.lineBase+pe.Line, pe.Column, pe.Err)), nil
	case err != nil:
		return Record{}, err
	}
	line, _ := st.cr.FieldPos(0)
	line += st.lineBase
	if len(cells) != len(st.keys) {
		return r.recordError(line, fmt.Sprintf("row has %d fields, header has %d", len(cells), len(st.keys))), nil
	}
	b := append(st.row[:0], '{')
	for i, c := range cells {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, st.keys[i]...)
		b = jsonstr.Append(b, c)
	}
	b = append(b, '}')
	st.row = b
	r.index++
	return Record{File: r.name, Index: r.index, Line: line, Raw: b}, nil
}
