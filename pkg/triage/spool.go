package triage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"strconv"
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

	// Where the raw record is: at rawOff in the input (rawLen bytes whose
	// rawSum is kept to notice a file that changed), or, with rawOff -1,
	// next in the raw spool.
	rawOff int64
	rawLen int
	rawSum uint64

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
	s.uvarint(uint64(a.rawOff + 1)) // 0: spooled
	if a.rawOff >= 0 {
		s.uvarint(uint64(a.rawLen))
		s.tmp = binary.LittleEndian.AppendUint64(s.tmp[:0], a.rawSum)
		s.w.Write(s.tmp)
	}
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
// field paths of ft; io.EOF at the end. Without full, the id and the field
// paths are skipped (left empty): scoring needs neither, and they are the
// pass's allocations.
func (s *spoolReader) readMeta(a *spooledAlert, ft *fieldTable, full bool) error {
	seq, err := s.uvarint()
	if err != nil {
		return err // io.EOF on a clean end
	}
	a.seq = seq
	ints := [...]*int{&a.file, &a.record, &a.line}
	for _, p := range ints {
		if *p, err = s.uvarint(); err != nil {
			return unexpected(err)
		}
	}
	off, err := s.uvarint()
	if err != nil {
		return unexpected(err)
	}
	a.rawOff, a.rawLen, a.rawSum = int64(off)-1, 0, 0
	if off > 0 {
		if a.rawLen, err = s.uvarint(); err != nil {
			return unexpected(err)
		}
		var sum [8]byte
		if _, err := io.ReadFull(s.r, sum[:]); err != nil {
			return unexpected(err)
		}
		a.rawSum = binary.LittleEndian.Uint64(sum[:])
	}
	if full {
		a.id, err = s.str()
	} else {
		a.id = ""
		_, err = s.bytes()
	}
	if err != nil {
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
			switch {
			case ref == 0 && full:
				if f, err = s.str(); err != nil {
					return unexpected(err)
				}
			case ref == 0:
				if _, err = s.bytes(); err != nil {
					return unexpected(err)
				}
			case !ok:
				return fmt.Errorf("spool corrupt: field %d out of range", ref)
			}
			if full {
				a.fieldBuf = append(a.fieldBuf, f)
			}
		}
		if full {
			si.nfields = nf
		}
		a.iocs = append(a.iocs, si)
	}
	// fieldBuf is complete: hand out its parts (clipped, so that appending
	// to one cannot overwrite the next).
	at := 0
	for i := range a.iocs {
		nf := a.iocs[i].nfields
		a.iocs[i].fields = a.fieldBuf[at : at+nf : at+nf]
		at += nf
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

// rawSum is the checksum kept for a record that pass 2 reads again from
// its input: 64 bits of maphash under the batch's own random seed, which
// the hardware's AES instructions compute at memory speed on amd64 and
// arm64. A change goes unnoticed with odds of 2^-64 per record, and no one
// can write a changed record that passes, since the seed is never known
// outside the process (a CRC could be forged).
func rawSum(seed maphash.Seed, raw []byte) uint64 { return maphash.Bytes(seed, raw) }

// ErrInputChanged means an input file changed between the passes: the
// records pass 2 reads again are not the ones pass 1 looked at. The error
// is an *InputChangedError.
var ErrInputChanged = errors.New("input changed while it was being read")

// InputChangedError stops a run whose input file changed between the
// passes in a record pass 1 read (rewritten, replaced, cut short): the
// report would otherwise mix two versions of the file. It matches
// ErrInputChanged. A file that only grew, or was rewritten with the same
// records, is not one: the report holds the records as they were read.
type InputChangedError struct {
	Input string // display name
	Off   int64  // where the record that differs starts
	Line  int    // its line, when known
	Why   string // "differs", "is cut short"
}

func (e *InputChangedError) Error() string {
	at := "at byte " + strconv.FormatInt(e.Off, 10)
	if e.Line > 0 {
		at = "on line " + strconv.Itoa(e.Line) + " (" + at + ")"
	}
	return fmt.Sprintf("%s changed while verdict was reading it: the record %s %s since it was first read, and a report would mix two versions of the file; run again once nothing writes to it, or on a copy", e.Input, at, e.Why)
}

// Is makes errors.Is(err, ErrInputChanged) true.
func (e *InputChangedError) Is(target error) bool { return target == ErrInputChanged }

// inputState is what pass 1 saw of a regular input file when it finished
// reading it, for pass 2 to say when the file changed since.
type inputState struct {
	info os.FileInfo // nil: not known (stat failed) or not a file of the user's
	// warned is set once the change was logged, so that each pass 2 (a
	// classification's pre-pass, then the report) says it once.
	warned bool
}

// rereader reads records again from the inputs, in the order pass 1 read
// them: forward through one file at a time, so a buffered reader that
// skips the bytes between records does it.
type rereader struct {
	b    *Batch
	file int // index of the open input
	f    *os.File
	r    *bufio.Reader
	pos  int64
}

// read returns the raw record of a, which lies in its input file, checked
// against the sum pass 1 kept, in a slice of its own (the report keeps it).
func (rr *rereader) read(a *spooledAlert) ([]byte, error) {
	b := rr.b
	path, name := b.paths[a.file], b.inputs[a.file]
	off, n := a.rawOff, a.rawLen
	if rr.f == nil || rr.file != a.file || off < rr.pos {
		rr.close()
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("read %s again: %w", name, unwrapPath(err))
		}
		rr.noteChange(a.file, f)
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("read %s again: %w", name, err)
		}
		if rr.r == nil {
			rr.r = bufio.NewReaderSize(f, 1<<20)
		} else {
			rr.r.Reset(f)
		}
		rr.file, rr.f, rr.pos = a.file, f, off
	}
	short := func() error { return &InputChangedError{Input: name, Off: off, Line: a.line, Why: "is cut short"} }
	if gap := off - rr.pos; gap > 1<<20 {
		// Far ahead (a large member between two alerts): seek, not read.
		if _, err := rr.f.Seek(off, io.SeekStart); err != nil {
			return nil, fmt.Errorf("read %s again: %w", name, err)
		}
		rr.r.Reset(rr.f)
		rr.pos = off
	} else if gap > 0 {
		if _, err := rr.r.Discard(int(gap)); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, short()
			}
			return nil, fmt.Errorf("read %s again: %w", name, err)
		}
	}
	raw := make([]byte, n)
	if _, err := io.ReadFull(rr.r, raw); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, short()
		}
		return nil, fmt.Errorf("read %s again: %w", name, err)
	}
	rr.pos = off + int64(n)
	if rawSum(b.sumSeed, raw) != a.rawSum {
		return nil, &InputChangedError{Input: name, Off: off, Line: a.line, Why: "differs"}
	}
	return raw, nil
}

// noteChange logs, once per input, that the file f of input fi is not as
// pass 1 left it (another file now, another size or time of change). It is
// not an error by itself: a log that grew, or a file written again with
// the same records, still holds every record read, and each is checked.
func (rr *rereader) noteChange(fi int, f *os.File) {
	st := &rr.b.states[fi]
	if st.info == nil || st.warned {
		return
	}
	now, err := f.Stat()
	if err != nil {
		return
	}
	was := st.info
	var what string
	switch {
	case !os.SameFile(was, now):
		what = "replaced by another file"
	case now.Size() > was.Size():
		what = "grew by " + strconv.FormatInt(now.Size()-was.Size(), 10) + " bytes"
	case now.Size() != was.Size() || !now.ModTime().Equal(was.ModTime()):
		what = "modified"
	default:
		return
	}
	st.warned = true
	rr.b.log.Warn("input changed on disk after it was read; the report holds its records as they were first read (each is checked, and one that differs stops the run)",
		"file", rr.b.inputs[fi], "change", what)
}

func (rr *rereader) close() {
	if rr.f != nil {
		rr.f.Close()
		rr.f = nil
	}
}
