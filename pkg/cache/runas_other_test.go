//go:build !unix

package cache

import "os/exec"

// runAs is never reached off Unix: os.Geteuid is -1 there, so the tests
// never run as root and never drop privileges.
func runAs(*exec.Cmd, int, int) {}
