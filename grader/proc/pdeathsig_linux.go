package proc

import "syscall"

// dieWithParent has the kernel send sig to the child when the process that
// started it dies, even by SIGKILL.
func dieWithParent(attr *syscall.SysProcAttr, sig syscall.Signal) { attr.Pdeathsig = sig }
