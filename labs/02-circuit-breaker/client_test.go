package breaker

// Part 5: a resilient client. All of these run in testing/synctest bubbles:
// waits, timeouts and deadlines use a fake clock, so minutes of traffic take
// milliseconds and times are exact: a call that does not wait takes 0s.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/jitter"
	"github.com/distlings/distlings/labs/internal/seeds"
)

func TestClientCallsReturnFastWhileOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{ConsecutiveFailures: 3, Timeout: time.Minute})
		dep := newFakeDep(depHangs)
		fb := &fallbacks{}
		policy := RetryPolicy{MaxAttempts: 2, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, AttemptTimeout: time.Second}
		c := NewClient(dep.call, b, policy, fb.fallback, seeds.Rand(t))

		first := []callResult{timedCall(c, "a", 5*time.Second), timedCall(c, "b", 5*time.Second)}
		requireWritten(t, first...)
		if b.State() != Open {
			t.Fatal(clientLesson(
				fmt.Sprintf("a dependency that never answers got %d attempts (AttemptTimeout %v), and the breaker (ConsecutiveFailures 3) is %v:\n  %v\n  %v",
					dep.len(), policy.AttemptTimeout, b.State(), first[0], first[1]),
				"an attempt that times out has failed: record it as a failure (b.Record), so that the breaker can see the dependency is down"))
		}

		reached := dep.len()
		var slow []string
		for i := range 50 {
			time.Sleep(time.Second) // still well within the breaker's Timeout
			r := timedCall(c, fmt.Sprintf("req-%d", i), 5*time.Second)
			if r.took > 0 || r.err != nil || r.answer != fallbackAnswer(r.req) {
				slow = append(slow, r.String())
			}
		}
		if len(slow) > 0 {
			t.Error(clientLesson(
				fmt.Sprintf("while the breaker was open, %d of 50 calls did not get the fallback at once (before it opened, calls took %v and %v):\n  %s",
					len(slow), first[0].took.Round(time.Millisecond), first[1].took.Round(time.Millisecond), strings.Join(slow[:min(len(slow), 5)], "\n  ")),
				"when Allow says no, Call answers with the fallback at once: no call, no backoff wait. Failing fast is what the breaker is for: callers get an answer now, not after every timeout"))
		}
		assert.Equal(t, reached, dep.len(), "while the breaker was open, no call may reach the dependency")
	})
}

func TestClientDoesNotRetryWhenTheBreakerRejects(t *testing.T) {
	policy := RetryPolicy{MaxAttempts: 5, BaseDelay: time.Second, MaxDelay: 10 * time.Second, AttemptTimeout: 10 * time.Second}
	// check makes a call the breaker rejects with want; calls is how many
	// calls the dependency must have had, all before this one.
	check := func(t *testing.T, c *Client, fb *fallbacks, dep *fakeDep, want error, calls int) {
		t.Helper()
		before := len(fb.all())
		r := timedCall(c, "rejected", time.Minute)
		asked := "the fallback was not asked"
		var cause error
		if causes := fb.all(); len(causes) > before {
			cause = causes[len(causes)-1]
			asked = fmt.Sprintf("the fallback was asked with cause %q", cause)
		}
		ok := r.took == 0 && r.err == nil && r.answer == fallbackAnswer(r.req) && errors.Is(cause, want)
		assert.True(t, ok, clientLesson(
			fmt.Sprintf("Allow said %q, and Call returned %s; %s", want, r, asked),
			"a rejection is the breaker's answer, not a failed attempt: do not wait and ask again, return the fallback's answer at once, with Allow's error as its cause"))
		assert.Equal(t, calls, dep.len(), "the dependency must not be called when Allow says no")
	}

	t.Run("open", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			dep := newFakeDep(depFails)
			fb := &fallbacks{}
			c := NewClient(dep.call, New(Config{ConsecutiveFailures: 1, Timeout: time.Minute}), policy, fb.fallback, seeds.Rand(t))
			requireWritten(t, timedCall(c, "trips the breaker", time.Minute))
			require.Equal(t, 1, dep.len(), clientLesson(
				fmt.Sprintf("the first attempt failed and opened the breaker (ConsecutiveFailures 1), yet the dependency got %d calls", dep.len()),
				"ask Allow before every attempt, retries included, and make no call when it says no"))
			check(t, c, fb, dep, ErrOpen, 1)
		})
	})
	t.Run("half-open", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			dep := newFakeDep(depFails)
			fb := &fallbacks{}
			c := NewClient(dep.call, New(Config{ConsecutiveFailures: 1, Timeout: time.Minute, MaxProbes: 1}), policy, fb.fallback, seeds.Rand(t))
			requireWritten(t, timedCall(c, "trips the breaker", time.Minute))
			time.Sleep(time.Minute + time.Second)

			dep.setScript(depSlow(2*time.Second, depWorks))
			done := make(chan callResult)
			go func() { done <- timedCall(c, "the probe", time.Minute) }()
			synctest.Wait() // the probe is with the dependency
			check(t, c, fb, dep, ErrTooManyProbes, 2)
			r := <-done
			assert.Equal(t, okAnswer(r.req), r.answer, "the probe must get the dependency's answer: %s", r)
		})
	})
}

