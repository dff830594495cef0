//go:build unix

package triage

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/model"
)

func mkfifo(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "alerts.fifo")
	require.NoError(t, syscall.Mkfifo(p, 0o600))
	return p
}

// Named pipes and devices are spooled like standard input, within the
// same limit, and named in the error.
func TestSpoolNonRegularFiles(t *testing.T) {
	t.Parallel()
	t.Run("happy path: a named pipe", func(t *testing.T) {
		t.Parallel()
		fifo := mkfifo(t)
		go func() {
			w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err != nil {
				return
			}
			_, _ = w.Write(ndjson(20))
			w.Close()
		}()
		opts, tmp := loadOptions(t, nil, fifo)
		b, err := Load(context.Background(), opts)
		require.NoError(t, err)
		assert.Equal(t, 20, b.Alerts())
		assert.Equal(t, []string{fifo}, b.Inputs(), "the pipe's own name, not the spool's")
		// Pass 2 reads the pipe's copy: opening the pipe again would
		// block for ever, its writer is gone.
		require.NoError(t, b.Lookup(context.Background()))
		done := make(chan []string, 1)
		go func() {
			var ids []string
			err := b.EachAlert(context.Background(), func(a *model.Alert) error {
				ids = append(ids, a.ID)
				return nil
			})
			assert.NoError(t, err)
			done <- ids
		}()
		select {
		case ids := <-done:
			require.Len(t, ids, 20)
			assert.Equal(t, "s000000", ids[0])
			assert.Equal(t, "s000019", ids[19])
		case <-time.After(10 * time.Second):
			t.Fatal("pass 2 opened the named pipe again instead of its copy")
		}
		require.NoError(t, b.Close())
		assertEmptyDir(t, tmp)
	})
	t.Run("sad path: a named pipe over the limit", func(t *testing.T) {
		t.Parallel()
		fifo := mkfifo(t)
		go func() {
			w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err != nil {
				return
			}
			defer w.Close()
			for range 64 {
				if _, err := w.Write(ndjson(1024)); err != nil {
					return // the reader gave up: the limit was reached
				}
			}
		}()
		opts, tmp := loadOptions(t, nil, fifo)
		opts.MaxSpoolBytes = 1 << 20
		_, err := Load(context.Background(), opts)
		require.ErrorIs(t, err, ErrInput)
		assert.Contains(t, err.Error(), fifo+" is larger than 1 MiB")
		assertEmptyDir(t, tmp)
	})
	t.Run("sad path: /dev/zero", func(t *testing.T) {
		t.Parallel()
		if _, err := os.Stat("/dev/zero"); err != nil {
			t.Skip("no /dev/zero")
		}
		opts, tmp := loadOptions(t, nil, "/dev/zero")
		opts.MaxSpoolBytes = 2 << 20
		_, err := Load(context.Background(), opts)
		var tl *InputTooLargeError
		require.ErrorAs(t, err, &tl)
		assert.Equal(t, "/dev/zero", tl.Input)
		assert.Equal(t, int64(2<<20), tl.Limit)
		assertEmptyDir(t, tmp)
	})
}

// Opening a named pipe blocks until a writer comes; a signal stops the load
// all the same.
func TestSpoolStopsOnCancelWhileOpeningAPipe(t *testing.T) {
	t.Parallel()
	fifo := mkfifo(t)
	t.Cleanup(func() {
		// Unblock the abandoned open: a writer arrives and leaves.
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	})
	opts, tmp := loadOptions(t, nil, fifo)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Load(ctx, opts)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("Load did not return after the context was cancelled")
	}
	assertEmptyDir(t, tmp)
}

// Sniffing for a JSON report (classify REPORT.json) never opens a pipe: it
// would block, and what it read would be lost to the run.
func TestIsReportLeavesPipesAlone(t *testing.T) {
	t.Parallel()
	fifo := mkfifo(t)
	done := make(chan bool, 1)
	go func() { done <- IsReport(fifo) }()
	select {
	case is := <-done:
		assert.False(t, is)
	case <-time.After(10 * time.Second):
		t.Fatal("IsReport blocked opening a named pipe")
	}
}
