//go:build linux

package main

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pipeFull reports whether the pipe behind r holds as much as it can: its
// writer is then blocked in write(2) until someone reads. Linux only
// (F_GETPIPE_SZ, FIONREAD).
func pipeFull(t *testing.T, r *os.File) bool {
	t.Helper()
	const fGetPipeSz = 1032 // F_GETPIPE_SZ, not in package syscall
	sc, err := r.SyscallConn()
	require.NoError(t, err)
	var size, queued int
	var errno syscall.Errno
	require.NoError(t, sc.Control(func(fd uintptr) {
		n, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, fGetPipeSz, 0)
		if e != 0 {
			errno = e
			return
		}
		size = int(n)
		var q int32
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&q))); e != 0 {
			errno = e
			return
		}
		queued = int(q)
	}))
	require.Zero(t, errno, "query the pipe: %v", errno)
	return size > 0 && queued >= size
}

// A second signal exits at once, even when stopping cannot finish: here
// the report goes to standard output, a pipe nobody reads, so the first
// signal's orderly stop waits forever in a write. The second one still
// removes the spool.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	tests := []struct {
		name          string
		first, second syscall.Signal
		want          int
	}{
		{name: "SIGTERM twice", first: syscall.SIGTERM, second: syscall.SIGTERM, want: 143},
		{name: "SIGINT twice", first: syscall.SIGINT, second: syscall.SIGINT, want: 130},
		{name: "the second signal's own code", first: syscall.SIGTERM, second: syscall.SIGINT, want: 130},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSandbox(t)
			in := alertsFile(t, s.dir, 20000, 100) // a JSON report of megabytes
			pr, pw, err := os.Pipe()
			require.NoError(t, err)
			t.Cleanup(func() { pr.Close() })
			c := start(t, s, nil, pw, "enrich", "--offline", "--no-cache", "--stdout", "json", in)
			pw.Close() // the child has its own copy

			// Readiness: the pipe is full, so verdict is blocked writing.
			deadline := time.Now().Add(120 * time.Second)
			for !pipeFull(t, pr) {
				select {
				case <-c.done:
					require.FailNow(t, "verdict exited before the pipe filled", "stderr:\n%s", c.Stderr())
				case <-time.After(5 * time.Millisecond):
				}
				require.True(t, time.Now().Before(deadline), "the report never filled the pipe")
			}
			require.NotEmpty(t, list(t, s.tmp), "the spool exists while the report is written")

			c.signal(tt.first)
			c.waitFor("a second signal exits at once", 60*time.Second) // readiness: the first was heard
			select {
			case <-c.done:
				require.FailNow(t, "the orderly stop finished: this test needs it stuck", "stderr:\n%s", c.Stderr())
			default:
			}
			sent := c.signal(tt.second)
			assert.Equal(t, tt.want, c.exit(sent, exitWithin), "stderr:\n%s", c.Stderr())
			assert.NotContains(t, c.Stderr(), "verdict: interrupted by", "the orderly stop never got to its last line")
			assert.False(t, strings.Contains(c.Stderr(), "panic"))
			assert.Empty(t, list(t, s.tmp), "the second signal removed the spool")
		})
	}
}