func TestClientLoadOnAFailingDependencyStaysWithinBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := outage(t)
		hits := 0
		for _, a := range o.dep.arrivals() {
			if a.at.Before(o.recovery()) {
				hits++
			}
		}
		cfg := outageConfig
		periods := int(outageDown/cfg.Timeout) + 1
		budget := int(cfg.ConsecutiveFailures) + outageCallers + int(cfg.MaxProbes)*periods
		assert.LessOrEqual(t, hits, budget, clientLesson(
			fmt.Sprintf("the dependency was down for %v, and %d callers calling every %v sent it %d calls in that time. "+
				"The budget is %d: %d failures to trip the breaker, %d calls already in flight when it tripped (one per caller), "+
				"and %d probes per %v Timeout, %d times",
				outageDown, outageCallers, outagePace, hits, budget, cfg.ConsecutiveFailures, outageCallers, cfg.MaxProbes, cfg.Timeout, periods),
			"every attempt asks the breaker first and makes no call when Allow says no: a dependency that is down needs room to recover, not more traffic"))
	})
}

func TestClientTrafficResumesAfterRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := outage(t)
		from := o.recovery().Add(outageConfig.Timeout + time.Second)
		var after, missed []callResult
		for _, r := range o.results {
			if !r.start.Before(from) {
				after = append(after, r)
				if r.err != nil || r.answer != okAnswer(r.req) {
					missed = append(missed, r)
				}
			}
		}
		require.NotEmpty(t, after, "the callers must keep calling after the dependency is back")
		first := ""
		if len(missed) > 0 {
			r := slices.MinFunc(missed, func(a, b callResult) int { return a.start.Compare(b.start) })
			first = fmt.Sprintf(" (the first, %v after recovery: %s)", r.start.Sub(o.recovery()).Round(time.Millisecond), r)
		}
		assert.Zero(t, len(missed), clientLesson(
			fmt.Sprintf("the dependency was back after %v, and the breaker's Timeout is %v; of the %d calls made from %v after recovery on, %d did not get its answer%s. The breaker is %v",
				outageDown, outageConfig.Timeout, len(after), from.Sub(o.recovery()), len(missed), first, o.breaker.State()),
			"report every result to the breaker, successes too: a half-open breaker closes only when it hears that its probes succeeded, and until then it lets almost nothing through"))
	})
}

