package breaker

// Part 3: generations. A call's result says something about the moment the
// call started; once the breaker has changed state since then, it has
// judged that moment already, and the result must not count again.

import (
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
			"a result from before the last state change does not count (compare its Generation with the breaker's): the breaker already opened for those failures, and a probe has not failed")
		succeed(t, b, 2)
		wantState(t, b, Closed, "the two probes succeeded", "MaxProbes successes close the breaker")
	})
}

func TestLateSuccessesDoNotCloseTheBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(threeStrikes)
		var slow []Generation
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

func TestLateResultsAfterAFixedWindowResetDoNotCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{ConsecutiveFailures: 3, Window: 10 * time.Second})
		var slow []Generation
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
			"a fixed window's reset starts a new generation, as a state change does: results of calls from the old window do not count in the new one")
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

// TestManyCallersThroughOutagesAndRecoveries runs hundreds of goroutines
// through outages of a dependency, with the race detector watching.
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
