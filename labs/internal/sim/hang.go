package sim

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

// HangLimit is how long, in real time, one handler may run before the run
// is stopped as hung. A handler takes microseconds; one that runs this
// long is in a loop that will not end, and a test would otherwise wait
// for the whole run's timeout and say nothing of where.
var HangLimit = 5 * time.Second

// handling is what the World is running now, for a watchdog on another
// goroutine. state is the number of the handler entered last, shifted
// left, with the low bit set while a run goes on; a run that returns
// clears it. One atomic store per event keeps the simulator fast. The
// plain fields are written before state moves, so a watchdog that loads a
// value may read them: they are written again only when the next handler
// enters, which a stuck handler never lets happen.
type handling struct {
	state   atomic.Uint64
	count   uint64
	node    NodeID
	at      time.Duration
	what    string
	payload any    // the message or timer value, set by deliver and fire
	from    NodeID // a message's sender
}

func (h *handling) enter(node NodeID, at time.Duration, what string) {
	h.node, h.at, h.what = node, at, what
	h.count++
	h.state.Store(h.count<<1 | 1)
}

// idle says that no run goes on: the test's own code runs, for as long as
// it likes.
func (h *handling) idle() { h.state.Store(h.count << 1) }

// event says what the handler was given.
func (h *handling) event() string {
	switch {
	case h.payload == nil:
		return h.what
	case h.from != 0:
		return fmt.Sprintf("%s(%s from %v)", h.what, Describe(h.payload), h.from)
	}
	return fmt.Sprintf("%s(%s)", h.what, Describe(h.payload))
}

// watch calls hung (Hung, which stops the process) with what was running
// and where, if one handler of w runs past limit. It returns the function
// that ends the watch.
func (w *World) watch(limit time.Duration, hung func(string)) (stop func()) {
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(limit / 5)
		defer tick.Stop()
		var last uint64
		var since time.Time
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				state := w.handling.state.Load()
				if state&1 == 0 || state != last {
					last, since = state, now
					continue
				}
				if now.Sub(since) >= limit {
					h := &w.handling
					hung(fmt.Sprintf("%v has been in %s for %v of real time, at %s of virtual time, seed %d: the handler never returned",
						h.node, h.event(), limit.Round(time.Second), strings.TrimSpace(FormatTime(h.at)), w.cfg.Seed))
					return
				}
			}
		}
	}()
	return func() { close(done) }
}

// Hung reports a handler that does not return, with the stacks of the
// code under test, and ends the process: a goroutine stuck in a loop
// cannot be stopped any other way. The test binary's output names the
// test that was running.
func Hung(what string) {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	fmt.Printf("%s\nrule: a handler does its work and returns: a loop that waits for a message or for time to pass never ends, since nothing else runs until it returns; leave it, and act again when the message or the timer comes\n\n%s\n",
		what, labFrames(string(buf)))
	os.Exit(3)
}

// labFrames keeps, from all goroutines' stacks, the frames of the labs'
// own code: where the loop is.
func labFrames(stacks string) string {
	var out []string
	lines := strings.Split(stacks, "\n")
	for i := 0; i+1 < len(lines); i++ {
		l := lines[i]
		if strings.Contains(l, "/labs/") && !strings.Contains(l, "/labs/internal/") && !strings.HasPrefix(l, "\t") {
			out = append(out, "    "+l, "    "+lines[i+1])
		}
	}
	if len(out) == 0 {
		return "(no frame of the lab's code was found on any goroutine)"
	}
	return strings.Join(out, "\n")
}

// Guard runs f, and stops the process as Hung does if f has not returned
// after HangLimit: for tests that call a node's handlers by hand.
func Guard(what func() string, f func()) {
	t := time.AfterFunc(HangLimit, func() { Hung(what()) })
	defer t.Stop()
	f()
}
