package breaker

// Part 3: late results. A call's result says something about the moment the
// call started; once the breaker has changed state since then, it has
// judged that moment already, and the result must not count again.

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/lockstep"
)

func TestLateFailureFromBeforeTheBreakerOpenedDoesNotCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(threeStrikes)
		slow, err := b.Allow() // a slow call, started while closed
		require.NoError(t, err)
		open(t, b, 3)
		time.Sleep(threeStrikes.Timeout + time.Second)
		require.Equal(t, HalfOpen, b.State())

		b.Record(slow, errBoom) // its failure arrives only now
		wantState(t, b, HalfOpen, "a call started while closed failed after the breaker had opened and half-opened",
			"a result from before the last state change does not count: the breaker already opened for those failures, and a probe has not failed")
		succeed(t, b, 2)
		wantState(t, b, Closed, "the two probes succeeded", "MaxProbes successes close the breaker")
	})
}

func TestLateSuccessesDoNotCloseTheBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(threeStrikes)
		var slow []Ticket
		for range 2 {
			g, err := b.Allow()
			require.NoError(t, err)
			slow = append(slow, g)
		}
		open(t, b, 3)
		time.Sleep(threeStrikes.Timeout + time.Second)
		for _, g := range slow {
			b.Record(g, nil)
		}
		wantState(t, b, HalfOpen, "two calls started while closed succeeded after the breaker half-opened",
			"only probes, calls allowed in the half-open state, can close the breaker; results from before count for nothing")
	})
}

func TestLateFailureFromAnEarlierClosedStateDoesNotCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{ConsecutiveFailures: 2, Timeout: 10 * time.Second}
		b := New(cfg)
		slow, err := b.Allow() // a slow call, started while closed
		require.NoError(t, err)
		open(t, b, 2)
		time.Sleep(cfg.Timeout + time.Second)
		succeed(t, b, 1) // the probe closes the breaker again
		require.Equal(t, Closed, b.State(), "the probe succeeded")

		b.Record(slow, errBoom) // its failure arrives only now
		assert.Equal(t, Counts{}, b.Counts(), lesson(
			"a call started while the breaker was closed failed after it had opened, half-opened and closed again, and the new closed state counts it",
			"closed again is not the same closed: a result counts only in the very cycle its call started in, and this one's cycle ended when the breaker opened for failures like it"))
		fail(t, b, 1)
		wantState(t, b, Closed, "one failure since the breaker closed again, and a late one from before it opened",
			"ConsecutiveFailures 2 counts failures of calls started since the last state change only")
	})
}

func TestLateResultsAfterAFixedWindowResetDoNotCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{ConsecutiveFailures: 3, Window: 10 * time.Second})
		var slow []Ticket
		for range 3 {
			g, err := b.Allow()
			require.NoError(t, err)
			slow = append(slow, g)
		}
		time.Sleep(11 * time.Second) // the window is reset while they run
		for _, g := range slow {
			b.Record(g, errBoom)
		}
		wantState(t, b, Closed, "3 calls of the first window failed after it was reset",
			"a fixed window's reset starts a new count, as a state change does: results of calls from the old window do not count in the new one")
		assert.Equal(t, Counts{}, b.Counts(), lesson(
			"3 calls of the first window failed just after it ended, with no other call in between, and the new window counts them",
			"apply the passing of time before comparing a result's Ticket: the first result after a window ends must already see the new one"))
	})
}

func TestHalfOpenLetsMaxProbesThroughUnderConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{ConsecutiveFailures: 3, Timeout: 10 * time.Second, MaxProbes: 3}
		b := New(cfg)
		open(t, b, 3)
		time.Sleep(cfg.Timeout + time.Second)
		const callers = 300
		var mu sync.Mutex
		allowed := 0
		var wg sync.WaitGroup
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := b.Allow(); err == nil {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int(cfg.MaxProbes), allowed, lesson(
			fmt.Sprintf("%d goroutines asked a half-open breaker at once and %d were let through", callers, allowed),
			"the check (fewer than MaxProbes in progress) and the count (one more) must happen under one lock, or many callers pass the check together"))
	})
}

// TestHalfOpenProbesAreCheckedAndCountedInOneStep releases a few callers
// at once, through a spinning barrier, on many half-open breakers in turn.
// Between a check and its count there are only a few instructions, so one
// round rarely catches a breaker that lets go of its lock there; tens of
// thousands of rounds catch it every run (on a machine with two or more
// CPUs, where callers really run at the same time).
func TestHalfOpenProbesAreCheckedAndCountedInOneStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{ConsecutiveFailures: 1, Timeout: 10 * time.Second, MaxProbes: 1}
		callers := min(max(runtime.GOMAXPROCS(0), 2), 4)
		const rounds = lockstep.ParallelRounds
		lockstep.InBatches(t, func() (parallel int, ok bool) {
			bs := dueToHalfOpen(t, cfg, rounds)
			allowed := make([]atomic.Int32, rounds)
			parallel = lockstep.Together(callers, rounds, func(_, r int) {
				if _, err := bs[r].Allow(); err == nil {
					allowed[r].Add(1)
				}
			})
			over, most := 0, int32(0)
			for r := range allowed {
				if n := allowed[r].Load(); n > int32(cfg.MaxProbes) {
					over, most = over+1, max(most, n)
				}
			}
			return parallel, assert.Zero(t, over, lesson(
				fmt.Sprintf("%d callers released together on each of %d half-open breakers with MaxProbes 1: %d breakers let more than one through (up to %d)",
					callers, rounds, over, most),
				"checking the limit (fewer than MaxProbes so far) and counting the probe (one more) are one step, under one lock held across both: let go of the lock in between, and callers that arrive together all pass the check before any of them is counted"))
		})
	})
}

