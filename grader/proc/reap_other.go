//go:build unix && !linux

package proc

import "golang.org/x/sys/unix"

// adoptOrphans: only Linux has child subreapers; elsewhere the process
// group is what is killed.
func adoptOrphans() {}

func killAdopted() bool { return false }

// limitData: without prlimit, the limit is not set.
func limitData(int, *unix.Rlimit) error { return nil }

// resident: without /proc, only the data limit bounds memory.
func resident(int) int64 { return 0 }
