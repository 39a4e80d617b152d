// Package breaker protects a caller from a dependency that is failing.
//
// A service that keeps calling a dependency that is down makes things
// worse twice: its own callers wait on timeouts that will not succeed, and
// the dependency, trying to recover, is kept busy by calls it cannot
// serve. A circuit breaker watches the results of calls and, when too many
// fail, stops calling for a while: calls fail at once, without waiting.
// Then it lets a few probes through to see whether the dependency is back.
//
// You will build, in order:
//
//	Part 1  Allow / Record: the closed, open and half-open states (breaker.go)
//	Part 2  a rolling window of buckets, and a failure ratio (breaker.go)
//	Part 3  late results, many callers at once, telling others (breaker.go)
//	Part 4  conformance: the same decisions as sony/gobreaker (breaker.go)
//	Part 5  a resilient client: breaker, retries, fallback (client.go)
//
// This file holds what you build on: the states, the configuration, the
// counts, the errors. Ticket is in breaker.go: its shape is yours.
// Run `grader test 02` (or `go test .`) after each part.
package breaker

import (
	"errors"
	"fmt"
	"time"
)

// State is where a breaker is in its cycle.
type State int

// The three states of a circuit breaker.
const (
	// Closed: calls go through; results are counted. Too many failures
	// open the breaker.
	Closed State = iota
	// HalfOpen: a few probe calls go through; if they succeed the breaker
	// closes, if one fails it opens again.
	HalfOpen
	// Open: every call is rejected at once with ErrOpen, until Timeout
	// has passed.
	Open
)

func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case HalfOpen:
		return "half-open"
	case Open:
		return "open"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

var (
	// ErrOpen is what Allow returns while the breaker is open: the call
	// must not be made.
	ErrOpen = errors.New("circuit breaker is open")
	// ErrTooManyProbes is what Allow returns in the half-open state once
	// it has let MaxProbes calls through.
	ErrTooManyProbes = errors.New("circuit breaker is half-open: too many probes")
	// ErrNotImplemented is what the stubs return until you write them.
	ErrNotImplemented = errors.New("not implemented yet")
)

// notImplemented says which stub a test reached.
func notImplemented(what string) error {
	return fmt.Errorf("%w: write %s", ErrNotImplemented, what)
}

// Config is how a breaker decides. The zero value of each trip rule turns
// that rule off; at least one must be on.
type Config struct {
	// ConsecutiveFailures opens the breaker after this many failures in
	// a row, in the closed state.
	ConsecutiveFailures uint32

	// FailureRatio opens the breaker when failures / requests reaches it
	// (0.5 is half), but only once the window holds at least MinRequests
	// requests: two failures out of three calls say little.
	FailureRatio float64
	MinRequests  uint32

	// Window is how far back the closed state's counts reach. Zero: since
	// the breaker last changed state. With Buckets 0 or 1 the counts are
	// cleared every Window (a fixed window); with more, the window is
	// split in Buckets buckets and rolls one bucket at a time (part 2).
	Window  time.Duration
	Buckets int

	// Timeout is how long the breaker stays open before it lets probes
	// through; 0 means a minute.
	Timeout time.Duration

	// MaxProbes is how many calls the half-open state lets through, and
	// how many successes in a row close the breaker; 0 means 1.
	MaxProbes uint32

	// OnStateChange, if set, is told of every change of state, once,
	// before the call that made the change returns (part 3). It is how a
	// dashboard, an alert or a log learns that the breaker opened. The
	// changes one call makes are told in order; changes that calls on
	// other goroutines make at the same moment may be told in either
	// order (from and to say what each one was).
	OnStateChange func(from, to State)
}

// Defaults for the zero values of Config.
const (
	DefaultTimeout   = time.Minute
	DefaultMaxProbes = 1
)

// Validate says what is wrong with a Config, if anything.
func (c Config) Validate() error {
	switch {
	case c.ConsecutiveFailures == 0 && c.FailureRatio == 0:
		return errors.New("breaker: no trip rule: set ConsecutiveFailures or FailureRatio")
	case c.FailureRatio < 0 || c.FailureRatio > 1:
		return fmt.Errorf("breaker: FailureRatio %v is not between 0 and 1", c.FailureRatio)
	case c.Window < 0 || c.Timeout < 0:
		return errors.New("breaker: Window and Timeout cannot be negative")
	case c.Buckets < 0:
		return errors.New("breaker: Buckets cannot be negative")
	case c.Buckets > 1 && c.Window == 0:
		return errors.New("breaker: Buckets need a Window to split")
	case c.Buckets > 1 && c.Window%time.Duration(c.Buckets) != 0:
		return fmt.Errorf("breaker: Window %v does not split into %d equal buckets", c.Window, c.Buckets)
	}
	return nil
}

// Counts are the numbers a breaker decides on, for the current state (and,
// in the closed state, the current window). Requests counts calls allowed,
// whether or not their result has come back.
type Counts struct {
	Requests             uint32
	TotalSuccesses       uint32
	TotalFailures        uint32
	ConsecutiveSuccesses uint32
	ConsecutiveFailures  uint32
}

// ShouldTrip is the closed state's rule, given the counts after a failure.
func (c Config) ShouldTrip(n Counts) bool {
	if c.ConsecutiveFailures > 0 && n.ConsecutiveFailures >= c.ConsecutiveFailures {
		return true
	}
	return c.FailureRatio > 0 && n.Requests > 0 && n.Requests >= c.MinRequests &&
		float64(n.TotalFailures) >= c.FailureRatio*float64(n.Requests)
}
