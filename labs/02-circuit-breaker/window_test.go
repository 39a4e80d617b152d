package breaker

// Part 2: a failure ratio over a window of time, with a minimum volume,
// kept in buckets rather than a list of every call.

import (
	"fmt"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var halfFail = Config{FailureRatio: 0.5, MinRequests: 10, Window: 10 * time.Second, Buckets: 5, Timeout: 30 * time.Second}

func TestRatioNeedsTheMinimumVolume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(halfFail)
		fail(t, b, 4)
		wantState(t, b, Closed, "4 failures in 4 calls with MinRequests 10",
			"a ratio over a handful of calls says little: the ratio rule waits until the window holds MinRequests requests")
		succeed(t, b, 5)
		wantState(t, b, Closed, "4 failures in 9 calls", "below MinRequests the breaker stays closed")
		fail(t, b, 1)
		wantState(t, b, Open, "5 failures in 10 calls with FailureRatio 0.5 and MinRequests 10",
			"once the window holds MinRequests requests, failures/requests >= FailureRatio opens the breaker")
	})
}

func TestRatioCountsCallsStillInProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(halfFail)
		var pending []Ticket
		for range 6 {
			g, err := b.Allow()
			require.NoError(t, err)
			pending = append(pending, g)
		}
		fail(t, b, 4) // 10 requests, 4 failures, 6 in progress
		wantState(t, b, Closed, "4 failures among 10 requests, 6 of them still in progress", "Requests counts calls when they are allowed, not when they end: 4/10 is below 0.5")
		b.Record(pending[0], errBoom)
		wantState(t, b, Open, "5 failures among 10 requests", "5/10 reaches FailureRatio 0.5")
	})
}

func TestFixedWindowStartsOverEveryWindow(t *testing.T) {
	for _, buckets := range []int{0, 1} { // both mean a fixed window
		t.Run(fmt.Sprintf("Buckets_%d", buckets), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := New(Config{ConsecutiveFailures: 5, Window: 10 * time.Second, Buckets: buckets})
				fail(t, b, 4)
				time.Sleep(10 * time.Second)
				assert.Equal(t, uint32(4), b.Counts().ConsecutiveFailures, lesson(
					fmt.Sprintf("Buckets %d: exactly 10s after a fixed window of 10s began, its counts are %+v", buckets, b.Counts()),
					"a fixed window ends strictly after Window has passed, as the open state ends strictly after Timeout (gobreaker's rule: part 4 holds you to it); at exactly Window it still counts"))
				time.Sleep(time.Nanosecond)
				assert.Equal(t, Counts{}, b.Counts(), lesson(
					fmt.Sprintf("Buckets %d: a fixed window of 10s ended and the counts were kept (%+v)", buckets, b.Counts()),
					"with Buckets 0 or 1, the closed state's counts are cleared when Window has passed since the window began: one bucket is a fixed window, not a rolling window of one bucket"))
				fail(t, b, 4)
				wantState(t, b, Closed, "4 failures in the first window and 4 in the next", "a new window, a new count")
			})
		})
	}
}

func TestRollingWindowForgetsOneBucketAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{FailureRatio: 0.9, MinRequests: 10, Window: 10 * time.Second, Buckets: 5}) // 5 buckets of 2s
		for range 5 {
			succeed(t, b, 1)
			fail(t, b, 1)
			time.Sleep(2 * time.Second) // one success and one failure in each bucket
		}
		// Now at 10s: the first bucket (0s to 2s) has left the window.
		got := b.Counts()
		assert.Equal(t, uint32(8), got.Requests, lesson(
			fmt.Sprintf("10s after the first of 5 buckets of 2s began, the window counts %d requests (%+v)", got.Requests, got),
			"a rolling window drops its oldest bucket when a new one begins, and a bucket begins at its first instant (unlike a fixed window, which lasts through its last): at exactly 10s the bucket of 10s-12s has begun, so the 2 calls of 0s-2s are gone and 8 remain"))
		time.Sleep(time.Second)
		got = b.Counts()
		assert.Equal(t, uint32(8), got.Requests, lesson(
			fmt.Sprintf("at 11s, halfway through the bucket of 10s-12s, the window counts %d requests (%+v)", got.Requests, got),
			"a call belongs to the bucket its instant falls in, [start, start+Window/Buckets), counted from the last state change: the 2 calls at exactly 2s are in the bucket of 2s-4s, which stays in the window until 12s"))
		time.Sleep(3 * time.Second)
		got = b.Counts()
		assert.Equal(t, Counts{Requests: 4, TotalSuccesses: 2, TotalFailures: 2, ConsecutiveFailures: got.ConsecutiveFailures, ConsecutiveSuccesses: got.ConsecutiveSuccesses}, got,
			"4s later, two more buckets are gone")
		time.Sleep(time.Hour)
		assert.Zero(t, b.Counts().Requests, "after an hour of silence the window is empty")
	})
}

