package proc

import (
	"bytes"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// adoptOrphans makes the supervisor the parent of every process the
// program starts that outlives its own parent, even one that left the
// process group (setsid, a double fork): the kernel re-parents orphans to
// the nearest "child subreaper".
func adoptOrphans() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }

// killAdopted kills the processes adopted by adoptOrphans, and those they
// start meanwhile, and reaps them. It reports whether there were any.
func killAdopted() bool {
	found := false
	self := os.Getpid()
	for range 100 {
		kids := children(self)
		if len(kids) == 0 {
			break
		}
		found = true
		for _, pid := range kids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		for _, pid := range kids {
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, 0, nil)
		}
	}
	return found
}

// children lists the processes whose parent is pid, from /proc.
func children(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var kids []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		rest := stat[bytes.LastIndexByte(stat, ')')+1:]
		fields := bytes.Fields(rest)
		if len(fields) > 1 {
			if ppid, _ := strconv.Atoi(string(fields[1])); ppid == pid {
				kids = append(kids, child)
			}
		}
	}
	return kids
}

// limitData sets the program's RLIMIT_DATA, which counts the heap (and
// thread stacks) but not reserved address space, unlike RLIMIT_AS.
func limitData(pid int, lim *unix.Rlimit) error {
	return unix.Prlimit(pid, unix.RLIMIT_DATA, lim, nil)
}
