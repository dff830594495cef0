package safehttp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// ErrBodyTooLarge is matched (errors.Is) by every *BodyTooLargeError.
var ErrBodyTooLarge = errors.New("response body too large")

// BodyTooLargeError is what reading a response body returns when the body,
// after decompression, is longer than the client's limit.
type BodyTooLargeError struct {
	Limit int64  // bytes
	Host  string // host[:port] that sent the body
}

func (e *BodyTooLargeError) Error() string {
	from := "response"
	if e.Host != "" {
		from = "response from " + e.Host
	}
	return fmt.Sprintf("%s is larger than the %s limit", from, FormatSize(e.Limit))
}

// Is makes errors.Is(err, ErrBodyTooLarge) true.
func (e *BodyTooLargeError) Is(target error) bool { return target == ErrBodyTooLarge }

// FormatSize writes a byte count the way the limits are set: "16 MiB",
// "512 KiB", "1000 bytes".
func FormatSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// body is a response body that is read whole, at most limit bytes after
// decompression, and scrubbed, on the caller's first Read. Buffering is what
// lets a secret be replaced wherever it falls; the limit is what makes
// buffering safe.
type body struct {
	rc    io.ReadCloser
	resp  *http.Response // its Trailer is scrubbed once the body is read
	p     *policy
	host  string
	limit int64
	// declared is the Content-Length the server sent, -1 when unknown or
	// when the transport decompressed the body.
	declared int64

	mu    sync.Mutex // guards state against a Close from another goroutine
	state bodyState
	r     *bytes.Reader
	err   error
}

type bodyState int

const (
	unread bodyState = iota
	loading
	loaded
	closed
)

var errClosed = errors.New("read on closed response body")

func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	st := b.state
	if st == unread {
		b.state = loading
	}
	b.mu.Unlock()
	switch st {
	case unread:
		b.load()
		b.mu.Lock()
		if b.state == closed {
			if b.err == nil {
				b.err = errClosed
			}
		} else {
			b.state = loaded
		}
		b.mu.Unlock()
	case loading:
		return 0, errors.New("concurrent reads of one response body")
	case closed:
		return 0, errClosed
	}
	if b.err != nil {
		return 0, b.err
	}
	return b.r.Read(p)
}

// load reads the whole body. On any failure the caller gets the error and
// not one byte of what came before it: a body cut short may end in the first
// half of a secret, which no scrubber can recognise, and the Gemini SDK
// copies whatever it read into its error message.
func (b *body) load() {
	defer b.rc.Close()
	tooLarge := &BodyTooLargeError{Limit: b.limit, Host: b.host}
	if b.declared > b.limit {
		b.err = tooLarge
		return
	}
	var buf bytes.Buffer
	if b.declared > 0 {
		buf.Grow(int(b.declared))
	}
	n, err := buf.ReadFrom(io.LimitReader(b.rc, b.limit+1))
	switch {
	case n > b.limit:
		b.err = tooLarge
		return
	case err != nil:
		b.err = b.p.scrubError(err)
		return
	}
	b.r = bytes.NewReader(b.p.scrub.ScrubBytes(buf.Bytes()))
	// Trailers arrive with the end of the body.
	b.p.scrubHeader(b.resp.Trailer)
}

// Close closes the underlying body (after a full read it is already
// closed). A Close from another goroutine aborts a read in progress.
func (b *body) Close() error {
	b.mu.Lock()
	st := b.state
	b.state = closed
	b.mu.Unlock()
	if st == unread || st == loading {
		return b.rc.Close()
	}
	return nil
}
