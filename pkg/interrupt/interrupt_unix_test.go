//go:build unix

package interrupt

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The handler on real signals, sent to this process: the first cancels the
// context with its cause, the second reaches Second, which cleans up and
// gives its exit code.
func TestNotifyContextFirstAndSecondSignal(t *testing.T) {
	ctx, h := NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer h.Stop()
	tmp := filepath.Join(t.TempDir(), "spool")
	require.NoError(t, os.WriteFile(tmp, nil, 0o600))
	defer Track(tmp)()

	require.NoError(t, raise(syscall.SIGTERM))
	<-ctx.Done()
	se := Cause(ctx)
	require.NotNil(t, se)
	assert.Equal(t, syscall.SIGTERM, se.Signal)
	assert.FileExists(t, tmp, "the first signal only cancels: the run cleans up itself")

	codes := make(chan int, 1)
	go func() { codes <- h.Second() }()
	require.NoError(t, raise(syscall.SIGINT))
	assert.Equal(t, 130, <-codes, "the second signal's own code")
	assert.NoFileExists(t, tmp, "the second signal removes what is tracked")
}

func raise(sig syscall.Signal) error { return syscall.Kill(os.Getpid(), sig) }
