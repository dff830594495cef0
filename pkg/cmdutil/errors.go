// Package cmdutil holds what every command shares: the Factory of lazy
// dependencies, the error types that decide exit codes, and flag helpers.
package cmdutil

import (
	"errors"
	"fmt"
	"os"

	"github.com/verdict-dev/verdict/pkg/interrupt"
)

// Exit codes (CONTRACT.md "Output").
const (
	ExitOK     = 0
	ExitError  = 1 // runtime failure
	ExitUsage  = 2 // usage error, unreadable input, malformed record under --strict
	ExitFailOn = 3 // --fail-on threshold reached
	// ExitSIGINT and ExitSIGTERM are a run stopped by a signal: 128 plus
	// the signal's number, as a shell reports a process the signal killed.
	ExitSIGINT  = 130
	ExitSIGTERM = 143
)

// FlagError is a usage mistake; root prints the command's usage after it.
// Cobra's own usage errors (unknown command or flag, wrong argument count,
// flags that exclude each other) are turned into FlagErrors where cobra
// makes them, so that the exit status never depends on an error's text.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErrorf formats a FlagError.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}

// ExitCodeError carries an explicit exit code (input errors, --fail-on).
// Silent errors have already been reported and print nothing more.
type ExitCodeError struct {
	Code   int
	Err    error
	Silent bool
}

func (e *ExitCodeError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitCodeError) Unwrap() error { return e.Err }

// InputError returns an exit-2 error for input that cannot be used.
func InputError(err error) error { return &ExitCodeError{Code: ExitUsage, Err: err} }

// ErrSilent makes Main exit 1 without printing (the error was already shown).
var ErrSilent = errors.New("silent")

// InterruptedError is a run stopped by a signal: it exits 130 (SIGINT) or
// 143 (SIGTERM) whatever error the stopped work returned (Err, usually a
// wrapped context.Canceled).
type InterruptedError struct {
	Signal os.Signal
	Err    error
}

// Error says which signal stopped the run.
func (e *InterruptedError) Error() string { return "interrupted by " + interrupt.Name(e.Signal) }

// Unwrap returns what the stopped work returned.
func (e *InterruptedError) Unwrap() error { return e.Err }

// ExitCode is 128 plus the signal's number.
func (e *InterruptedError) ExitCode() int { return interrupt.ExitCode(e.Signal) }
