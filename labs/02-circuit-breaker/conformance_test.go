package breaker

// Part 4: conformance. sony/gobreaker is a breaker used in production for
// years; for every setting both support, yours must make the same decision
// on every call of long random traces, and be in the same state after
// every step. gobreaker is the oracle: where you and it differ, read the
// trace and its code (gobreaker.go, counter.go) to see why.

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/distlings/distlings/labs/internal/seeds"
)

// oracleSettings are gobreaker's settings for cfg (see the guide's table).
func oracleSettings(cfg Config) gobreaker.Settings {
	st := gobreaker.Settings{
		Name:        "oracle",
		MaxRequests: cfg.MaxProbes,
		Interval:    cfg.Window,
		Timeout:     cfg.Timeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return cfg.ShouldTrip(fromGobreaker(c)) },
	}
	if cfg.Buckets > 1 {
		st.BucketPeriod = cfg.Window / time.Duration(cfg.Buckets)
	}
	return st
}

// fromGobreaker is gobreaker's Counts as this lab's.
func fromGobreaker(c gobreaker.Counts) Counts {
	return Counts{Requests: c.Requests, TotalSuccesses: c.TotalSuccesses, TotalFailures: c.TotalFailures,
		ConsecutiveSuccesses: c.ConsecutiveSuccesses, ConsecutiveFailures: c.ConsecutiveFailures}
}

// randomConfig picks settings both breakers support. With a rolling window
// only the ratio rule is used: gobreaker windows its consecutive counts in
// a way this lab does not ask you to copy.
func randomConfig(r *rand.Rand) Config {
	cfg := Config{MaxProbes: uint32(r.IntN(4)), Timeout: time.Duration(r.IntN(30)) * time.Second}
	switch r.IntN(5) {
	case 0:
		cfg.ConsecutiveFailures = uint32(1 + r.IntN(6))
	case 1:
		cfg.ConsecutiveFailures = uint32(1 + r.IntN(6))
		cfg.Window = time.Duration(1+r.IntN(20)) * time.Second
	case 2:
		cfg.FailureRatio = float64(2+r.IntN(7)) / 10
		cfg.MinRequests = uint32(r.IntN(20))
		cfg.Window = time.Duration(1+r.IntN(20)) * time.Second
	case 3:
		cfg.FailureRatio = float64(2+r.IntN(7)) / 10
		cfg.MinRequests = uint32(r.IntN(20))
		cfg.Buckets = 2 + r.IntN(9)
		cfg.Window = time.Duration(cfg.Buckets) * time.Duration(1+r.IntN(30)) * 100 * time.Millisecond
	default:
		cfg.ConsecutiveFailures = uint32(2 + r.IntN(6))
		cfg.FailureRatio = float64(2+r.IntN(7)) / 10
		cfg.MinRequests = uint32(r.IntN(20))
		cfg.Window = time.Duration(1+r.IntN(20)) * time.Second
	}
	return cfg
}

// traceEvent is a call arriving, or a call's result coming back.
type traceEvent struct {
	at     time.Duration
	seq    int
	call   int
	finish bool
	fails  bool
}

// randomTrace is calls with random gaps and latencies, failing more or less
// by phases, with some gaps and latencies exactly on the config's
// boundaries, where off-by-one mistakes live.
func randomTrace(r *rand.Rand, cfg Config, calls int) []traceEvent {
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	boundaries := []time.Duration{timeout, cfg.Window, time.Nanosecond}
	if cfg.Buckets > 1 {
		boundaries = append(boundaries, cfg.Window/time.Duration(cfg.Buckets))
	}
	var events []traceEvent
	var now time.Duration
	failRate := 0.1
	for i := range calls {
		if r.IntN(50) == 0 {
			failRate = []float64{0, 0.05, 0.4, 0.9, 1}[r.IntN(5)]
		}
		switch k := r.IntN(20); {
		case k == 0:
			now += boundaries[r.IntN(len(boundaries))]
		case k < 4: // same instant
		case k < 6:
			now += time.Duration(r.Int64N(int64(timeout)))
		default:
			now += time.Duration(r.Int64N(int64(500 * time.Millisecond)))
		}
		latency := time.Duration(r.Int64N(int64(300 * time.Millisecond)))
		if r.IntN(10) == 0 {
			latency = boundaries[r.IntN(len(boundaries))]
		}
		fails := r.Float64() < failRate
		events = append(events, traceEvent{at: now, call: i}, traceEvent{at: now + latency, call: i, finish: true, fails: fails})
	}
	for i := range events {
		events[i].seq = i
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].at < events[j].at })
	return events
}

