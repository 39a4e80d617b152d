//go:build unix && !linux

package proc

import "syscall"

// dieWithParent: without Pdeathsig, the supervisor watches for a new parent.
func dieWithParent(*syscall.SysProcAttr, syscall.Signal) {}
