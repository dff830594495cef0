//go:build unix

package cache

import (
	"os/exec"
	"syscall"
)

// runAs makes cmd run as uid:gid (root tests drop to nobody, whose
// permissions the read-only cache tests are about).
func runAs(cmd *exec.Cmd, uid, gid int) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
}
