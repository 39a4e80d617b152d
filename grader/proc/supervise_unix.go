//go:build unix

package proc

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// envSupervise, set in a child's environment, makes the grader's executable
// a supervisor instead of the grader: see supervise.
const envSupervise = "DISTLINGS_SUPERVISE"

// A supervisor is started by this package in place of every child. Being in
// init, it works from any program that links the package: the grader, and the
// test binaries of the grader's own packages.
func init() {
	if os.Getenv(envSupervise) != "" {
		os.Exit(supervise(os.Args[1:]))
	}
}

// supervise runs args[1:] under the memory limit args[0] (bytes, 0 for
// none) in a process group of its own, and kills that group when the
// program exits (nothing it started outlives it) or when the grader dies.
// It reports on fd 3.
func supervise(args []string) int {
	// The report is the grader's alone: the program must not inherit it,
	// or it could name another process group to kill, or hold it open.
	syscall.CloseOnExec(3)
	out := json.NewEncoder(os.NewFile(3, "report"))
	fail := func(err error) int {
		out.Encode(report{Error: err.Error()})
		return 1
	}
	if len(args) < 2 {
		return fail(errors.New("usage: LIMIT PROGRAM [ARG...]"))
	}
	parent := os.Getppid()
	limit, _ := strconv.ParseInt(args[0], 10, 64)
	adoptOrphans()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	cmd := exec.Command(args[1], args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = without(os.Environ(), envSupervise)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithParent(cmd.SysProcAttr, syscall.SIGKILL)
	if err := cmd.Start(); err != nil {
		return fail(err)
	}
	group := cmd.Process.Pid
	if limit > 0 {
		// Start returns once the program has been exec'd, before the Go
		// runtime reaches package init; the supervisor itself stays unlimited.
		lim := unix.Rlimit{Cur: uint64(limit), Max: uint64(limit)}
		if err := limitData(group, &lim); err != nil {
			syscall.Kill(-group, syscall.SIGKILL)
			return fail(err)
		}
	}
	out.Encode(report{Pid: group})
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	// The grader's death is a signal on Linux; elsewhere, a new parent.
	orphaned := time.NewTicker(250 * time.Millisecond)
	defer orphaned.Stop()
	// Memory the data limit does not count (shared mappings) still counts
	// here: the program's resident memory, checked as it runs.
	watch := time.NewTicker(memoryCheck)
	defer watch.Stop()
	overMemory := false
	for {
		select {
		case <-exited:
			r := report{Final: true, Code: cmd.ProcessState.ExitCode(), OverMemory: overMemory}
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				r.Signal = unix.SignalName(ws.Signal())
			}
			if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
				r.MaxRSS = int64(ru.Maxrss)
				if runtime.GOOS != "darwin" {
					r.MaxRSS *= 1024 // kilobytes, except on macOS
				}
			}
			r.Leftovers = syscall.Kill(-group, 0) == nil
			syscall.Kill(-group, syscall.SIGKILL)
			if killAdopted() {
				r.Leftovers = true
			}
			out.Encode(r)
			return 0
		case <-signals:
			syscall.Kill(-group, syscall.SIGKILL)
			killAdopted()
			return 1
		case <-watch.C:
			if limit > 0 && !overMemory && resident(group) > rssLimit(limit) {
				overMemory = true
				syscall.Kill(-group, syscall.SIGKILL)
			}
		case <-orphaned.C:
			if os.Getppid() != parent {
				syscall.Kill(-group, syscall.SIGKILL)
				killAdopted()
				return 1
			}
		}
	}
}
