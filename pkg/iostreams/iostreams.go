// Package iostreams carries the standard streams and what we know about them
// (is stderr a terminal, is output quiet) so commands never touch os.Stdout.
package iostreams

import (
	"bytes"
	"io"
	"os"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
)

// IOStreams are the streams a command reads and writes.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer // reports only, and only with --stdout
	ErrOut io.Writer // everything meant for people

	stderrTTY  bool
	quiet      bool
	noProgress bool
}

// System returns the process's real streams.
func System() *IOStreams {
	return &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		stderrTTY: isTerminal(os.Stderr),
	}
}

// Test returns streams backed by buffers, for tests.
func Test() (ios *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// FlushErrOut flushes stderr when it is a buffering writer (the secret
// scrubber holds back a tail that could be the start of a key); main calls
// it before exiting.
func (s *IOStreams) FlushErrOut() error {
	if f, ok := s.ErrOut.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

// IsStderrTTY reports whether stderr is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// SetStderrTTY overrides terminal detection (tests, --no-progress).
func (s *IOStreams) SetStderrTTY(v bool) { s.stderrTTY = v }

// SetQuiet suppresses progress and summaries (--quiet).
func (s *IOStreams) SetQuiet(v bool) { s.quiet = v }

// Quiet reports whether --quiet is in effect.
func (s *IOStreams) Quiet() bool { return s.quiet }

// SetProgress disables the progress bar even on a terminal (log-format json).
func (s *IOStreams) SetProgress(enabled bool) { s.noProgress = !enabled }

// ProgressEnabled reports whether a progress bar should be drawn: stderr is a
// terminal, not quiet, and text logging.
func (s *IOStreams) ProgressEnabled() bool { return s.stderrTTY && !s.quiet && !s.noProgress }

// NewProgress builds a progress bar on stderr; it draws nothing unless
// ProgressEnabled.
func (s *IOStreams) NewProgress(total int, desc string) *progressbar.ProgressBar {
	return progressbar.NewOptions(total,
		progressbar.OptionSetWriter(s.ErrOut),
		progressbar.OptionSetVisibility(s.ProgressEnabled()),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionClearOnFinish())
}
