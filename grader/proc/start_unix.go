//go:build unix

package proc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// report is what the supervisor tells the grader on fd 3: first the pid of
// the program (its process group), then how it ended.
type report struct {
	Pid       int    `json:"pid,omitempty"`
	Final     bool   `json:"final,omitempty"`
	Code      int    `json:"code"`
	Signal    string `json:"signal,omitempty"`
	Leftovers bool   `json:"leftovers,omitempty"`
	// OverMemory: the program's resident memory passed the limit, and the
	// supervisor killed it.
	OverMemory bool   `json:"overmemory,omitempty"`
	MaxRSS     int64  `json:"maxrss,omitempty"`
	Error      string `json:"error,omitempty"`
}

func start(ctx context.Context, s Spec, p *Process) (func() Exit, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the grader's own executable: %w", err)
	}
	rr, rw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	args := append([]string{strconv.FormatInt(dataLimit(s), 10), s.Path}, s.Args...)
	cmd := exec.Command(self, args...)
	cmd.Env = append(without(environ(s), envSupervise), envSupervise+"=1")
	cmd.Dir = s.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s.Stdin, s.Stdout, s.Stderr
	cmd.ExtraFiles = []*os.File{rw}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithParent(cmd.SysProcAttr, syscall.SIGTERM) // the supervisor cleans up, then exits
	cmd.WaitDelay = waitDelay
	err = onSpawner(cmd.Start)
	rw.Close()
	if err != nil {
		rr.Close()
		return nil, err
	}

	var group atomic.Int64 // the program's process group, once reported
	reported := make(chan report, 1)
	go func() {
		defer rr.Close()
		var final report
		dec := json.NewDecoder(io.LimitReader(rr, 64<<10))
		for {
			var r report
			if dec.Decode(&r) != nil {
				break
			}
			if r.Pid > 1 {
				group.Store(int64(r.Pid))
			}
			if r.Final || r.Error != "" {
				final = r
			}
		}
		reported <- final
	}()
	var killed atomic.Bool
	p.stop = func() {
		killed.Store(true)
		if g := group.Load(); g > 0 {
			syscall.Kill(-int(g), syscall.SIGKILL)
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	go func() {
		select {
		case <-ctx.Done():
			p.stop()
		case <-p.done:
		}
	}()

	return func() Exit {
		waitErr := cmd.Wait()
		r := <-reported
		switch {
		case r.Error != "":
			return Exit{Code: -1, Err: errors.New(r.Error)}
		case r.Final:
			e := Exit{Code: r.Code, Signal: r.Signal, Leftovers: r.Leftovers, MaxRSS: r.MaxRSS, OverMemory: r.OverMemory}
			if errors.Is(waitErr, exec.ErrWaitDelay) {
				e.Leftovers = true // something kept the output open
			}
			return e
		case killed.Load():
			return Exit{Code: -1, Signal: "SIGKILL"}
		}
		return Exit{Code: -1, Err: fmt.Errorf("the supervisor of %s ended without a report: %v", s.Path, waitErr)}
	}, nil
}

// memoryCheck is how often the supervisor reads the program's resident
// memory.
const memoryCheck = 100 * time.Millisecond

// rssLimit is the resident memory at which the supervisor kills the
// program, given the data limit it set: a little above it, so that what
// the data limit catches is reported by the runtime itself.
func rssLimit(data int64) int64 { return data + data/4 }

// dataLimit is the RLIMIT_DATA the supervisor sets. The race detector maps
// about three bytes of shadow memory per byte of heap, and 300 MiB at start.
func dataLimit(s Spec) int64 {
	if s.MemoryLimit <= 0 {
		return 0
	}
	if s.Race {
		return 4*s.MemoryLimit + 512<<20
	}
	return s.MemoryLimit
}

// onSpawner runs start on one OS thread that never exits. Linux sends the
// death signal when the thread that started a child ends, not the process,
// and Go may end a thread under a goroutine that locked it.
func onSpawner(start func() error) error {
	spawnerOnce.Do(func() {
		spawns = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the grader
			for f := range spawns {
				f()
			}
		}()
	})
	errc := make(chan error, 1)
	spawns <- func() { errc <- start() }
	return <-errc
}

var (
	spawnerOnce sync.Once
	spawns      chan func()
)

func without(env []string, name string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if len(kv) > len(name) && kv[:len(name)+1] == name+"=" {
			continue
		}
		out = append(out, kv)
	}
	return out
}
