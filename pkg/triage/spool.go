package triage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// The spool keeps what pass 1 learned about each alert on disk, so memory
// grows with unique indicators and not with alerts: a compact meta file (id,
// source, indicator indexes and fields) read by the scoring pass, and the raw
// records, read only when the report is written.

// spooledAlert is one alert's entry in the meta spool.
type spooledAlert struct {
	seq    int // position in the batch, 1-based, counting malformed records
	file   int // index into Batch.inputs
	record int
	line   int
	id     string
	iocs   []spooledIOC

	fieldBuf []string // backs every iocs[i].fields (readMeta)
}

type spooledIOC struct {
	index   int // into Batch.iocs
	fields  []string
	art     int // foundIOC.art: the alert's own link between the hashes of one file
	nfields int // len(fields), while readMeta fills fieldBuf
}

type spoolWriter struct {
	f   *os.File
	w   *bufio.Writer
	tmp []byte
}

func newSpoolWriter(path string) (*spoolWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	return &spoolWriter{f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

func (s *spoolWriter) uvarint(v uint64) {
	s.tmp = binary.AppendUvarint(s.tmp[:0], v)
	s.w.Write(s.tmp)
}

func (s *spoolWriter) bytes(b []byte) {
	s.uvarint(uint64(len(b)))
	s.w.Write(b)
}

func (s *spoolWriter) str(v string) {
	s.uvarint(uint64(len(v)))
	s.w.WriteString(v)
}

// writeMeta spools a; field paths go through ft (a reference, or 0 and
// the path itself).
func (s *spoolWriter) writeMeta(a *spooledAlert, ft *fieldTable) {
	s.uvarint(uint64(a.seq))
	s.uvarint(uint64(a.file))
	s.uvarint(uint64(a.record))
	s.uvarint(uint64(a.line))
	s.str(a.id)
	s.uvarint(uint64(len(a.iocs)))
	for _, i := range a.iocs {
		s.uvarint(uint64(i.index))
		s.uvarint(uint64(i.art))
		s.uvarint(uint64(len(i.fields)))
		for _, f := range i.fields {
			ref := ft.ref(f)
			s.uvarint(uint64(ref))
			if ref == 0 {
				s.str(f)
			}
		}
	}
}

func (s *spoolWriter) close() error {
	err := s.w.Flush()
	return errors.Join(err, s.f.Close())
}

type spoolReader struct {
	f   *os.File
	r   *bufio.Reader
	buf []byte
}

func openSpool(path string) (*spoolReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &spoolReader{f: f, r: bufio.NewReaderSize(f, 1<<20)}, nil
}

func (s *spoolReader) uvarint() (int, error) {
	v, err := binary.ReadUvarint(s.r)
	if err != nil {
		return 0, err
	}
	if v > 1<<40 {
		return 0, fmt.Errorf("spool corrupt: value %d out of range", v)
	}
	return int(v), nil
}

// bytes reads a length-prefixed blob into a reused buffer.
func (s *spoolReader) bytes() ([]byte, error) {
	n, err := s.uvarint()
	if err != nil {
		return nil, err
	}
	if cap(s.buf) < n {
		s.buf = make([]byte, n)
	}
	s.buf = s.buf[:n]
	if _, err := io.ReadFull(s.r, s.buf); err != nil {
		return nil, unexpected(err)
	}
	return s.buf, nil
}

func (s *spoolReader) str() (string, error) {
	b, err := s.bytes()
	return string(b), err
}

// readMeta reads the next alert into a, reusing its slices, with the
// field paths of ft; io.EOF at the end.
func (s *spoolReader) readMeta(a *spooledAlert, ft *fieldTable) error {
	seq, err := s.uvarint()
	if err != nil {
		return err // io.EOF on a clean end
	}
	a.seq = seq
	ints := []*int{&a.file, &a.record, &a.line}
	for _, p := range ints {
		if *p, err = s.uvarint(); err != nil {
			return unexpected(err)
		}
	}
	if a.id, err = s.str(); err != nil {
		return err
	}
	n, err := s.uvarint()
	if err != nil {
		return unexpected(err)
	}
	if cap(a.iocs) < n {
		a.iocs = make([]spooledIOC, 0, n)
	}
	a.iocs = a.iocs[:0]
	if cap(a.fieldBuf) == 0 {
		a.fieldBuf = make([]string, 0, n+n/2) // most indicators are in one field
	}
	a.fieldBuf = a.fieldBuf[:0]
	for range n {
		var si spooledIOC
		if si.index, err = s.uvarint(); err != nil {
			return unexpected(err)
		}
		if si.art, err = s.uvarint(); err != nil {
			return unexpected(err)
		}
		nf, err := s.uvarint()
		if err != nil {
			return unexpected(err)
		}
		for range nf {
			ref, err := s.uvarint()
			if err != nil {
				return unexpected(err)
			}
			f, ok := ft.name(uint32(ref))
			if ref == 0 {
				if f, err = s.str(); err != nil {
					return unexpected(err)
				}
			} else if !ok {
				return fmt.Errorf("spool corrupt: field %d out of range", ref)
			}
			a.fieldBuf = append(a.fieldBuf, f)
		}
		si.nfields = nf
		a.iocs = append(a.iocs, si)
	}
	// fieldBuf is complete: hand out its parts (clipped, so that appending
	// to one cannot overwrite the next).
	off := 0
	for i := range a.iocs {
		nf := a.iocs[i].nfields
		a.iocs[i].fields = a.fieldBuf[off : off+nf : off+nf]
		off += nf
	}
	return nil
}

func (s *spoolReader) close() error { return s.f.Close() }

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
