package breaker

// Part 3: telling others. A breaker that opens is news: a dashboard turns
// red, an alert fires, a log line says why. Config.OnStateChange is how the
// breaker tells them, and the code it calls is not the breaker's own.

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/lockstep"
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
		// Each cycle opens the breaker, lets the Timeout pass, and has
		// another kind of call find it over: State, Counts, Allow, or the
		// late result of a call from before the breaker opened. find
		// returns the probe's ticket when it took one.
		allow := func() Ticket {
			tk, err := b.Allow()
			require.NoError(t, err, "a half-open breaker lets a probe through")
			return tk
		}
		finders := []struct {
			name string
			find func(late Ticket) (probe Ticket, took bool)
		}{
			{"State was read three times", func(Ticket) (Ticket, bool) { b.State(); b.State(); b.State(); return Ticket{}, false }},
			{"Counts was read", func(Ticket) (Ticket, bool) { b.Counts(); return Ticket{}, false }},
			{"a probe was asked for (Allow)", func(Ticket) (Ticket, bool) { return allow(), true }},
			{"a call started before the breaker opened returned its result", func(late Ticket) (Ticket, bool) { b.Record(late, nil); return Ticket{}, false }},
		}
		for cycle := range 24 {
			finder := finders[cycle%len(finders)]
			late, err := b.Allow() // a slow call, still out when the breaker opens
			require.NoError(t, err, "a closed breaker lets calls through")
			var probe Ticket
			var took bool
			ok := step(fmt.Sprintf("cycle %d: two failures in a row", cycle), func() { fail(t, b, 2) }, reportedChange{Closed, Open}) &&
				step(fmt.Sprintf("cycle %d: State and Counts read while open", cycle), func() { b.State(); b.Counts() }) &&
				step(fmt.Sprintf("cycle %d: the Timeout passed, then %s", cycle, finder.name), func() {
					time.Sleep(cfg.Timeout + time.Second)
					probe, took = finder.find(late)
				}, reportedChange{Open, HalfOpen})
			if ok && !took {
				ok = step(fmt.Sprintf("cycle %d: a probe was asked for", cycle), func() { probe = allow() })
			}
			if !ok {
				return
			}
			if cycle%2 == 0 {
				ok = step(fmt.Sprintf("cycle %d: the probe succeeded", cycle), func() { b.Record(probe, nil) }, reportedChange{HalfOpen, Closed})
			} else {
				ok = step(fmt.Sprintf("cycle %d: the probe failed", cycle), func() { b.Record(probe, errBoom) }, reportedChange{HalfOpen, Open}) &&
					step(fmt.Sprintf("cycle %d: the Timeout passed again, and a probe was asked for", cycle), func() {
						time.Sleep(cfg.Timeout + time.Second)
						probe = allow()
					}, reportedChange{Open, HalfOpen}) &&
					step(fmt.Sprintf("cycle %d: the probe succeeded", cycle), func() { b.Record(probe, nil) }, reportedChange{HalfOpen, Closed})
			}
			if !ok {
				return
			}
		}
	})
}

