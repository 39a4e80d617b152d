// Package lockstep makes concurrency bugs show up every time, not once in a
// thousand runs. Code under test calls into a dependency (a store, a
// network); the tests put a Gate or Turns at that boundary and so decide how
// the calls of many goroutines interleave.
//
// A Gate holds every call until the whole test is quiescent, meaning every
// goroutine is blocked, and then lets all the held calls go at once. Code
// that checks and then acts without holding a lock has all its checks released
// together, before any act, so the race it contains always happens. Correct
// code is never hurried: the Gate waits until nothing else can move.
//
// Turns makes a few actors take strict turns at the boundary, for
// dependencies whose replies arrive over a real network, where "quiescent"
// cannot be seen.
//
// Together releases a few callers at the same instant, round after round,
// for two steps a few instructions apart that should have been one: no
// dependency sits between them, so only numbers of rounds catch it.
package lockstep

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// StuckAfter is how long Run waits while every goroutine is blocked and none
// is at the gate before it calls the code under test stuck.
var StuckAfter = 10 * time.Second

// Gate holds calls until the test is quiescent. The zero value is ready.
type Gate struct {
	mu      sync.Mutex
	running bool // inside Run; otherwise calls pass freely
	waiting []chan struct{}
	rounds  int
	widest  int
}

// Pass is called by the instrumented dependency before each call: it blocks
// until the Gate lets the call go. Outside Run it returns at once.
func (g *Gate) Pass() {
	g.mu.Lock()
	if !g.running {
		g.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	g.waiting = append(g.waiting, ch)
	g.mu.Unlock()
	<-ch
}

// Stats describes a Run.
type Stats struct {
	// Rounds is how many times the gate opened: the length of the longest
	// chain of calls that had to wait for each other. Work that runs in
	// parallel takes few rounds; work serialized behind one lock takes many.
	Rounds int
	// Widest is the most calls that were let through in one round.
	Widest int
}

// Run starts n workers, calls work(i) in each, and opens the gate each time
// the test is quiescent, until every worker has returned. If every goroutine
// stays blocked with no call at the gate, the code under test is stuck
// (deadlocked, or waiting on a worker that will never come) and Run fails
// the test with the workers' stacks.
func (g *Gate) Run(t testing.TB, n int, work func(i int)) Stats {
	t.Helper()
	g.mu.Lock()
	g.running, g.rounds, g.widest = true, 0, 0
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.running = false
		g.mu.Unlock()
	}()
	var wg sync.WaitGroup
	done := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(i)
		}()
	}
	go func() { wg.Wait(); close(done) }()

	stuckSince := time.Time{}
	for {
		select {
		case <-done:
			return g.stats()
		default:
		}
		if !quiescent() {
			stuckSince = time.Time{}
			runtime.Gosched()
			continue
		}
		if g.release() {
			stuckSince = time.Time{}
			continue
		}
		// Quiescent with nothing at the gate: a worker may be about to
		// finish, or sleeping on a timer; give it time before calling
		// it stuck.
		if stuckSince.IsZero() {
			stuckSince = time.Now()
		} else if time.Since(stuckSince) > StuckAfter {
			t.Fatalf("lockstep: every goroutine has been blocked for %v and none is calling the store; the code under test is stuck (a deadlock?). Goroutines:\n%s", StuckAfter, allStacks())
		}
		select {
		case <-done:
		case <-time.After(time.Millisecond):
		}
	}
}

func (g *Gate) release() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.waiting) == 0 {
		return false
	}
	g.rounds++
	g.widest = max(g.widest, len(g.waiting))
	for _, ch := range g.waiting {
		close(ch)
	}
	g.waiting = nil
	return true
}

func (g *Gate) stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return Stats{Rounds: g.rounds, Widest: g.widest}
}

// quiescent reports whether every goroutine but the caller is blocked: none
// is running or ready to run. Unlike testing/synctest, a goroutine waiting
// for a sync.Mutex counts as blocked, so code that holds a lock across a
// call works under a Gate.
func quiescent() bool {
	stacks := allStacks()
	first := true
	for _, line := range strings.Split(string(stacks), "\n") {
		if !strings.HasPrefix(line, "goroutine ") {
			continue
		}
		if first { // the caller itself, always running
			first = false
			continue
		}
		from, to := strings.IndexByte(line, '['), strings.IndexByte(line, ']')
		if from < 0 || to < from {
			continue
		}
		state, _, _ := strings.Cut(line[from+1:to], ",")
		state = strings.TrimSuffix(state, " (scan)")
		switch state {
		case "running", "runnable", "preempted", "copystack":
			return false
		}
	}
	return true
}

func allStacks() []byte {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return bytes.Clone(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// String describes the stats for a failure message.
func (s Stats) String() string {
	return fmt.Sprintf("%d rounds, at most %d calls at once", s.Rounds, s.Widest)
}