func TestClientRespectsTheCallersDeadline(t *testing.T) {
	cases := []struct {
		name     string
		script   depScript
		policy   RetryPolicy
		deadline time.Duration
	}{
		{"the dependency hangs", depHangs,
			RetryPolicy{MaxAttempts: 3, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, AttemptTimeout: time.Minute}, 2 * time.Second},
		{"the backoff is long", depFails,
			RetryPolicy{MaxAttempts: 5, BaseDelay: time.Minute, MaxDelay: time.Hour, AttemptTimeout: time.Second}, 3 * time.Second},
		{"the deadline has passed", depWorks, DefaultRetryPolicy, 0},
		{"the deadline comes during the last attempt", depHangs,
			RetryPolicy{MaxAttempts: 1, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, AttemptTimeout: time.Minute}, 2 * time.Second},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dep := newFakeDep(tc.script)
				c := NewClient(dep.call, New(Config{ConsecutiveFailures: 1000}), tc.policy, (&fallbacks{}).fallback, seeds.Rand(t))
				r := timedCall(c, "req", tc.deadline)
				requireWritten(t, r)

				assert.ErrorIs(t, r.err, context.DeadlineExceeded, clientLesson(
					fmt.Sprintf("%s, and Call returned %s", tc.name, r),
					"when the caller's ctx ends, Call returns an error that wraps ctx.Err(): not the fallback (the caller has stopped listening), not the last attempt's error"))
				assert.LessOrEqual(t, r.took, tc.deadline, clientLesson(
					fmt.Sprintf("%s: Call returned %v after it started, past its %v deadline", tc.name, r.took.Round(time.Millisecond), tc.deadline),
					"a deadline is a promise to the caller: Call returns when it comes, whatever it is doing. Give each attempt a context made from ctx, and wait with a timer and a select on ctx.Done(); time.Sleep cannot be interrupted"))
				for _, a := range dep.arrivals() {
					assert.Less(t, a.at.Sub(r.start), tc.deadline, "attempt %d started at %v, not before the %v deadline", a.n, a.at.Sub(r.start), tc.deadline)
				}
			})
		})
	}
}

func TestClientDoesNotBlameTheDependencyWhenTheCallerGivesUp(t *testing.T) {
	policy := RetryPolicy{MaxAttempts: 3, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, AttemptTimeout: 5 * time.Second}
	t.Run("closed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := New(Config{ConsecutiveFailures: 3, Timeout: time.Minute})
			c := NewClient(newFakeDep(depSlow(time.Second, depWorks)).call, b, policy, (&fallbacks{}).fallback, seeds.Rand(t))
			for i := range 5 {
				requireWritten(t, timedCall(c, fmt.Sprintf("impatient-%d", i), 100*time.Millisecond))
			}
			if b.State() != Closed {
				t.Fatal(clientLesson(
					fmt.Sprintf("5 callers gave up after 100ms on a healthy dependency that answers in 1s, and the breaker (ConsecutiveFailures 3) is %v", b.State()),
					"a caller's deadline or cancellation is not the dependency's failure: in the closed state do not record it, or impatient callers shut everyone out"))
			}
			r := timedCall(c, "patient", time.Minute)
			assert.Equal(t, okAnswer(r.req), r.answer, "a patient caller must get the answer: %s", r)
		})
	})
	t.Run("a success as the caller gives up", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := New(Config{ConsecutiveFailures: 2, Timeout: time.Minute})
			dep := newFakeDep(func(ctx context.Context, _ int, req string) (string, error) {
				if req == "late" { // the answer is ready just as the caller leaves
					<-ctx.Done()
					return okAnswer(req), nil
				}
				return "", errDown
			})
			c := NewClient(dep.call, b, RetryPolicy{MaxAttempts: 1, AttemptTimeout: time.Minute}, (&fallbacks{}).fallback, seeds.Rand(t))
			requireWritten(t, timedCall(c, "fails", time.Minute), timedCall(c, "late", 100*time.Millisecond), timedCall(c, "fails", time.Minute))
			if b.State() != Closed {
				t.Fatal(clientLesson(
					fmt.Sprintf("a failure, then a success that came as its caller gave up, then a failure: the breaker (ConsecutiveFailures 2) is %v, counts %+v", b.State(), b.Counts()),
					"only a failure the caller caused is not the dependency's: a success says the dependency works, whenever it comes, so record it even if the caller has given up (check err before ctx.Err())"))
			}
		})
	})
	t.Run("half-open", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := New(Config{ConsecutiveFailures: 1, Timeout: 10 * time.Second})
			dep := newFakeDep(depFails)
			c := NewClient(dep.call, b, policy, (&fallbacks{}).fallback, seeds.Rand(t))
			requireWritten(t, timedCall(c, "trips the breaker", time.Minute))
			time.Sleep(11 * time.Second)
			dep.setScript(depSlow(time.Second, depWorks))
			requireWritten(t, timedCall(c, "the impatient probe", 100*time.Millisecond))
			if b.State() == Closed {
				t.Fatal(clientLesson(
					"the caller of a half-open breaker's only probe gave up before the dependency answered, and the breaker closed",
					"a probe whose caller gave up has not shown that the dependency is back: report it as a failure, the cautious verdict, never as a success"))
			}

			start := time.Now()
			var r callResult
			for time.Since(start) < 3*10*time.Second {
				if r = timedCall(c, "patient", time.Minute); r.answer == okAnswer(r.req) {
					return
				}
				time.Sleep(time.Second)
			}
			t.Error(clientLesson(
				fmt.Sprintf("the caller of a half-open breaker's only probe gave up; for the 30s after that, three times the breaker's Timeout, not one of the calls made every second got the dependency's answer (the last: %s). The breaker is %v",
					r, b.State()),
				"a half-open breaker lets no other call through until it hears how each probe went: always report a probe, as a failure if its caller gave up (the dependency has not shown it is back)"))
		})
	})
}

