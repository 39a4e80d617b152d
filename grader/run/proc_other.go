//go:build !unix

package run

import (
	"os/exec"
	"time"
)

// killGroup: without process groups, killing test2json is the best we can do.
func killGroup(cmd *exec.Cmd) {
	cmd.WaitDelay = 5 * time.Second
}
