package breaker

// Part 1: the state machine. closed → open after too many failures; open
// rejects at once; after Timeout, half-open lets MaxProbes probes through;
// their successes close it, one failure opens it again.

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var threeStrikes = Config{ConsecutiveFailures: 3, Timeout: 10 * time.Second, MaxProbes: 2}

func TestClosedBreakerLetsCallsThroughAndCountsThem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(threeStrikes)
		_, err := b.Allow()
		require.NoError(t, err, "a new breaker is closed: calls go through")
		b2 := New(threeStrikes)
		succeed(t, b2, 2)
		fail(t, b2, 1)
		assert.Equal(t, Counts{Requests: 3, TotalSuccesses: 2, TotalFailures: 1, ConsecutiveFailures: 1}, b2.Counts(),
			"two successes then a failure")
		assert.Equal(t, Closed, b2.State())
	})
}

func TestBreakerOpensAfterConsecutiveFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(threeStrikes)
		fail(t, b, 2)
		succeed(t, b, 1)
		fail(t, b, 2)
		wantState(t, b, Closed, "failures: 2, then a success, then 2", "a success breaks a run of failures: ConsecutiveFailures counts failures in a row")
		fail(t, b, 1)
		wantState(t, b, Open, "3 failures in a row with ConsecutiveFailures 3", "ConsecutiveFailures failures in a row open the breaker (cfg.ShouldTrip)")
	})
}

func TestOpenBreakerRejectsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(threeStrikes)
		open(t, b, 3)
		before := time.Now()
		for i := range 100 {
			_, err := b.Allow()
			require.ErrorIs(t, err, ErrOpen, lesson(fmt.Sprintf("call %d to an open breaker", i+1),
				"an open breaker rejects every call with ErrOpen, without making it: failing fast is the point"))
		}
		assert.Equal(t, before, time.Now(), "rejecting takes no time")
		assert.Zero(t, b.Counts().Requests, "a rejected call is not a request")
	})
}

func TestOpenLastsExactlyTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(threeStrikes)
		open(t, b, 3)
		time.Sleep(threeStrikes.Timeout)
		_, err := b.Allow()
		assert.ErrorIs(t, err, ErrOpen, lesson("a call exactly Timeout after the breaker opened was let through",
			"the breaker stays open for Timeout, and half-opens strictly after it (gobreaker's rule, kept here so that part 4 agrees)"))
		time.Sleep(time.Nanosecond)
		wantState(t, b, HalfOpen, "a nanosecond after Timeout", "after Timeout an open breaker is half-open")
		_, err = b.Allow()
		assert.NoError(t, err, "a half-open breaker lets a probe through")
	})
}

func TestHalfOpenLetsAtMostMaxProbesThrough(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(threeStrikes)
		open(t, b, 3)
		time.Sleep(threeStrikes.Timeout + time.Second)
		allowed := 0
		var last error
		for range 10 {
			if _, err := b.Allow(); err == nil {
				allowed++
			} else {
				last = err
			}
		}
		assert.Equal(t, int(threeStrikes.MaxProbes), allowed, lesson(
			fmt.Sprintf("a half-open breaker with MaxProbes %d let %d of 10 calls through at once", threeStrikes.MaxProbes, allowed),
			"half-open lets only MaxProbes calls through: a dependency that is just coming back must not get the whole load at once"))
		assert.ErrorIs(t, last, ErrTooManyProbes, "the calls beyond MaxProbes are rejected with ErrTooManyProbes")
	})
}

func TestProbeSuccessesCloseTheBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(threeStrikes)
		open(t, b, 3)
		time.Sleep(threeStrikes.Timeout + time.Second)
		succeed(t, b, 1)
		wantState(t, b, HalfOpen, "after 1 successful probe of MaxProbes 2", "MaxProbes successes in a row close the breaker; one is not enough")
		assert.Equal(t, Counts{Requests: 1, TotalSuccesses: 1, ConsecutiveSuccesses: 1}, b.Counts(), lesson(
			fmt.Sprintf("a half-open breaker let one probe through and it succeeded; its counts are %+v", b.Counts()),
			"the half-open state counts its probes in Counts as the closed state counts its calls (gobreaker does too): a request when allowed, and its success in total and in a row"))
		succeed(t, b, 1)
		wantState(t, b, Closed, "after 2 successful probes of MaxProbes 2", "MaxProbes successes in a row close the breaker")
		assert.Equal(t, Counts{}, b.Counts(), lesson("the breaker closed with counts left from half-open",
			"every state change starts the counts from zero"))
	})
}

func TestAFailedProbeOpensTheBreakerAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(threeStrikes)
		open(t, b, 3)
		time.Sleep(threeStrikes.Timeout + time.Second)
		succeed(t, b, 1)
		fail(t, b, 1)
		wantState(t, b, Open, "a success then a failed probe", "one failed probe opens the breaker again: the dependency is not back")
		time.Sleep(threeStrikes.Timeout)
		_, err := b.Allow()
		assert.ErrorIs(t, err, ErrOpen, "open again for a full Timeout from the failed probe")
		time.Sleep(time.Nanosecond)
		wantState(t, b, HalfOpen, "Timeout after the failed probe", "an open breaker always half-opens after Timeout: without that way back, it stays open forever")
	})
}

func TestCountsStartOverOnEveryStateChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{ConsecutiveFailures: 3, Timeout: 10 * time.Second, MaxProbes: 1})
		open(t, b, 3)
		assert.Equal(t, Counts{}, b.Counts(), lesson("the breaker opened and kept its counts",
			"each state has its own counts: they start from zero at every state change"))
		time.Sleep(11 * time.Second)
		succeed(t, b, 1)
		require.Equal(t, Closed, b.State())
		fail(t, b, 2)
		wantState(t, b, Closed, "2 failures after closing, with ConsecutiveFailures 3",
			"failures from before the breaker closed are not in the new closed state's count")
	})
}

func TestZeroTimeoutAndMaxProbesMeanTheDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{ConsecutiveFailures: 1})
		open(t, b, 1)
		time.Sleep(DefaultTimeout)
		_, err := b.Allow()
		assert.True(t, errors.Is(err, ErrOpen), "Timeout 0 means DefaultTimeout, a minute: still open at exactly a minute")
		time.Sleep(time.Nanosecond)
		_, err = b.Allow()
		assert.NoError(t, err, "half-open after a minute")
		_, err = b.Allow()
		assert.ErrorIs(t, err, ErrTooManyProbes, "MaxProbes 0 means DefaultMaxProbes, 1")
	})
}
