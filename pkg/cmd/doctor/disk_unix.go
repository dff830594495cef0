//go:build linux || darwin || freebsd || dragonfly || aix

package doctor

import "syscall"

// freeBytes is the space an unprivileged user may still write on the file
// system that holds path (statfs f_bavail: root's reserve excluded).
func freeBytes(path string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, err
	}
	// The field types differ between systems; every one is non-negative.
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
