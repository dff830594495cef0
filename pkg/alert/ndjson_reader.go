package alert

import (
	"bufio"
	"bytes"
	"io"
)

// ndjsonState holds the line buffer for lines longer than the read buffer.
type ndjsonState struct {
	lineBuf []byte
}

// readLine returns the next line without its newline. Lines that fit the
// read buffer are not copied. A line over max bytes is consumed without being
// kept (tooLong). eof reports that the input ended with this line.
func (r *Reader) readLine() (line []byte, tooLong, eof bool, err error) {
	br := r.sc.br
	buf := r.nd.lineBuf[:0]
	n := 0
	for {
		chunk, err := br.ReadSlice('\n')
		n += len(chunk)
		r.sc.off += int64(len(chunk))
		switch err {
		case nil, io.EOF:
			switch {
			case tooLong || n > r.max+2: // +2: the newline is not part of the record
				tooLong, line = true, nil
			case len(buf) == 0:
				line = chunk
			default:
				buf = append(buf, chunk...)
				line = buf
			}
			r.nd.lineBuf = buf
			return line, tooLong, err == io.EOF, nil
		case bufio.ErrBufferFull:
			if !tooLong && n <= r.max+2 {
				buf = append(buf, chunk...)
			} else {
				tooLong, buf = true, buf[:0]
			}
		default:
			return nil, false, true, err
		}
	}
}

var ndTrim = " \t\r\n"

func (r *Reader) nextNDJSON() (Record, error) {
	for {
		lineNo, start := r.sc.line, r.sc.off
		line, tooLong, eof, err := r.readLine()
		if err != nil {
			return Record{}, err
		}
		r.cutFrom(line, start)
		if !eof { // the line ended with '\n'
			r.sc.line++
		}
		if tooLong {
			return r.recordError(lineNo, r.tooLarge()), nil
		}
		// A BOM may start any line when files were concatenated.
		line = bytes.Trim(bytes.TrimPrefix(bytes.TrimLeft(line, ndTrim), utf8BOM), ndTrim)
		if len(line) == 0 {
			if eof {
				return Record{}, io.EOF
			}
			continue
		}
		if len(line) > r.max {
			return r.recordError(lineNo, r.tooLarge()), nil
		}
		rec := r.objectChecked(line, lineNo, capDone, !r.lazy)
		if unwrapSplunk(&rec) {
			r.index-- // not a record: keep record numbers dense
			if eof {
				return Record{}, io.EOF
			}
			continue
		}
		if eof {
			// The record is complete; the next call reports io.EOF.
			r.done = true
		}
		return rec, nil
	}
}
