package interrupt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExitCodeAndName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		sig      os.Signal
		wantCode int
		wantName string
	}{
		{name: "SIGINT is 130", sig: os.Interrupt, wantCode: 130, wantName: "SIGINT"},
		{name: "syscall.SIGINT is os.Interrupt", sig: syscall.SIGINT, wantCode: 130, wantName: "SIGINT"},
		{name: "SIGTERM is 143", sig: syscall.SIGTERM, wantCode: 143, wantName: "SIGTERM"},
		{name: "a signal without a number counts as SIGINT", sig: fakeSignal{}, wantCode: 130, wantName: "fake"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.wantCode, ExitCode(tt.sig))
			assert.Equal(t, tt.wantName, Name(tt.sig))
			se := &SignalError{Signal: tt.sig}
			assert.Equal(t, tt.wantCode, se.ExitCode())
			assert.Equal(t, "interrupted by "+tt.wantName, se.Error())
		})
	}
}

type fakeSignal struct{}

func (fakeSignal) String() string { return "fake" }
func (fakeSignal) Signal()        {}

func TestCause(t *testing.T) {
	t.Parallel()
	assert.Nil(t, Cause(context.Background()), "not done")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.Nil(t, Cause(ctx), "cancelled, but not by a signal")

	ctx, cancelCause := context.WithCancelCause(context.Background())
	cancelCause(&SignalError{Signal: syscall.SIGTERM})
	se := Cause(ctx)
	require.NotNil(t, se)
	assert.Equal(t, syscall.SIGTERM, se.Signal)
	assert.ErrorIs(t, ctx.Err(), context.Canceled, "stages still see context.Canceled")

	child, stop := context.WithCancel(ctx)
	defer stop()
	require.NotNil(t, Cause(child), "the cause reaches derived contexts")

	ctx, cancelCause = context.WithCancelCause(context.Background())
	cancelCause(fmt.Errorf("wrapped: %w", &SignalError{Signal: os.Interrupt}))
	require.NotNil(t, Cause(ctx))
	assert.Equal(t, os.Interrupt, Cause(ctx).Signal)
}

// Tests that use the process-wide registry do not run in parallel.
func TestTrackAndCleanup(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "report.json.tmp")
	spool := filepath.Join(dir, "verdict-spool")
	kept := filepath.Join(dir, "kept")
	require.NoError(t, os.WriteFile(file, []byte("half"), 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(spool, "sub"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(spool, "sub", "alerts.raw"), []byte("x"), 0o600))
	require.NoError(t, os.WriteFile(kept, []byte("done"), 0o600))

	untrackFile := Track(file)
	untrackSpool := Track(spool)
	untrackKept := Track(kept)
	untrackKept() // its owner made it permanent
	untrackKept() // twice is fine
	assert.Subset(t, Tracked(), []string{file, spool})
	assert.NotContains(t, Tracked(), kept)

	Cleanup()
	assert.NoFileExists(t, file)
	assert.NoDirExists(t, spool)
	assert.FileExists(t, kept, "an untracked path is never removed")
	assert.NotContains(t, Tracked(), file, "Cleanup forgets what it removed")
	untrackFile()
	untrackSpool()

	missing := Track(filepath.Join(dir, "already-gone"))
	defer missing()
	Cleanup() // a path its owner removed first is no error
}

func TestStopWithoutSignal(t *testing.T) {
	ctx, h := NotifyContext(context.Background(), syscall.SIGTERM)
	h.Stop()
	h.Stop() // twice is fine
	<-ctx.Done()
	assert.Nil(t, Cause(ctx), "stopped, not interrupted")
	assert.True(t, errors.Is(context.Cause(ctx), context.Canceled))
}