// TestClientStartsNothingOnceTheCallerHasGivenUp has the caller give up at
// the instant the wait before a retry ends. A select with both ctx.Done()
// and the timer ready picks either at random, so a client that checks ctx
// only before it waits goes on, half the time, as if the caller were still
// there; forty calls show it every run.
func TestClientStartsNothingOnceTheCallerHasGivenUp(t *testing.T) {
	policy := RetryPolicy{MaxAttempts: 3, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, AttemptTimeout: time.Second}
	const calls = 40
	// run makes that many Calls, each with a fresh breaker of cfg, whose first
	// attempt fails; the caller gives up as the wait before the retry ends.
	run := func(t *testing.T, cfg Config) (results []callResult, retries, asked int) {
		for i := range calls {
			src := &cancelOnDraw{}
			dep := newFakeDep(depFails)
			fb := &fallbacks{}
			c := NewClient(dep.call, New(cfg), policy, fb.fallback, rand.New(src))
			ctx, cancel := context.WithCancel(context.Background())
			src.cancel = cancel
			r := callResult{req: fmt.Sprintf("req-%d", i), start: time.Now()}
			r.answer, r.err = c.Call(ctx, r.req)
			r.took = time.Since(r.start)
			cancel()
			requireWritten(t, r)
			results = append(results, r)
			retries += max(0, dep.len()-1)
			asked += len(fb.all())
		}
		return results, retries, asked
	}
	firstWrong := func(rs []callResult) string {
		for _, r := range rs {
			if !errors.Is(r.err, context.Canceled) {
				return r.String()
			}
		}
		return "none"
	}

	t.Run("closed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			_, retries, _ := run(t, Config{ConsecutiveFailures: 1000})
			assert.Zero(t, retries, clientLesson(
				fmt.Sprintf("in %d calls the first attempt failed and the caller gave up as the wait before the retry ended; the dependency still got %d retries, for callers already gone",
					calls, retries),
				"look at ctx after every wait, not only before it: when the timer and ctx.Done() are both ready, select picks either. Whenever ctx has ended, start no attempt: the answer has nobody to go to, and in a half-open breaker that attempt takes the probe, fails it, and opens the breaker again for nothing"))
		})
	})
	t.Run("open", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rs, _, asked := run(t, Config{ConsecutiveFailures: 1, Timeout: time.Hour})
			wrong := 0
			for _, r := range rs {
				if !errors.Is(r.err, context.Canceled) {
					wrong++
				}
			}
			assert.Zero(t, wrong, clientLesson(
				fmt.Sprintf("in %d calls the first attempt failed and opened the breaker, and the caller gave up as the wait before the retry ended; %d calls did not return an error wrapping ctx.Err(), and the fallback was asked %d times (first: %s)",
					calls, wrong, asked, firstWrong(rs)),
				"the fallback is for a dependency that cannot answer, not for a caller who has stopped listening: look at ctx after the wait, before asking the breaker again, and return an error that wraps ctx.Err()"))
		})
	})
}

