//go:build !(linux || darwin || freebsd || dragonfly || aix || windows)

package doctor

import (
	"errors"
	"runtime"
)

// freeBytes cannot tell on this system (OpenBSD names its statfs fields
// differently, NetBSD and Solaris have statvfs instead,
// Plan 9 and WebAssembly have none): doctor says so.
func freeBytes(string) (uint64, error) {
	return 0, errors.New("free space is not known on " + runtime.GOOS)
}
