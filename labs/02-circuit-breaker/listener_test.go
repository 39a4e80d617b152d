package breaker

// Part 3: telling others. A breaker that opens is news: a dashboard turns
// red, an alert fires, a log line says why. Config.OnStateChange is how the
// breaker tells them, and the code it calls is not the breaker's own.

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reportedChange is one call of OnStateChange.
type reportedChange struct{ from, to State }

func (c reportedChange) String() string { return c.from.String() + "→" + c.to.String() }

// listenerLog records the calls of OnStateChange.
type listenerLog struct {
	mu   sync.Mutex
	seen []reportedChange
}

func (l *listenerLog) listen(from, to State) {
	l.mu.Lock()
	l.seen = append(l.seen, reportedChange{from, to})
	l.mu.Unlock()
}

func (l *listenerLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.seen) == 0 {
		return "none"
	}
	s := make([]string, len(l.seen))
	for i, c := range l.seen {
		s[i] = c.String()
	}
	return strings.Join(s, ", ")
}

func TestStateChangesAreReportedOnceEachAsTheyHappen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log listenerLog
		cfg := Config{ConsecutiveFailures: 2, Window: 10 * time.Second, Timeout: 5 * time.Second, MaxProbes: 1, OnStateChange: log.listen}
		b := New(cfg)
		var want []reportedChange
		// step runs one step and then compares what OnStateChange was told
		// with what happened.
		step := func(what string, do func(), happened ...reportedChange) bool {
			t.Helper()
			do()
			want = append(want, happened...)
			var wantLog listenerLog
			wantLog.seen = want
			if got, exp := log.String(), wantLog.String(); got != exp {
				t.Errorf("%s", lesson(
					fmt.Sprintf("%s: by the time the call returned, OnStateChange had been told of\n\t%s\nwant\n\t%s", what, got, exp),
					"every change of state is reported once, when it happens, in the goroutine whose call made it: "+
						"closed→open when a failure trips the breaker, open→half-open when a call (State, Counts or Allow) finds its Timeout over, "+
						"half-open→closed or →open on the probes' results; a window that starts over is no change of state"))
				return false
			}
			return true
		}
		if !step("a new breaker's fixed window of 10s ended, and State was read", func() {
			time.Sleep(cfg.Window + time.Second)
			b.State()
		}) {
			return
		}
		for cycle := range 25 {
			ok := step(fmt.Sprintf("cycle %d: two failures in a row", cycle), func() { fail(t, b, 2) }, reportedChange{Closed, Open}) &&
				step(fmt.Sprintf("cycle %d: State and Counts read while open", cycle), func() { b.State(); b.Counts() }) &&
				step(fmt.Sprintf("cycle %d: the Timeout passed, then State was read three times", cycle), func() {
					time.Sleep(cfg.Timeout + time.Second)
					b.State()
					b.State()
					b.State()
				}, reportedChange{Open, HalfOpen})
			if !ok {
				return
			}
			if cycle%2 == 0 {
				ok = step(fmt.Sprintf("cycle %d: the probe succeeded", cycle), func() { succeed(t, b, 1) }, reportedChange{HalfOpen, Closed})
			} else {
				ok = step(fmt.Sprintf("cycle %d: the probe failed", cycle), func() { fail(t, b, 1) }, reportedChange{HalfOpen, Open}) &&
					step(fmt.Sprintf("cycle %d: the Timeout passed again, and a probe was asked for", cycle), func() {
						time.Sleep(cfg.Timeout + time.Second)
						tk, err := b.Allow()
						require.NoError(t, err, "a half-open breaker lets a probe through")
						b.Record(tk, nil)
					}, reportedChange{Open, HalfOpen}, reportedChange{HalfOpen, Closed})
			}
			if !ok {
				return
			}
		}
	})
}

// TestStateChangeListenerMayCallTheBreaker runs in real time: a breaker that
// waits for itself is not "durably blocked", so a fake clock would not notice.
// It waits for the breaker with a deadline, and sleeps nowhere.
func TestStateChangeListenerMayCallTheBreaker(t *testing.T) {
	type view struct {
		state  State
		counts Counts
	}
	seen := make(chan view, 8)
	var b *Breaker
	b = New(Config{ConsecutiveFailures: 1, Timeout: time.Hour, OnStateChange: func(from, to State) {
		seen <- view{b.State(), b.Counts()} // what a dashboard's exporter does
	}})
	tk, err := b.Allow()
	require.NoError(t, err, "a new breaker is closed: calls go through")
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Record(tk, errBoom)
	}()
	const deadline = 5 * time.Second
	select {
	case <-done:
	case <-time.After(deadline):
		t.Fatal(lesson(
			fmt.Sprintf("a failure tripped the breaker, its OnStateChange called b.State(), and Record had not returned %v later", deadline),
			"OnStateChange is code the breaker does not control, and it may call the breaker back, as a dashboard or a log line does: "+
				"a breaker that calls it while holding its own lock waits for itself for ever (a bug sony/gobreaker shipped for years)"))
	}
	select {
	case v := <-seen:
		require.Equal(t, Open, v.state, lesson("inside OnStateChange(closed, open), b.State() said "+v.state.String(),
			"the listener is told of a change that has happened: the breaker is already in its new state"))
		require.Zero(t, v.counts, lesson(fmt.Sprintf("inside OnStateChange(closed, open), b.Counts() said %+v", v.counts),
			"the listener sees the new state's counts, which start from zero"))
	default:
		t.Fatal(lesson("a failure tripped the breaker, and when Record returned OnStateChange had not been called",
			"every change of state is reported before the call that made it returns"))
	}
}

// TestEachChangeIsReportedOnceWhenCallersRace releases a probe and a
// dashboard at the same instant on many breakers due to half-open: either
// may find the Timeout over, and the listener must hear of each change
// once, whichever found it. It catches changes that are taken out of the
// breaker without the lock, with or without the race detector (on two or
// more CPUs).
func TestEachChangeIsReportedOnceWhenCallersRace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rounds = parallelRounds
		inBatches(t, func() (parallel int, ok bool) {
			logs := make([]listenerLog, rounds)
			bs := make([]*Breaker, rounds)
			for i := range bs {
				bs[i] = New(Config{ConsecutiveFailures: 1, Timeout: 10 * time.Second, MaxProbes: 1, OnStateChange: logs[i].listen})
				fail(t, bs[i], 1)
			}
			time.Sleep(10*time.Second + time.Nanosecond)
			parallel = together(2, rounds, func(caller, r int) {
				if caller == 0 { // a probe, and it succeeds
					if tk, err := bs[r].Allow(); err == nil {
						bs[r].Record(tk, nil)
					}
					return
				}
				_ = bs[r].State() // the dashboard
			})
			for r := range bs {
				// The two callers' changes come at the same moment, and
				// Config.OnStateChange lets them be told in either order.
				got := logs[r].String()
				if got == "closed→open, open→half-open, half-open→closed" || got == "closed→open, half-open→closed, open→half-open" {
					continue
				}
				return parallel, assert.Fail(t, lesson(
					fmt.Sprintf("a breaker opened, its Timeout passed, and a probe and State() came at the same instant; the probe succeeded (the breaker is %v). OnStateChange was told of\n\t%s\nwant each of these once\n\t%s",
						bs[r].State(), got, "closed→open, open→half-open, half-open→closed"),
					"each change of state is reported once, by whichever call made it, however many callers arrive at the same instant"))
			}
			return parallel, true
		})
	})
}
