package proc

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// adoptOrphans makes the supervisor the parent of every process the
// program starts that outlives its own parent, even one that left the
// process group (setsid, a double fork): the kernel re-parents orphans to
// the nearest "child subreaper".
func adoptOrphans() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }

// killAdopted kills every process descended from the supervisor (those
// adopted by adoptOrphans, and whatever they start meanwhile) and reaps
// them, until none is left or a deadline passes. It reports whether there
// were any.
func killAdopted() bool {
	found := false
	self := os.Getpid()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		kids := descendants(self)
		if len(kids) == 0 {
			break
		}
		found = true
		for _, pid := range kids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		// Reap what is ours; the rest are re-parented to us as their
		// parents die, and the next round finds them.
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
		time.Sleep(time.Millisecond)
	}
	return found
}

// descendants lists every process below pid, from /proc.
func descendants(pid int) []int {
	byParent := map[int][]int{}
	for child, parent := range parents() {
		byParent[parent] = append(byParent[parent], child)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range byParent[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// resident is the resident memory of pid in bytes, 0 if unknown.
func resident(pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0
	}
	fields := bytes.Fields(data)
	if len(fields) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(string(fields[1]), 10, 64)
	return pages * int64(os.Getpagesize())
}

// parents maps each process to its parent, from /proc.
func parents() map[int]int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	ppid := map[int]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		fields := bytes.Fields(stat[bytes.LastIndexByte(stat, ')')+1:])
		if len(fields) > 1 {
			ppid[pid], _ = strconv.Atoi(string(fields[1]))
		}
	}
	return ppid
}

// limitData sets the program's RLIMIT_DATA, which counts the heap (and
// thread stacks) but not reserved address space, unlike RLIMIT_AS.
func limitData(pid int, lim *unix.Rlimit) error {
	return unix.Prlimit(pid, unix.RLIMIT_DATA, lim, nil)
}
