package lockstep

import (
	"sync"
	"time"
)

// TurnTimeout is how long an actor waits for its turn before it goes anyway.
// It only matters when the code under test waits on something other than
// the dependency in between two calls; the interleaving is then not forced.
var TurnTimeout = 10 * time.Second

// Turns makes n actors call a dependency in strict rotation: actor 0's
// first call completes, then actor 1's first call, then actor 0's second,
// and so on. An actor that has finished (see Finish) is skipped. Because
// each call completes before the next starts, the order is the same on
// every run, even when the calls go over a real network.
type Turns struct {
	mu       sync.Mutex
	n        int
	turn     int
	finished []bool
	changed  chan struct{}
	// Overtaken counts calls that stopped waiting for their turn after
	// TurnTimeout; a test can require it to be zero.
	Overtaken int
}

// NewTurns returns turns for n actors, actor 0 first.
func NewTurns(n int) *Turns {
	return &Turns{n: n, finished: make([]bool, n), changed: make(chan struct{})}
}

// Do runs call as actor a's next step, once it is a's turn.
func (t *Turns) Do(a int, call func()) {
	deadline := time.After(TurnTimeout)
	for {
		t.mu.Lock()
		if t.turn == a || t.finished[t.turn] {
			t.mu.Unlock()
			break
		}
		changed := t.changed
		t.mu.Unlock()
		select {
		case <-changed:
			continue
		case <-deadline:
			t.mu.Lock()
			t.Overtaken++
			t.mu.Unlock()
		}
		break
	}
	call()
	t.mu.Lock()
	t.advance(a)
	t.mu.Unlock()
}

// Finish marks actor a as done: the others no longer wait for it.
func (t *Turns) Finish(a int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.finished[a] = true
	if t.turn == a {
		t.advance(a)
	} else {
		t.signal()
	}
}

// advance passes the turn to the next actor after a that has not finished.
func (t *Turns) advance(a int) {
	for i := 1; i <= t.n; i++ {
		next := (a + i) % t.n
		if !t.finished[next] {
			t.turn = next
			break
		}
	}
	t.signal()
}

func (t *Turns) signal() {
	close(t.changed)
	t.changed = make(chan struct{})
}