// TestReadingTheBreakerWhileACallerCallsIsSafe has a dashboard read State
// or Counts at the same instant as a caller's probe, on many breakers that
// are due to half-open. Reading applies the passing of time, as Allow
// does: both may find the breaker due and move it on at once. Released
// together round after round, the two show a missing lock with or without
// the race detector (on two or more CPUs).
func TestReadingTheBreakerWhileACallerCallsIsSafe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{ConsecutiveFailures: 1, Timeout: 10 * time.Second, MaxProbes: 1}
		const rounds = lockstep.ParallelRounds
		lockstep.InBatches(t, func() (parallel int, ok bool) {
			bs := dueToHalfOpen(t, cfg, rounds)
			parallel = lockstep.Together(2, rounds, func(caller, r int) {
				b := bs[r]
				switch {
				case caller == 0: // a probe, and it succeeds
					if tk, err := b.Allow(); err == nil {
						b.Record(tk, nil)
					}
				case r%2 == 0: // the dashboard
					_ = b.State()
				default:
					_ = b.Counts()
				}
			})
			notClosed := 0
			for _, b := range bs {
				if b.State() != Closed {
					notClosed++
				}
			}
			return parallel, assert.Zero(t, notClosed, lesson(
				fmt.Sprintf("on %d breakers due to half-open, a caller's probe succeeded while a dashboard read State or Counts at the same instant: %d breakers did not close", rounds, notClosed),
				"State and Counts apply the passing of time, so they write: they take the same lock as Allow and Record, or a reader and a caller both move the breaker on, and the probe's result lands in a cycle it did not start in"))
		})
	})
}

// dueToHalfOpen returns n breakers of cfg (ConsecutiveFailures 1), each
// opened by one failure and, once the clock has moved past cfg.Timeout,
// due to half-open at the next call.
func dueToHalfOpen(t *testing.T, cfg Config, n int) []*Breaker {
	t.Helper()
	bs := make([]*Breaker, n)
	for i := range bs {
		bs[i] = New(cfg)
		fail(t, bs[i], 1)
	}
	time.Sleep(cfg.Timeout + time.Nanosecond)
	return bs
}

// TestManyCallersThroughOutagesAndRecoveries runs hundreds of goroutines
// through outages of a dependency, and a dashboard reading State and Counts,
// with the race detector watching.
func TestManyCallersThroughOutagesAndRecoveries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{FailureRatio: 0.5, MinRequests: 20, Window: 10 * time.Second, Buckets: 10, Timeout: 5 * time.Second, MaxProbes: 2}
		b := New(cfg)
		start := time.Now()
		down := func() bool { // down for 20s of every minute
			return time.Since(start)%time.Minute < 20*time.Second
		}
		const callers = 200
		var wg sync.WaitGroup
		var mu sync.Mutex
		rejectedWhileUp, allowedWhileDown := 0, 0
		wg.Go(func() { // a dashboard: State and Counts are read while callers call
			for range 3000 {
				time.Sleep(100 * time.Millisecond)
				_, _ = b.State(), b.Counts()
			}
		})
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 300 {
					time.Sleep(time.Second + time.Duration(i)*time.Millisecond)
					g, err := b.Allow()
					mu.Lock()
					switch {
					case err != nil && !down() && time.Since(start)%time.Minute > 40*time.Second:
						rejectedWhileUp++
					case err == nil && down() && time.Since(start)%time.Minute > 10*time.Second:
						allowedWhileDown++
					}
					mu.Unlock()
					if err != nil {
						continue
					}
					latency := time.Duration(i%7) * 100 * time.Millisecond
					time.Sleep(latency)
					if down() {
						b.Record(g, errBoom)
					} else {
						b.Record(g, nil)
					}
				}
			}()
		}
		wg.Wait()
		assert.Zero(t, rejectedWhileUp, lesson("calls were rejected long after the dependency had recovered",
			"a breaker must find its way back: open, half-open after Timeout, closed after MaxProbes successes"))
		assert.Less(t, allowedWhileDown, callers*5, lesson(
			fmt.Sprintf("%d calls were let through to a dependency that had been down for over 10s", allowedWhileDown),
			"once open, a breaker lets through only probes, at most MaxProbes at a time, one round per Timeout"))
	})
}