// TestStateChangeListenerMayCallTheBreaker runs in real time: a breaker that
// waits for itself is not "durably blocked", so a fake clock would not notice.
// It waits for the breaker with a deadline, and sleeps nowhere: on the second
// breaker a Timeout of a nanosecond is over by the next call. Its listener
// calls back only on changes into half-open and closed, which stay put; an
// open breaker of a nanosecond half-opens under the next look.
func TestStateChangeListenerMayCallTheBreaker(t *testing.T) {
	type view struct {
		change reportedChange
		state  State
		counts Counts
	}
	const deadline = 5 * time.Second
	seen := make(chan view, 16)
	listener := func(b **Breaker, callBack func(to State) bool) func(from, to State) {
		return func(from, to State) {
			v := view{change: reportedChange{from, to}, state: to}
			if callBack(to) {
				v.state, v.counts = (*b).State(), (*b).Counts() // what a dashboard's exporter does
			}
			seen <- v
		}
	}
	// call runs one call of a breaker with a deadline, and checks what its
	// listener was told and saw.
	call := func(what string, want reportedChange, do func()) bool {
		t.Helper()
		done := make(chan struct{})
		go func() {
			defer close(done)
			do()
		}()
		select {
		case <-done:
		case <-time.After(deadline):
			t.Fatal(lesson(
				fmt.Sprintf("%s, which made the change %v; its OnStateChange called b.State(), and the call had not returned %v later", what, want, deadline),
				"OnStateChange is code the breaker does not control, and it may call the breaker back, as a dashboard or a log line does: "+
					"a breaker that calls it while holding its own lock waits for itself for ever (a bug sony/gobreaker shipped for years)"))
		}
		select {
		case v := <-seen:
			// A Record's change is its call's last step; Allow goes on to
			// count the probe it lets through.
			wantCounts := Counts{}
			if strings.Contains(what, "(Allow)") {
				wantCounts.Requests = 1
			}
			return assert.Equal(t, want, v.change, "%s: the change told", what) &&
				assert.Equal(t, want.to, v.state, lesson(fmt.Sprintf("%s: inside OnStateChange(%v, %v), b.State() said %v", what, want.from, want.to, v.state),
					"the listener is told of a change that has happened: the breaker is already in its new state")) &&
				assert.Equal(t, wantCounts, v.counts, lesson(fmt.Sprintf("%s: inside OnStateChange(%v, %v), b.Counts() said %+v", what, want.from, want.to, v.counts),
					"the listener sees the breaker as the call that made the change left it: the new state's counts, which start from zero, and the probe Allow let through"))
		default:
			t.Fatal(lesson(fmt.Sprintf("%s, which made the change %v, returned before OnStateChange was called", what, want),
				"every change of state is reported before the call that made it returns"))
		}
		return false
	}

	var slow *Breaker
	slow = New(Config{ConsecutiveFailures: 1, Timeout: time.Hour, OnStateChange: listener(&slow, func(State) bool { return true })})
	if !call("a call's failure tripped the breaker (Record)", reportedChange{Closed, Open}, func() {
		if tk, err := slow.Allow(); err == nil {
			slow.Record(tk, errBoom)
		}
	}) {
		return
	}

	var b *Breaker
	b = New(Config{ConsecutiveFailures: 1, Timeout: time.Nanosecond, OnStateChange: listener(&b, func(to State) bool { return to != Open })})
	var tk Ticket
	_ = call("a call's failure tripped the breaker (Record)", reportedChange{Closed, Open}, func() {
		if tk, err := b.Allow(); err == nil {
			b.Record(tk, errBoom)
		}
	}) && call("the Timeout was over, and a probe was asked for (Allow)", reportedChange{Open, HalfOpen}, func() {
		tk, _ = b.Allow()
	}) && call("the probe failed (Record)", reportedChange{HalfOpen, Open}, func() {
		b.Record(tk, errBoom)
	}) && call("the Timeout was over, and a dashboard read State", reportedChange{Open, HalfOpen}, func() {
		b.State()
	}) && call("the probe succeeded (Record)", reportedChange{HalfOpen, Closed}, func() {
		if tk, err := b.Allow(); err == nil {
			b.Record(tk, nil)
		}
	})
}

// A listener that takes its time (it writes to a slow log) holds up only
// the call that is telling it: another call's change is told before that
// call returns, even while the first listener is still busy. It runs in
// real time, with a deadline, like the test above: a Timeout of a
// nanosecond is over by the next call.
func TestASlowListenerDelaysNoOneElsesNews(t *testing.T) {
	var log listenerLog
	hold, busy := make(chan struct{}), make(chan struct{})
	var told atomic.Int32
	b := New(Config{ConsecutiveFailures: 1, Timeout: time.Nanosecond, OnStateChange: func(from, to State) {
		log.listen(from, to)
		if told.Add(1) == 1 {
			close(busy)
			<-hold // the first change is slow to log
		}
	}})
	tripped := make(chan struct{})
	go func() {
		defer close(tripped)
		if tk, err := b.Allow(); err == nil {
			b.Record(tk, errBoom)
		}
	}()
	defer func() { close(hold); <-tripped }()
	const deadline = 5 * time.Second
	select {
	case <-busy: // the failure's call is telling its listener, slowly
	case <-tripped:
		require.FailNow(t, "a failure with ConsecutiveFailures 1 returned without telling OnStateChange that the breaker opened")
	case <-time.After(deadline):
		require.FailNow(t, "a failure with ConsecutiveFailures 1 never told OnStateChange that the breaker opened")
	}

	read := make(chan struct{})
	go func() {
		defer close(read)
		b.State() // finds the Timeout over
	}()
	select {
	case <-read:
	case <-time.After(deadline):
		require.FailNow(t, lesson(
			fmt.Sprintf("while the listener was busy with closed→open, State() had not returned %v later", deadline),
			"a listener is not the breaker's code, and nothing of the breaker is held while it runs: a call waits for no other call's listener"))
	}
	if got := log.String(); got != "closed→open, open→half-open" {
		t.Error(lesson(
			fmt.Sprintf("while the listener was still busy with closed→open, State() found the Timeout over and returned; the listener had been told of\n\t%s\nwant\n\tclosed→open, open→half-open", got),
			"every change is told before the call that made it returns, whatever other calls are telling at the time: a call that leaves its news to another call's listener returns with it untold"))
	}
}

