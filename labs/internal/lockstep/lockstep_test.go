package lockstep

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// counter is a tiny "store" whose calls pass a gate.
type counter struct {
	gate *Gate
	mu   sync.Mutex
	n    int
}

func (c *counter) get() int {
	c.gate.Pass()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *counter) set(n int) {
	c.gate.Pass()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n = n
}

func TestGateAlwaysExposesCheckThenAct(t *testing.T) {
	for run := 0; run < 20; run++ {
		c := &counter{gate: &Gate{}}
		stats := c.gate.Run(t, 10, func(int) {
			v := c.get() // no lock between the read and the write: a lost update
			c.set(v + 1)
		})
		require.Equal(t, 1, c.n, "run %d: all ten reads must be let through before any write", run)
		assert.Equal(t, 2, stats.Rounds)
		assert.Equal(t, 10, stats.Widest)
	}
}

func TestGateLetsLockedCodeFinishCorrectly(t *testing.T) {
	c := &counter{gate: &Gate{}}
	var mu sync.Mutex // held across both calls, as careful code would
	stats := c.gate.Run(t, 10, func(int) {
		mu.Lock()
		defer mu.Unlock()
		c.set(c.get() + 1)
	})
	assert.Equal(t, 10, c.n)
	assert.Equal(t, 20, stats.Rounds, "ten workers behind one lock take two rounds each")
	assert.Equal(t, 1, stats.Widest)
}

func TestGateCountsIndependentWorkAsParallel(t *testing.T) {
	gate := &Gate{}
	counters := make([]*counter, 8)
	for i := range counters {
		counters[i] = &counter{gate: gate}
	}
	stats := gate.Run(t, 8, func(i int) {
		c := counters[i]
		c.set(c.get() + 1)
	})
	assert.Equal(t, 2, stats.Rounds)
}

func TestGatePassesFreelyOutsideRun(t *testing.T) {
	c := &counter{gate: &Gate{}}
	c.set(3)
	assert.Equal(t, 3, c.get())
}

// fatalTB records Fatalf and ends the calling goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = format
	runtime.Goexit()
}

func TestGateReportsCodeThatIsStuck(t *testing.T) {
	defer func(d time.Duration) { StuckAfter = d }(StuckAfter)
	StuckAfter = 50 * time.Millisecond
	gate := &Gate{}
	never := make(chan struct{})
	defer close(never)
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		gate.Run(tb, 1, func(int) { <-never }) // blocked, and not at the gate
	}()
	<-done
	assert.Contains(t, tb.msg, "stuck")
}

func TestTurnsAlternateAndSkipFinishedActors(t *testing.T) {
	turns := NewTurns(2)
	var mu sync.Mutex
	var order []string
	record := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	var wg sync.WaitGroup
	for a, calls := range []int{2, 4} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer turns.Finish(a)
			for i := 0; i < calls; i++ {
				turns.Do(a, func() { record(string(rune('A'+a)) + string(rune('1'+i))) })
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, []string{"A1", "B1", "A2", "B2", "B3", "B4"}, order)
	assert.Zero(t, turns.Overtaken)
}

func TestTogetherCallsEveryCallerInEveryRound(t *testing.T) {
	const callers, rounds = 3, 1200 // more than one chunk of goroutines
	var calls [rounds][callers]atomic.Int32
	parallel := Together(callers, rounds, func(c, r int) { calls[r][c].Add(1) })
	for r := range calls {
		for c := range calls[r] {
			if n := calls[r][c].Load(); n != 1 {
				t.Fatalf("caller %d was called %d times in round %d, want once", c, n, r)
			}
		}
	}
	if parallel < 0 || parallel > rounds {
		t.Fatalf("Together reported %d parallel rounds out of %d", parallel, rounds)
	}
}
