package run

import (
	"time"

	"github.com/distlings/distlings/grader/catalog"
)

// Result is what one run of a lab produced.
type Result struct {
	Lab   *catalog.Lab
	Build Build
	Parts []*PartResult // in the order they were asked for
	// Defined lists the top-level tests the lab's test binary holds; nil if
	// the build failed.
	Defined []string
	Elapsed time.Duration
}

// Passed reports whether the build succeeded and every part that ran passed.
func (r *Result) Passed() bool {
	if !r.Build.OK {
		return false
	}
	for _, p := range r.Parts {
		if p.Status != Passed {
			return false
		}
	}
	return true
}

// Build is the outcome of compiling the lab's tests (go vet included).
type Build struct {
	OK      bool
	Output  []string // compiler and vet messages, file:line first
	Elapsed time.Duration
}

// PartStatus is how a part's run ended.
type PartStatus int

// Part outcomes, from best to worst.
const (
	NotRun      PartStatus = iota
	Passed                 // every test of the part passed
	Failed                 // some test failed
	Crashed                // the test process panicked, deadlocked or exited
	TimedOut               // the part ran past its timeout and was stopped
	BuildFailed            // the lab did not compile, so nothing ran
)

func (s PartStatus) String() string {
	switch s {
	case Passed:
		return "passed"
	case Failed:
		return "failed"
	case Crashed:
		return "crashed"
	case TimedOut:
		return "timed out"
	case BuildFailed:
		return "did not build"
	}
	return "not run"
}

// PartResult is the outcome of one part's process.
type PartResult struct {
	Part   *catalog.Part
	Status PartStatus
	// Note says in one line why a part crashed or timed out.
	Note string
	// Exited is set when the process ended by exiting (os.Exit, not a
	// panic or a signal) before its tests were done: the note says so,
	// and the caller may know where in the code that happens.
	Exited bool
	Tests  []*TestResult // in manifest order
	// Output is what the process printed outside any test: a panic during
	// start-up, a fatal error. Capped like a test's output.
	Output    []string
	Truncated bool
	Elapsed   time.Duration
	Race      bool // ran under the race detector
}

// Failing returns the tests that did not pass.
// Passing is how many of the part's tests passed.
func (p *PartResult) Passing() int {
	n := 0
	for _, t := range p.Tests {
		if t.Status == TestPassed {
			n++
		}
	}
	return n
}

func (p *PartResult) Failing() []*TestResult {
	var out []*TestResult
	for _, t := range p.Tests {
		if t.Status != TestPassed {
			out = append(out, t)
		}
	}
	return out
}

// TestStatus is how one test function ended.
type TestStatus int

// Test outcomes.
const (
	TestNotRun   TestStatus = iota // the process ended before it started
	TestPassed                     // passed
	TestFailed                     // failed
	TestSkipped                    // called t.Skip: a skipped test does not count as passed
	TestCrashed                    // was running when the process died or was stopped
	TestNotFound                   // the manifest names a test the lab does not define
)

func (s TestStatus) String() string {
	return [...]string{"not run", "passed", "failed", "skipped", "did not finish", "not defined"}[s]
}

// TestResult is one top-level test function.
type TestResult struct {
	Name    string
	Status  TestStatus
	Elapsed time.Duration
	// Output is what the test and its failing subtests printed, with the
	// framing lines (=== RUN and the like) removed.
	Output    []string
	Truncated bool
}

// Event reports progress while a lab runs, for live displays.
type Event struct {
	Kind EventKind
	Part *catalog.Part // for part and test events
	Test *TestResult   // for TestDone
	Done *PartResult   // for PartDone
	// Build is set for BuildDone.
	Build *Build
	// Progress is set for BuildProgressed.
	Progress *BuildProgress
	// Text is set for Notice.
	Text string
}

// EventKind says what happened.
type EventKind int

// Events, in the order they happen.
const (
	Notice          EventKind = iota // something the learner should know about the run
	BuildStarted                     //
	BuildProgressed                  // a few times a second while a slow build runs
	BuildDone
	PartStarted
	TestDone
	PartDone
)