// TestEachChangeIsReportedOnceWhenCallersRace releases a probe and a
// dashboard, or two dashboards, at the same instant on many breakers due
// to half-open: either may find the Timeout over, and the listener must
// hear of each change once, whichever found it. It catches changes that
// are taken out of the breaker without the lock, and readers that share a
// read lock, with or without the race detector (on two or more CPUs).
func TestEachChangeIsReportedOnceWhenCallersRace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rounds = lockstep.ParallelRounds
		lockstep.InBatches(t, func() (parallel int, ok bool) {
			logs := make([]listenerLog, rounds)
			bs := make([]*Breaker, rounds)
			for i := range bs {
				bs[i] = New(Config{ConsecutiveFailures: 1, Timeout: 10 * time.Second, MaxProbes: 1, OnStateChange: logs[i].listen})
				fail(t, bs[i], 1)
			}
			time.Sleep(10*time.Second + time.Nanosecond)
			// In even rounds a probe and a dashboard come together, in odd
			// rounds two dashboards.
			parallel = lockstep.Together(2, rounds, func(caller, r int) {
				switch {
				case caller == 0 && r%2 == 0: // a probe, and it succeeds
					if tk, err := bs[r].Allow(); err == nil {
						bs[r].Record(tk, nil)
					}
				case caller == 0:
					_ = bs[r].Counts()
				default:
					_ = bs[r].State()
				}
			})
			for r := range bs {
				if r%2 == 1 {
					if got := logs[r].String(); got != "closed→open, open→half-open" {
						return parallel, assert.Fail(t, lesson(
							fmt.Sprintf("a breaker opened, its Timeout passed, and two dashboards read State and Counts at the same instant. OnStateChange was told of\n\t%s\nwant\n\tclosed→open, open→half-open", got),
							"each change of state is reported once, by whichever call made it, however many callers arrive at the same instant: reading the breaker applies the passing of time, so readers change it too"))
					}
					continue
				}
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

// Two breakers whose state changes at the same instant: each listener hears
// of its own breaker, and of nothing else.
func TestEachBreakerTellsItsOwnListener(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rounds = lockstep.ParallelRounds
		lockstep.InBatches(t, func() (parallel int, ok bool) {
			logs := make([]listenerLog, 2*rounds)
			bs := make([]*Breaker, 2*rounds)
			for i := range bs {
				bs[i] = New(Config{ConsecutiveFailures: 1, Timeout: 10 * time.Second, OnStateChange: logs[i].listen})
			}
			parallel = lockstep.Together(2, rounds, func(caller, r int) {
				if tk, err := bs[2*r+caller].Allow(); err == nil {
					bs[2*r+caller].Record(tk, errBoom)
				}
			})
			for i := range bs {
				if got := logs[i].String(); got != "closed→open" {
					return parallel, assert.Fail(t, lesson(
						fmt.Sprintf("two breakers, each with a listener of its own, were tripped by a failure at the same instant; one listener was told of\n\t%s\nwant\n\tclosed→open", got),
						"a breaker tells its own listener of its own changes: what it has still to tell belongs to it, like its state and counts"))
				}
			}
			return parallel, true
		})
	})
}
