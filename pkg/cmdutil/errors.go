// Package cmdutil holds what every command shares: the Factory of lazy
// dependencies, the error types that decide exit codes, and flag helpers.
package cmdutil

import (
	"errors"
	"fmt"
)

// Exit codes (CONTRACT.md "Output").
const (
	ExitOK     = 0
	ExitError  = 1 // runtime failure, including Ctrl-C
	ExitUsage  = 2 // usage error, unreadable input, malformed record under --strict
	ExitFailOn = 3 // --fail-on threshold reached
)

// FlagError is a usage mistake; root prints the command's usage after it.
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
