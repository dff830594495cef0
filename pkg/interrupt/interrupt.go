// Package interrupt turns SIGINT and SIGTERM into the cancellation of one
// context, and lets a second signal end the process at once after removing
// the temporary files and directories registered with Track.
//
// The first signal cancels the run's context: every stage stops at its next
// check, removes its own temporary files and returns; main then exits 130
// (SIGINT) or 143 (SIGTERM), per CONTRACT.md. A user who does not want to
// wait (a stuck write to a pipe, a slow disk) sends the signal again: main
// removes what Track lists and exits with the second signal's code.
package interrupt

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sort"
	"sync"
	"syscall"
)

// SignalError is the cause (context.Cause) of a context cancelled by a
// signal: which signal arrived.
type SignalError struct {
	Signal os.Signal
}

// Error names the signal: "interrupted by SIGTERM".
func (e *SignalError) Error() string { return "interrupted by " + Name(e.Signal) }

// ExitCode is the exit status of a process stopped by the signal: 128 plus
// its number (130 for SIGINT, 143 for SIGTERM), the shell's convention.
func (e *SignalError) ExitCode() int { return ExitCode(e.Signal) }

// ExitCode is 128 plus the signal's number: 130 for SIGINT, 143 for SIGTERM.
// A signal without a number counts as SIGINT.
func ExitCode(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 128 + int(syscall.SIGINT)
}

// Name is the signal's conventional name: SIGINT, SIGTERM, or what the
// runtime calls any other.
func Name(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case nil:
		return "a signal"
	}
	return sig.String()
}

// Cause returns the signal that cancelled ctx, or nil when ctx is not done
// or was cancelled for another reason.
func Cause(ctx context.Context) *SignalError {
	var se *SignalError
	if errors.As(context.Cause(ctx), &se) {
		return se
	}
	return nil
}

// Handler is the signal handling of one process: see NotifyContext.
type Handler struct {
	ch     chan os.Signal
	second chan os.Signal
	done   chan struct{}
	cancel context.CancelCauseFunc
	once   sync.Once
}

// NotifyContext returns a copy of parent that the first of sigs cancels
// with a *SignalError cause (see Cause), and a Handler that receives the
// next one (Second). Call Stop when the run is over.
func NotifyContext(parent context.Context, sigs ...os.Signal) (context.Context, *Handler) {
	ctx, cancel := context.WithCancelCause(parent)
	h := &Handler{
		ch:     make(chan os.Signal, 2),
		second: make(chan os.Signal, 1),
		done:   make(chan struct{}),
		cancel: cancel,
	}
	signal.Notify(h.ch, sigs...)
	go h.loop()
	return ctx, h
}

func (h *Handler) loop() {
	select {
	case s := <-h.ch:
		h.cancel(&SignalError{Signal: s})
	case <-h.done:
		return
	}
	select {
	case s := <-h.ch:
		h.second <- s
	case <-h.done:
	}
}

// Second blocks until a second signal arrives, removes every path that
// Track lists, and returns the exit code for that signal. After Stop it
// never returns. It is meant for a goroutine of main:
//
//	go func() { os.Exit(h.Second()) }()
func (h *Handler) Second() int {
	s := <-h.second
	Cleanup()
	return ExitCode(s)
}

// Stop stops the signal handling (signals get their default behaviour
// back) and cancels the context without a signal cause. It may be called
// more than once.
func (h *Handler) Stop() {
	h.once.Do(func() {
		signal.Stop(h.ch)
		close(h.done)
		h.cancel(context.Canceled)
	})
}

// registry is the process-wide list of temporary paths to remove if a
// second signal ends the process before their owners do.
var registry = struct {
	sync.Mutex
	next  uint64
	paths map[uint64]string
}{paths: map[uint64]string{}}

// Track registers path (a file or a directory) to be removed by Cleanup:
// a temporary file or spool that must not outlive the process. The returned
// function unregisters it; call it once the owner has removed the path or
// made it permanent (renamed a finished report into place). It may be
// called more than once.
func Track(path string) (untrack func()) {
	registry.Lock()
	registry.next++
	id := registry.next
	registry.paths[id] = path
	registry.Unlock()
	return func() {
		registry.Lock()
		delete(registry.paths, id)
		registry.Unlock()
	}
}

// Tracked lists the paths Track holds now, sorted.
func Tracked() []string {
	registry.Lock()
	defer registry.Unlock()
	out := make([]string, 0, len(registry.paths))
	for _, p := range registry.paths {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Cleanup removes every tracked path, best effort, and forgets them. It
// runs while other goroutines may still be writing: a file removed under a
// writer only makes that writer fail, and a report is only ever renamed
// into place whole, so nothing half-written can appear.
func Cleanup() {
	registry.Lock()
	paths := registry.paths
	registry.paths = map[uint64]string{}
	registry.Unlock()
	for _, p := range paths {
		_ = os.RemoveAll(p)
	}
}
