package report

import "io"

// writeBehind is a buffered writer that hands each full buffer to a
// goroutine and goes on filling the other one: the goroutine producing a
// report does not wait in write(2). For a million-alert JSON report the
// kernel's copy into the page cache is a third of the time spent writing
// it, and this way it runs beside the next alerts' encoding instead of
// after it. One write is in flight at a time, so the bytes reach w in
// order, and every goroutine ends with its write: none is left behind when
// a report is abandoned half way.
type writeBehind struct {
	w       io.Writer
	buf     []byte     // being filled
	spare   []byte     // the other buffer, when no write holds it
	pending chan error // the write in flight, nil when none
	inner   []byte     // the buffer the write in flight holds
	err     error      // the first write error; every later call returns it
}

// newWriteBehind writes to w in chunks of size bytes.
func newWriteBehind(w io.Writer, size int) *writeBehind {
	return &writeBehind{w: w, buf: make([]byte, 0, size), spare: make([]byte, 0, size)}
}

// Write implements io.Writer. An error of an earlier write may come back
// from a later call.
func (b *writeBehind) Write(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n := len(p)
	for len(p) > 0 {
		k := copy(b.buf[len(b.buf):cap(b.buf)], p)
		b.buf = b.buf[:len(b.buf)+k]
		p = p[k:]
		if len(b.buf) == cap(b.buf) {
			if err := b.handOff(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// WriteString is Write for a string.
func (b *writeBehind) WriteString(s string) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n := len(s)
	for len(s) > 0 {
		k := copy(b.buf[len(b.buf):cap(b.buf)], s)
		b.buf = b.buf[:len(b.buf)+k]
		s = s[k:]
		if len(b.buf) == cap(b.buf) {
			if err := b.handOff(); err != nil {
				return n - len(s), err
			}
		}
	}
	return n, nil
}

// WriteByte writes one byte.
func (b *writeBehind) WriteByte(c byte) error {
	_, err := b.Write([]byte{c})
	return err
}

// wait waits for the write in flight and takes its buffer back.
func (b *writeBehind) wait() error {
	if b.pending == nil {
		return b.err
	}
	err := <-b.pending
	b.pending = nil
	b.spare, b.inner = b.inner[:0], nil
	if err != nil && b.err == nil {
		b.err = err
	}
	return b.err
}

// handOff starts writing the full buffer and switches to the other one.
func (b *writeBehind) handOff() error {
	if err := b.wait(); err != nil {
		return err
	}
	full := b.buf
	b.buf, b.spare, b.inner = b.spare, nil, full
	done := make(chan error, 1) // buffered: the goroutine never waits for a reader
	b.pending = done
	go func() {
		_, err := b.w.Write(full)
		done <- err
	}()
	return nil
}

// Flush writes everything buffered and waits for it.
func (b *writeBehind) Flush() error {
	if err := b.wait(); err != nil {
		return err
	}
	if len(b.buf) > 0 {
		if _, err := b.w.Write(b.buf); err != nil {
			b.err = err
			return err
		}
		b.buf = b.buf[:0]
	}
	return nil
}