func TestClientUsesTheFallbackWhenAttemptsRunOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		policy := RetryPolicy{MaxAttempts: 4, BaseDelay: 10 * time.Millisecond, MaxDelay: 100 * time.Millisecond, AttemptTimeout: time.Second}
		dep := newFakeDep(depFails)
		fb := &fallbacks{}
		c := NewClient(dep.call, New(Config{ConsecutiveFailures: 1000}), policy, fb.fallback, seeds.Rand(t))
		r := timedCall(c, "req", time.Minute)
		requireWritten(t, r)

		require.Equal(t, 4, dep.len(), "MaxAttempts is 4 and every attempt failed: the dependency must see 4 calls")
		calls := dep.arrivals()
		lastAt := calls[len(calls)-1].at.Sub(r.start)
		assert.Equal(t, lastAt, r.took, clientLesson(
			fmt.Sprintf("the 4th and last attempt failed at once, %v after Call started, and Call returned only %v after it started", lastAt, r.took),
			"after the last attempt there is no retry to wait for: answer with the fallback at once"))
		assert.Equal(t, fallbackAnswer(r.req), r.answer, clientLesson(
			fmt.Sprintf("all 4 attempts failed, and Call returned %s", r),
			"when the attempts run out, the answer is the fallback's: a cached value or a default is worth more to most callers than an error"))
		if causes := fb.all(); assert.Len(t, causes, 1, "the fallback must be asked once") {
			assert.ErrorIs(t, causes[0], errDown, "the cause given to the fallback must wrap the last attempt's error")
		}

		r = timedCall(NewClient(dep.call, New(Config{ConsecutiveFailures: 1000}), policy, nil, seeds.Rand(t)), "no fallback", time.Minute)
		assert.ErrorIs(t, r.err, errDown, "without a fallback, Call returns an error that wraps the last attempt's: %s", r)
	})
}

func TestClientZeroPolicyMeansTheDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := DefaultRetryPolicy
		latency := d.AttemptTimeout / 2
		dep := newFakeDep(depSlow(latency, depFailsFirst(d.MaxAttempts-1)))
		c := NewClient(dep.call, New(Config{ConsecutiveFailures: 1000}), RetryPolicy{}, (&fallbacks{}).fallback, seeds.Rand(t))
		r := timedCall(c, "req", time.Hour)
		requireWritten(t, r)
		calls := dep.arrivals()
		var gaps []string
		ok := r.answer == okAnswer(r.req) && len(calls) == d.MaxAttempts
		for n := 1; n < len(calls); n++ {
			wait := calls[n].at.Sub(calls[n-1].at) - latency
			gaps = append(gaps, wait.String())
			ok = ok && wait >= 0 && wait < min(d.MaxDelay, d.BaseDelay<<(n-1))
		}
		assert.True(t, ok, clientLesson(
			fmt.Sprintf("with a zero RetryPolicy, a dependency that answers in %v and fails the first %d calls got %d attempts, waits %v between them, and Call returned %s",
				latency, d.MaxAttempts-1, len(calls), gaps, r),
			fmt.Sprintf("a zero field of RetryPolicy takes its value from DefaultRetryPolicy (policy.withDefaults()): %d attempts of %v each, waits bounded by %v doubling up to %v",
				d.MaxAttempts, d.AttemptTimeout, d.BaseDelay, d.MaxDelay)))
	})
}