func oracleState(s gobreaker.State) State {
	switch s {
	case gobreaker.StateOpen:
		return Open
	case gobreaker.StateHalfOpen:
		return HalfOpen
	}
	return Closed
}

func verdict(err error) string {
	switch {
	case err == nil:
		return "allowed"
	case errors.Is(err, ErrOpen), errors.Is(err, gobreaker.ErrOpenState):
		return "rejected: open"
	case errors.Is(err, ErrTooManyProbes), errors.Is(err, gobreaker.ErrTooManyRequests):
		return "rejected: too many probes"
	}
	return "error: " + err.Error()
}

func TestSameDecisionsAsGobreaker(t *testing.T) {
	seeds.Sweep(t, 100, func(t *testing.T, seed uint64) {
		synctest.Test(t, func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0x0b7ea4e7))
			cfg := randomConfig(r)
			trace := randomTrace(r, cfg, 2000)
			ours, oracle := New(cfg), gobreaker.NewTwoStepCircuitBreaker[any](oracleSettings(cfg))
			start := time.Now()

			type inFlight struct {
				gen     Ticket
				done    func(error)
				started time.Duration
			}
			calls := map[int]inFlight{}
			var history []string
			// Both breakers' counts after the step before: a breaker that
			// changes state clears its counts, and the cause is in these.
			var oursBefore, oracleBefore Counts
			// drift is where the counts first differed, which may be long
			// before the decisions do.
			drift := ""
			mismatch := func(i int, what string) {
				t.Helper()
				from := max(0, len(history)-12)
				t.Fatalf("%s", lesson(
					fmt.Sprintf("step %d of %d, at %v: %s\nconfig: %+v\nyours:     %v, counts %+v\ngobreaker: %v, counts %+v\njust before this step, the counts were\nyours:     %+v\ngobreaker: %+v\n%sthe steps before:\n    %s",
						i+1, len(trace), time.Since(start), what, cfg, ours.State(), ours.Counts(),
						oracleState(oracle.State()), fromGobreaker(oracle.Counts()), oursBefore, oracleBefore, drift, strings.Join(history[from:], "\n    ")),
					"for settings both support, the breaker decides as gobreaker does: start from the step where the counts first differed, if they did, or read the steps from the bottom up to the first one where the two differ; then read gobreaker's currentState, beforeRequest and afterRequest (`grader hint 02 4` names where breakers usually differ)"))
			}
			for i, e := range trace {
				time.Sleep(e.at - time.Since(start))
				var step string
				if !e.finish {
					g, err := ours.Allow()
					done, oerr := oracle.Allow()
					step = fmt.Sprintf("%9v  call %d arrives: yours %s, gobreaker %s", e.at, e.call, verdict(err), verdict(oerr))
					history = append(history, step)
					if verdict(err) != verdict(oerr) {
						mismatch(i, fmt.Sprintf("call %d arrived; your breaker said %q, gobreaker %q", e.call, verdict(err), verdict(oerr)))
					}
					if err == nil {
						calls[e.call] = inFlight{gen: g, done: done, started: e.at}
					}
				} else if c, ok := calls[e.call]; ok {
					result := error(nil)
					outcome := "succeeds"
					if e.fails {
						result, outcome = errBoom, "fails"
					}
					ours.Record(c.gen, result)
					c.done(result)
					delete(calls, e.call)
					step = fmt.Sprintf("%9v  call %d (started at %v) %s", e.at, e.call, c.started, outcome)
					history = append(history, step)
				} else {
					continue // a rejected call has no result
				}
				if got, want := ours.State(), oracleState(oracle.State()); got != want {
					mismatch(i, fmt.Sprintf("after %q your breaker is %v, gobreaker is %v", strings.TrimSpace(step), got, want))
				}
				oursBefore, oracleBefore = ours.Counts(), fromGobreaker(oracle.Counts())
				if drift == "" && !sameCounts(cfg, oursBefore, oracleBefore) {
					drift = fmt.Sprintf("the counts first differed after step %d (%s):\nyours:     %+v\ngobreaker: %+v\n", i+1, strings.TrimSpace(step), oursBefore, oracleBefore)
				}
			}
		})
	})
}

// sameCounts compares the counts both breakers keep alike: with a rolling
// window, gobreaker windows its runs in a row and this lab does not.
func sameCounts(cfg Config, ours, oracle Counts) bool {
	if cfg.Buckets > 1 {
		ours.ConsecutiveFailures, ours.ConsecutiveSuccesses = 0, 0
		oracle.ConsecutiveFailures, oracle.ConsecutiveSuccesses = 0, 0
	}
	return ours == oracle
}
