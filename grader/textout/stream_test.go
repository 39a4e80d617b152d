package textout

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/grade"
	"github.com/distlings/distlings/grader/run"
)

// syncBuffer is a buffer the stream's ticker and the test can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func streamLab() *catalog.Lab {
	m := &catalog.Manifest{Title: "Demo", Parts: []*catalog.Part{
		{Number: 1, Title: "First", Points: 10, Tests: []string{"TestA"}},
		{Number: 2, Title: "Second", Points: 5, Tests: []string{"TestB"}},
	}}
	return &catalog.Lab{Number: 1, Slug: "demo", Name: "01-demo", Manifest: m}
}

// A pipe gets each line as soon as there is something to say: the header
// before the build, each part when it ends, and no terminal codes.
func TestStreamPrintsEachPartWhenItEnds(t *testing.T) {
	var out syncBuffer
	lab := streamLab()
	s := New(&out).Stream(lab, false, false)
	assert.True(t, strings.HasPrefix(out.String(), "lab 01 demo  Demo\n"), "the header comes at once: %q", out.String())

	s.Event(run.Event{Kind: run.Notice, Text: "labs/01-demo/demo_test.go differs from the shipped copy"})
	s.Event(run.Event{Kind: run.BuildStarted})
	assert.Contains(t, out.String(), "building lab 01…")
	s.Event(run.Event{Kind: run.BuildDone, Build: &run.Build{OK: true, Elapsed: 1200 * time.Millisecond}})
	second := &run.PartResult{Part: lab.Part(2), Status: run.Passed, Race: true,
		Tests: []*run.TestResult{{Name: "TestB", Status: run.TestPassed}}}
	s.Event(run.Event{Kind: run.PartStarted, Part: lab.Part(2)})
	s.Event(run.Event{Kind: run.PartDone, Part: lab.Part(2), Done: second})
	assert.Contains(t, out.String(), "PASS     part 2  Second", "part 2 is shown as soon as it is done")
	assert.NotContains(t, out.String(), "part 1")

	first := &run.PartResult{Part: lab.Part(1), Status: run.Failed, Race: false,
		Tests: []*run.TestResult{{Name: "TestA", Status: run.TestFailed, Output: []string{"a_test.go:3: want 1, got 2"}}}}
	s.Event(run.Event{Kind: run.PartDone, Part: lab.Part(1), Done: first})
	s.Finish(&grade.Outcome{Result: &run.Result{Lab: lab, Build: run.Build{OK: true}, Parts: []*run.PartResult{first, second}},
		Notices: []string{"labs/01-demo/demo_test.go differs from the shipped copy", "progress could not be saved"}})

	got := out.String()
	assert.Less(t, strings.Index(got, "part 2"), strings.Index(got, "part 1"), "in the order they ended")
	assert.Contains(t, got, "a_test.go:3: want 1, got 2")
	assert.Contains(t, got, "5/15 points from the parts that ran")
	assert.Contains(t, got, "race detector on for part 2")
	assert.Equal(t, 1, strings.Count(got, "differs from the shipped copy"), "a notice is said once")
	assert.Contains(t, got, "note: progress could not be saved", "a notice from after the run is still said")
	assert.NotContains(t, got, "\x1b", "no terminal codes in a pipe")
}

// A slow first build in a pipe says why it is slow and how far it is,
// but not more than every quietInPipe.
func TestStreamInAPipeIsNeverSilentForLong(t *testing.T) {
	var out syncBuffer
	lab := streamLab()
	s := New(&out).Stream(lab, false, false)
	defer s.Close()
	now := time.Unix(1000, 0)
	s.mu.Lock()
	s.now = func() time.Time { return now }
	s.mu.Unlock()

	s.Event(run.Event{Kind: run.BuildStarted})
	at := func(d time.Duration, compiled int) {
		now = time.Unix(1000, 0).Add(d)
		s.Event(run.Event{Kind: run.BuildProgressed, Progress: &run.BuildProgress{Compiled: compiled, Total: 300}})
	}
	at(time.Second, 5)
	assert.NotContains(t, out.String(), "first build", "a build of a second says nothing more")
	at(firstBuildNote, 20)
	assert.Contains(t, out.String(), "a lab's first build compiles what it needs")
	at(firstBuildNote+time.Second, 30)
	assert.NotContains(t, out.String(), "packages compiled", "not a line a second")
	at(firstBuildNote+quietInPipe, 120)
	assert.Contains(t, out.String(), "building: 120 of 300 packages compiled (18s)")

	s.Event(run.Event{Kind: run.BuildDone, Build: &run.Build{OK: true}})
	s.Event(run.Event{Kind: run.PartStarted, Part: lab.Part(1)})
	now = now.Add(quietInPipe)
	s.mu.Lock()
	s.quiet()
	s.mu.Unlock()
	assert.Contains(t, out.String(), "running part 1 (15s)")
	require.NotContains(t, out.String(), "\r")
}

// On a terminal the status line is redrawn in place and cleared before a
// line that stays.
func TestStreamOnATerminalRedrawsOneStatusLine(t *testing.T) {
	t.Setenv("TERM", "xterm") // a dumb terminal gets no redraw
	var out syncBuffer
	lab := streamLab()
	s := New(&out).Stream(lab, false, true)
	s.Event(run.Event{Kind: run.BuildStarted})
	s.Event(run.Event{Kind: run.BuildProgressed, Progress: &run.BuildProgress{Compiled: 3, Total: 9}})
	assert.Contains(t, out.String(), "\r\x1b[K  building: 3 of 9 packages compiled")
	s.Event(run.Event{Kind: run.BuildDone, Build: &run.Build{OK: true}})
	s.Finish(&grade.Outcome{Result: &run.Result{Lab: lab, Build: run.Build{OK: true}}})
	got := out.String()
	assert.True(t, strings.HasSuffix(strings.TrimSpace(got), "race detector off)"), "%q", got)
}
