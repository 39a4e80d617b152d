//go:build unix

package run

import (
	"os/exec"
	"syscall"
	"time"
)

// killGroup runs cmd in a process group of its own and, when its context
// ends, kills the whole group: test2json and the test binary under it.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
}
