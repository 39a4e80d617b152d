// Package proc starts every process the grader runs (the go command, a
// listing of a lab's tests, a part, test2json) under the same control: a
// deadline, a memory limit, and a kill of everything the process started,
// when it ends, when it runs out of time, and when the grader itself dies.
//
// On Unix each child runs under a supervisor: the grader's own executable,
// started again with envSupervise set (see supervise_unix.go), which sets the
// limit, starts the program in a process group of its own, and kills that
// group when the program exits or the grader goes away. Elsewhere the program
// is started directly and killed alone.
package proc

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// Spec is a process to run.
type Spec struct {
	Path string
	Args []string
	Dir  string
	Env  []string // nil means the grader's environment
	// Stdin, Stdout and Stderr work as in os/exec: an *os.File is handed to
	// the process, another writer is fed from a pipe. nil means /dev/null.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Timeout, when set, stops the process and everything it started.
	Timeout time.Duration
	// MemoryLimit, in bytes, bounds the heap of the process (0: none).
	// Race multiplies it for the race detector's shadow memory.
	MemoryLimit int64
	Race        bool
}

// Exit is how a process ended.
type Exit struct {
	Started bool
	Code    int    // exit status; -1 when a signal ended the process
	Signal  string // e.g. "SIGKILL", when a signal ended it
	// TimedOut is set when Spec.Timeout ran out; Cancelled when the
	// context ended first.
	TimedOut, Cancelled bool
	// Leftovers is set when processes the program started were still
	// running after it exited; they were killed.
	Leftovers bool
	// OverMemory is set when the program was killed for passing the
	// memory limit.
	OverMemory bool
	MaxRSS     int64 // peak resident memory in bytes, where the system says
	Err        error // why it could not start, or a supervision failure
}

// Success reports whether the process exited with status 0 on its own.
func (e Exit) Success() bool {
	return e.Started && e.Code == 0 && e.Signal == "" && !e.TimedOut && !e.Cancelled
}

// String says how the process ended, for a message: "exited with status 1",
// "killed by SIGKILL".
func (e Exit) String() string {
	switch {
	case !e.Started:
		return fmt.Sprintf("could not start: %v", e.Err)
	case e.TimedOut:
		return "stopped: out of time"
	case e.Cancelled:
		return "stopped"
	case e.Signal != "":
		return "killed by " + e.Signal
	}
	return fmt.Sprintf("exited with status %d", e.Code)
}

// Process is a started process.
type Process struct {
	done chan struct{}
	exit Exit
	stop func()
}

// Wait waits for the process to end and says how it did.
func (p *Process) Wait() Exit {
	<-p.done
	return p.exit
}

// Done is closed when the process has ended.
func (p *Process) Done() <-chan struct{} { return p.done }

// Kill stops the process and everything it started, at once.
func (p *Process) Kill() { p.stop() }

// Run starts a process and waits for it.
func Run(ctx context.Context, s Spec) Exit {
	p := Start(ctx, s)
	return p.Wait()
}

// Start starts a process. It never fails: a process that cannot start is
// one whose Exit says why.
func Start(ctx context.Context, s Spec) *Process {
	p := &Process{done: make(chan struct{}), stop: func() {}}
	var cancel context.CancelFunc
	if s.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	wait, err := start(ctx, s, p)
	if err != nil {
		cancel()
		p.exit = Exit{Err: err}
		close(p.done)
		return p
	}
	go func() {
		defer close(p.done)
		defer cancel()
		p.exit = wait()
		p.exit.Started = true
		if ctx.Err() == context.DeadlineExceeded {
			p.exit.TimedOut = true
		} else if ctx.Err() != nil && !p.exit.Success() {
			p.exit.Cancelled = true
		}
	}()
	return p
}

// waitDelay bounds how long Wait waits for the process's output after it
// exits: something it started may hold the output open.
const waitDelay = 3 * time.Second

// environ is the environment a child gets when the Spec names none.
func environ(s Spec) []string {
	if s.Env != nil {
		return s.Env
	}
	return os.Environ()
}