func TestClientBackoffStaysWithinMaxDelayOverManyRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const attempts = 100
		policy := RetryPolicy{MaxAttempts: attempts, BaseDelay: 50 * time.Millisecond, MaxDelay: time.Second, AttemptTimeout: time.Second}
		dep := newFakeDep(depFails)
		c := NewClient(dep.call, New(Config{ConsecutiveFailures: 1000}), policy, nil, seeds.Rand(t))
		var r callResult
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatal(clientLesson(
						fmt.Sprintf("Call with MaxAttempts %d, BaseDelay %v and MaxDelay %v panicked after %d attempts: %v", attempts, policy.BaseDelay, policy.MaxDelay, dep.len(), p),
						"the bound doubles up to MaxDelay and stays there: stop doubling once it reaches MaxDelay, or BaseDelay<<n overflows a time.Duration after a few dozen retries and the wait goes negative"))
				}
			}()
			r = timedCall(c, "req", time.Hour)
		}()
		requireWritten(t, r)
		calls := dep.arrivals()
		require.Len(t, calls, attempts, "every attempt failed: MaxAttempts %d attempts", attempts)
		var longest, over time.Duration
		for n := 1; n < len(calls); n++ {
			wait := calls[n].at.Sub(calls[n-1].at)
			if wait >= policy.MaxDelay {
				over = max(over, wait)
			}
			if n > 10 { // by then the bound is MaxDelay
				longest = max(longest, wait)
			}
		}
		assert.Zero(t, over, clientLesson(
			fmt.Sprintf("over %d retries a wait lasted %v, with MaxDelay %v", attempts-1, over, policy.MaxDelay),
			"no wait reaches MaxDelay: it is drawn from [0, min(MaxDelay, BaseDelay*2^n)), however many retries came before"))
		assert.GreaterOrEqual(t, longest, policy.MaxDelay*4/5, clientLesson(
			fmt.Sprintf("from the 10th retry on, %d waits drawn with BaseDelay %v and MaxDelay %v were all under %v", attempts-11, policy.BaseDelay, policy.MaxDelay, longest),
			"the bound doubles until it reaches MaxDelay itself, then stays there: it stops at MaxDelay, not at the last doubling below it"))
	})
}

func TestClientTimesOutEachAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dep := newFakeDep(func(ctx context.Context, n int, req string) (string, error) {
			if n == 1 { // the first attempt is lost: no answer ever comes
				return depHangs(ctx, n, req)
			}
			return depWorks(ctx, n, req)
		})
		policy := RetryPolicy{MaxAttempts: 3, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, AttemptTimeout: time.Second}
		b := New(Config{ConsecutiveFailures: 5})
		c := NewClient(dep.call, b, policy, (&fallbacks{}).fallback, seeds.Rand(t))
		r := timedCall(c, "req", 30*time.Second)
		requireWritten(t, r)

		require.Equal(t, okAnswer(r.req), r.answer, clientLesson(
			fmt.Sprintf("the first attempt got no answer, and Call returned %s", r),
			"give each attempt its own timeout (context.WithTimeout(ctx, AttemptTimeout)); without one, a single lost request uses up the caller's whole deadline"))
		calls := dep.arrivals()
		require.Len(t, calls, 2)
		second := calls[1].at.Sub(r.start)
		assert.GreaterOrEqual(t, second, policy.AttemptTimeout, "the retry came before the attempt timed out")
		assert.LessOrEqual(t, second, policy.AttemptTimeout+policy.BaseDelay, "the retry must follow the attempt's timeout after one backoff wait")
		assert.Equal(t, uint32(1), b.Counts().TotalFailures, clientLesson(
			fmt.Sprintf("an attempt timed out and the next succeeded; the breaker's counts are %+v", b.Counts()),
			"an attempt that timed out on its own timeout has failed: the dependency was too slow, and the breaker must hear it"))
	})
}

func TestClientBackoffIsExponentialWithFullJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const clients, retries = 400, 6
		policy := RetryPolicy{MaxAttempts: retries + 1, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second, AttemptTimeout: time.Second}
		dep := newFakeDep(depFailsFirst(retries))
		results := manyClients(t, dep, policy, clients, time.Hour)
		for _, r := range results {
			require.NoError(t, r.err, "%d failures, then an answer: %d attempts are enough", retries, retries+1)
		}

		times := map[string][]time.Time{}
		for _, a := range dep.arrivals() {
			times[a.req] = append(times[a.req], a.at)
		}
		waits := make([][]time.Duration, retries) // waits[n]: before retry n+1
		for req, ts := range times {
			require.Len(t, ts, retries+1, "%s: %d failures then an answer is %d attempts", req, retries, retries+1)
			for n := range retries {
				waits[n] = append(waits[n], ts[n+1].Sub(ts[n]))
			}
		}
		ok, table := jitter.Judge(waits, policy.BaseDelay, policy.MaxDelay)
		assert.True(t, ok, clientLesson(
			fmt.Sprintf("the waits of %d clients before each retry do not look like full jitter:\n%s", clients, table),
			"wait a random time drawn uniformly from [0, min(MaxDelay, BaseDelay*2^n)): the bound doubles so a struggling dependency gets room, and the whole range is random so that clients that failed together spread out"))
	})
}

func TestClientRetriesOfManyClientsSpreadOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const clients = 200
		start := time.Now()
		dep := newFakeDep(func(ctx context.Context, n int, req string) (string, error) {
			if time.Since(start) < 3*time.Second {
				return "", errDown
			}
			return depWorks(ctx, n, req)
		})
		policy := RetryPolicy{MaxAttempts: 10, BaseDelay: 200 * time.Millisecond, MaxDelay: 5 * time.Second, AttemptTimeout: time.Second}
		manyClients(t, dep, policy, clients, time.Minute)

		var retries []time.Duration
		for _, a := range dep.arrivals() {
			if a.n > 1 { // retries only: the first attempts all start at once by design
				retries = append(retries, a.at.Sub(start))
			}
		}
		peakAt, peak := jitter.Busiest(retries, 10*time.Millisecond)
		assert.LessOrEqual(t, peak, clients/5, clientLesson(
			fmt.Sprintf("%d clients failed together at the start, and %d of their retries reached the dependency within the same 10ms, at %v", clients, peak, peakAt),
			"without jitter, clients that failed together retry together, in waves that can keep a recovering dependency down (a retry storm); a random wait spreads them out"))
	})
}

// TestOneClientServesManyCallers shares one client among the handlers of a
// service. Its random source notices two draws at once: a *rand.Rand is
// not safe for concurrent use, and this shows it with or without the race
// detector.
func TestOneClientServesManyCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const callers = 200
		policy := RetryPolicy{MaxAttempts: 3, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, AttemptTimeout: time.Second}
		rnd, overlaps := seeds.Shared(t)
		c := NewClient(newFakeDep(depFailsFirst(1)).call, New(Config{ConsecutiveFailures: 1000}), policy, nil, rnd)
		results := make([]callResult, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() { results[i] = timedCall(c, fmt.Sprintf("caller-%d", i), time.Minute) })
		}
		wg.Wait()
		requireWritten(t, results...)
		for _, r := range results {
			require.NoError(t, r.err, "the dependency failed each request once, then answered: %s", r)
		}
		assert.Zero(t, overlaps.Count(), clientLesson(
			fmt.Sprintf("%d callers shared one client, and %d times one drew from its *rand.Rand while another was drawing", callers, overlaps.Count()),
			"a Client is safe for concurrent use, and a *rand.Rand is not: draws from one shared generator need a lock (two at once can return the same wait, and retries meant to spread out collide)"))
	})
}