func TestRollingWindowStartsEmptyAfterAStateChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{FailureRatio: 0.5, MinRequests: 4, Window: 10 * time.Second, Buckets: 5, Timeout: 5 * time.Second} // 5 buckets of 2s
		b := New(cfg)
		succeed(t, b, 2)
		time.Sleep(2 * time.Second)
		fail(t, b, 2) // 2 of 4 fail: the breaker opens
		require.Equal(t, Open, b.State(), "2 failures in 4 calls with FailureRatio 0.5 and MinRequests 4")
		time.Sleep(cfg.Timeout + time.Second)
		succeed(t, b, 1) // the probe closes the breaker
		require.Equal(t, Closed, b.State())
		succeed(t, b, 3)
		for range 6 { // walk the new window through every bucket
			time.Sleep(2 * time.Second)
			got := b.Counts()
			if !assert.LessOrEqual(t, got.Requests, uint32(3), lesson(
				fmt.Sprintf("the breaker closed, took 3 calls, and as its window rolled on it counts %+v", got),
				"every state change starts the window empty, buckets and all: a bucket kept from before is later taken out of totals that never held it")) {
				return
			}
		}
	})
}

func TestResultCountsInTheBucketItsCallStartedIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(halfFail) // 5 buckets of 2s
		slow, err := b.Allow()
		require.NoError(t, err)
		time.Sleep(3 * time.Second) // the call ends in the second bucket
		b.Record(slow, errBoom)
		require.Equal(t, uint32(1), b.Counts().TotalFailures)
		time.Sleep(7 * time.Second) // 10s: the bucket the call started in leaves the window
		assert.Zero(t, b.Counts().TotalFailures, lesson(
			"a call started at 0s and failed at 3s; at 10s its failure is still counted",
			"a result belongs to the bucket its call started in (the Ticket says which), and leaves the window with it, together with its request"))

		late, err := b.Allow() // at 10s
		require.NoError(t, err)
		time.Sleep(11 * time.Second)
		b.Record(late, errBoom)
		assert.Zero(t, b.Counts().TotalFailures, lesson(
			"a call started at 10s failed at 21s, after its bucket had left the 10s window, and was counted",
			"a result whose bucket has already left the window is not counted: the window no longer holds its request either"))
	})
}

func TestWindowMemoryStaysBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{FailureRatio: 0.9, MinRequests: 10, Window: time.Hour, Buckets: 60})
		const calls = 1_000_000
		succeed(t, b, 1000) // warm up
		before := heapInUse()
		for i := range calls {
			g, err := b.Allow()
			if err != nil {
				t.Fatalf("call %d rejected: %v", i, err)
			}
			if i%10 == 0 {
				b.Record(g, errBoom)
			} else {
				b.Record(g, nil)
			}
		}
		grown := heapInUse() - before
		runtime.KeepAlive(b)
		assert.Less(t, grown, int64(64<<10), lesson(
			fmt.Sprintf("a million calls within one window grew the heap by %.1f MB", float64(grown)/(1<<20)),
			"a window keeps a count per bucket, not a record per call: its size depends on Buckets, never on traffic"))
		assert.Equal(t, uint32(calls+1000), b.Counts().Requests)
	})
}

// heapInUse is the live heap after a full collection.
func heapInUse() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
