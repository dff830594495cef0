package triage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/cache"
	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/inteltest"
	"github.com/verdict-dev/verdict/pkg/interrupt"
	"github.com/verdict-dev/verdict/pkg/ioc"
	"github.com/verdict-dev/verdict/pkg/score"
)

// loadOptions is a load with a fake provider, the spool in its own
// directory (returned, to check that nothing is left in it).
func loadOptions(t *testing.T, stdin io.Reader, inputs ...string) (Options, string) {
	t.Helper()
	sc, err := score.New(score.Default())
	require.NoError(t, err)
	pol, err := ioc.NewPolicy(nil, nil)
	require.NoError(t, err)
	eng := intel.NewEngine([]intel.Spec{{Provider: &inteltest.Provider{ProviderName: "fake"}}}, intel.Options{Cache: cache.Nop{}})
	tmp := t.TempDir()
	return Options{Inputs: inputs, Stdin: stdin, Policy: pol, Engine: eng, Scorer: sc, TempDir: tmp}, tmp
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Empty(t, names, "left in %s", dir)
}

// ndjson returns n alerts, one per line, each exactly 64 bytes.
func ndjson(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		line := fmt.Sprintf(`{"id":"s%06d","dst":"8.8.8.8","pad":"`, i)
		line += strings.Repeat("x", 64-len(line)-3) + `"}` + "\n"
		b.WriteString(line)
	}
	return b.Bytes()
}

// endless is an input that never ends (a stream, /dev/zero).
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func TestSpoolLimit(t *testing.T) {
	t.Parallel()
	data := ndjson(100) // 6400 bytes
	tests := []struct {
		name    string
		stdin   io.Reader
		limit   int64
		wantErr string
		alerts  int
	}{
		{name: "happy path: standard input under the limit", stdin: bytes.NewReader(data), limit: 1 << 20, alerts: 100},
		{name: "happy path: exactly the limit", stdin: bytes.NewReader(data), limit: int64(len(data)), alerts: 100},
		{name: "happy path: the default limit", stdin: bytes.NewReader(data), limit: 0, alerts: 100},
		{name: "sad path: one byte over the limit", stdin: bytes.NewReader(data), limit: int64(len(data)) - 1,
			wantErr: "stdin is larger than 6399 bytes, the limit for standard input, pipes and devices (input.max_bytes)"},
		{name: "sad path: an endless stream stops at the limit", stdin: endless{}, limit: 4 << 20,
			wantErr: "stdin is larger than 4 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts, tmp := loadOptions(t, tt.stdin, "-")
			opts.MaxSpoolBytes = tt.limit
			b, err := Load(context.Background(), opts)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.ErrorIs(t, err, ErrInput, "exit status 2")
				var tl *InputTooLargeError
				require.ErrorAs(t, err, &tl)
				assert.Equal(t, StdinName, tl.Input)
				assertEmptyDir(t, tmp)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.alerts, b.Alerts())
			assert.Equal(t, []string{StdinName}, b.Inputs())
			require.NoError(t, b.Close())
			assertEmptyDir(t, tmp)
		})
	}
}

// blockingReader hands out what the test writes, then blocks like a pipe
// whose writer sends nothing more and never closes.
func blockingPipe(t *testing.T) (io.Reader, *io.PipeWriter) {
	t.Helper()
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() }) // lets the abandoned reading goroutine end
	return pr, pw
}

// A signal while standard input is being spooled stops the load at once,
// even though the input blocks, and leaves no spool.
func TestSpoolStopsOnCancelWhileTheInputBlocks(t *testing.T) {
	t.Parallel()
	stdin, pw := blockingPipe(t)
	opts, tmp := loadOptions(t, stdin, "-")
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Load(ctx, opts)
		done <- err
	}()
	// Readiness: a pipe write returns only once the spool has read it.
	_, err := pw.Write(ndjson(10))
	require.NoError(t, err)
	cancel(&interrupt.SignalError{Signal: os.Interrupt})
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
		assert.NotNil(t, interrupt.Cause(ctx))
	case <-time.After(10 * time.Second):
		t.Fatal("Load did not return after the context was cancelled")
	}
	assertEmptyDir(t, tmp)
}

// The spool is removed when a later input fails, and registered with
// interrupt.Track while it exists, so that a second signal removes it too.
func TestSpoolIsRemovedAndTracked(t *testing.T) {
	t.Parallel()
	opts, tmp := loadOptions(t, bytes.NewReader(ndjson(3)), "-")
	b, err := Load(context.Background(), opts)
	require.NoError(t, err)
	assert.Contains(t, interrupt.Tracked(), b.dir, "a second signal would remove it")
	require.NoError(t, b.Close())
	require.NoError(t, b.Close(), "Close twice is fine")
	assert.NotContains(t, interrupt.Tracked(), b.dir)
	assertEmptyDir(t, tmp)

	empty := write(t, t.TempDir(), "empty.json", "")
	opts, tmp = loadOptions(t, bytes.NewReader(ndjson(3)), "-", empty)
	_, err = Load(context.Background(), opts)
	require.ErrorIs(t, err, ErrInput)
	assertEmptyDir(t, tmp)
}

// A missing file fails the run before standard input is read at all.
func TestMissingFileFailsBeforeSpooling(t *testing.T) {
	t.Parallel()
	opts, tmp := loadOptions(t, readFunc(func([]byte) (int, error) {
		return 0, errors.New("standard input was read")
	}), "-", "/no/such/alerts.json")
	_, err := Load(context.Background(), opts)
	require.ErrorIs(t, err, ErrInput)
	assert.Contains(t, err.Error(), "/no/such/alerts.json")
	assert.NotContains(t, err.Error(), "standard input was read")
	assertEmptyDir(t, tmp)
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }

// A read error on standard input is unusable input, named.
func TestSpoolReadError(t *testing.T) {
	t.Parallel()
	opts, tmp := loadOptions(t, readFunc(func([]byte) (int, error) { return 0, errors.New("input/output error") }), "-")
	_, err := Load(context.Background(), opts)
	require.ErrorIs(t, err, ErrInput)
	assert.Contains(t, err.Error(), "read stdin: input/output error")
	assertEmptyDir(t, tmp)
}
