package tui

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/grade"
	"github.com/distlings/distlings/grader/run"
)

// Snapshots are the final frame at 80x24 without colour. Refresh them with
// go test ./grader/tui -update, and read the diff before committing.

func TestHomeGolden(t *testing.T) {
	tm := start(t, newTestModel(t, demoWorkbook(t)))
	waitFor(t, tm, 15*time.Second, "distlings")
	m := finish(t, tm)
	teatest.RequireEqualOutput(t, []byte(m.View()))
}

func TestLabScreenGolden(t *testing.T) {
	tm := start(t, newTestModel(t, demoWorkbook(t)))
	press(tm, "enter") // the cursor starts on the lab to work on
	waitFor(t, tm, 15*time.Second, "lab 01 demo", "Subtracts")
	m := finish(t, tm)
	teatest.RequireEqualOutput(t, []byte(m.View()))
}

func TestHelpGolden(t *testing.T) {
	tm := start(t, newTestModel(t, demoWorkbook(t)))
	press(tm, "?")
	waitFor(t, tm, 15*time.Second, "Keys", "previous failure")
	m := finish(t, tm)
	teatest.RequireEqualOutput(t, []byte(m.View()))
}

func TestResultsGolden(t *testing.T) {
	g := demoWorkbook(t)
	m := newTestModel(t, g)
	lab := findLab(t, g, "01")
	m.lab.open(lab, m.home.view(lab))
	m.results.set(failingOutcome(lab))
	m.state = stateResults
	tm := start(t, m)
	waitFor(t, tm, 15*time.Second, "TestSubtracts")
	m = finish(t, tm)
	teatest.RequireEqualOutput(t, []byte(m.View()))
}

// failingOutcome is a run of the demo lab as the runner would report it,
// with the kinds of output the results screen must keep readable: testify's
// fields, and a simulator's timeline with its replay line.
func failingOutcome(lab *catalog.Lab) *grade.Outcome {
	output := []string{
		"    demo_test.go:12: ",
		"        \tError Trace:\t/tmp/wb/labs/01-demo/demo_test.go:12",
		"        \tError:      \tNot equal: ",
		"        \t            \texpected: 2",
		"        \t            \tactual  : 0",
		"        \tTest:       \tTestSubtracts",
		"        \tMessages:   \tSub(5, 3) takes 3 from 5",
		"    two leaders in term 7: node 2 (since t=1.204s) and node 4 (since t=1.388s)",
		"    replay: grader test 01 2 -seed 4411   (or: go test -run TestSubtracts -seed 4411)",
		"    last events:",
		"      1.201s  n3 → n2  RequestVoteReply{term 7, granted}",
		"      1.203s  n3 → n4  RequestVoteReply{term 7, granted}   ← second vote in term 7",
	}
	return &grade.Outcome{Result: &run.Result{
		Lab:     lab,
		Build:   run.Build{OK: true, Elapsed: 1200 * time.Millisecond},
		Elapsed: 2300 * time.Millisecond,
		Parts: []*run.PartResult{
			{Part: lab.Part(1), Status: run.Passed, Elapsed: 120 * time.Millisecond, Race: true,
				Tests: []*run.TestResult{{Name: "TestAdds", Status: run.TestPassed}}},
			{Part: lab.Part(2), Status: run.Failed, Elapsed: 340 * time.Millisecond, Race: true,
				Tests: []*run.TestResult{{Name: "TestSubtracts", Status: run.TestFailed, Output: output}}},
		},
	}}
}

func TestResultsKeepTheReplayLineAndTheTimeline(t *testing.T) {
	g := demoWorkbook(t)
	lab := findLab(t, g, "01")
	content, failures, _ := renderOutcome(plainStyles(), failingOutcome(lab), 80)

	assert.Len(t, failures, 1)
	assert.Contains(t, content, "replay: grader test 01 2 -seed 4411\n", "the replay command stays whole on its line")
	assert.Contains(t, content, "1.201s  n3 → n2  RequestVoteReply{term 7, granted}", "timeline columns are kept")
	assert.Contains(t, content, "expected: 2")
	assert.NotContains(t, content, "Error Trace", "testify's noise goes, as on the command line")
	for _, l := range strings.Split(content, "\n") {
		assert.LessOrEqual(t, lipgloss.Width(l), 80, "line %q is wider than the screen", l)
	}
}

func TestHomeMovesOpensAndGoesBack(t *testing.T) {
	tm := start(t, newTestModel(t, demoWorkbook(t)))
	waitFor(t, tm, 15*time.Second, "▸ → 01")

	press(tm, "down")
	waitFor(t, tm, 15*time.Second, "▸   02")
	press(tm, "enter")
	waitFor(t, tm, 15*time.Second, "lab 02 queue", "Redelivery after a timeout")
	press(tm, "esc")
	waitFor(t, tm, 15*time.Second, "distlings")
	press(tm, "down", "enter") // the broken lab cannot be opened
	waitFor(t, tm, 15*time.Second, "cannot be opened")

	m := finish(t, tm)
	assert.Equal(t, stateHome, m.state)
	assert.Equal(t, 2, m.home.cursor)
}

func TestHomeFilters(t *testing.T) {
	tm := start(t, newTestModel(t, demoWorkbook(t)))
	press(tm, "/", "q", "u", "e")
	waitFor(t, tm, 15*time.Second, "filter: que")
	press(tm, "enter")
	waitFor(t, tm, 15*time.Second, "filter: que (esc clears it)")

	m := finish(t, tm)
	require.Len(t, m.home.shown(), 1, "q while typing is text, not quit")
	assert.Equal(t, "02-queue", m.home.shown()[0].Lab.Name)
}

func TestLabScreenActions(t *testing.T) {
	g := demoWorkbook(t)
	tm := start(t, newTestModel(t, g))
	press(tm, "enter")
	waitFor(t, tm, 15*time.Second, "lab 01 demo")

	press(tm, "h")
	waitFor(t, tm, 15*time.Second, "Hint 1 of 1", "Use -.")
	press(tm, "up", "h")
	waitFor(t, tm, 15*time.Second, "Hint 1 of 2", "Use +.")
	press(tm, "e")
	waitFor(t, tm, 15*time.Second, "$EDITOR is not set")
	press(tm, "R")
	waitFor(t, tm, 15*time.Second, "Put back the shipped stubs")
	press(tm, "n")
	waitFor(t, tm, 15*time.Second, "Nothing was reset.")
	press(tm, "R", "y")
	waitFor(t, tm, 15*time.Second, "already matches its shipped stubs")
	press(tm, "g")
	waitFor(t, tm, 10*time.Second, "Common mistakes", "Swapping the operands")
	press(tm, "esc")
	waitFor(t, tm, 15*time.Second, "part 1 is written in")

	m := finish(t, tm)
	assert.Equal(t, stateLab, m.state)
}

// esc on a hint closes the hint: the learner asked for it on this lab and
// is still working on it. A second esc leaves the lab.
func TestEscClosesTheHintWithoutLeavingTheLab(t *testing.T) {
	tm := start(t, newTestModel(t, demoWorkbook(t)))
	press(tm, "enter", "h")
	waitFor(t, tm, 15*time.Second, "Hint 1 of 1", "esc close the hint")
	press(tm, "esc")
	waitFor(t, tm, 15*time.Second, "esc back")
	press(tm, "R") // answered only on the lab screen
	waitFor(t, tm, 15*time.Second, "Put back the shipped stubs")
	press(tm, "n", "esc")
	waitFor(t, tm, 15*time.Second, "Next: work on lab 01 part 2")

	m := finish(t, tm)
	assert.Equal(t, stateHome, m.state, "with no hint open, esc goes back home")
	assert.Nil(t, m.lab.hint, "the first esc closed the hint")
}

// Every letter the help lists does one thing, so a learner who reads "g
// guide" is never surprised by g doing something else on another screen.
// Named keys (esc, enter) mean "back" and "go" on every screen by design.
func TestEveryLetterKeyMeansOneThing(t *testing.T) {
	left, right := newKeyMap().full()
	owner := map[string]string{}
	for _, section := range append(left, right...) {
		for _, b := range section.keys {
			for _, k := range b.Keys() {
				if len([]rune(k)) != 1 {
					continue
				}
				if was, ok := owner[k]; ok {
					t.Errorf("%q is bound to both %q and %q", k, was, b.Help().Desc)
				}
				owner[k] = b.Help().Desc
			}
		}
	}
	assert.Equal(t, "guide", owner["g"])
}

// The results and the guide go to their top with home or <, now that g is
// the guide.
func TestResultsGoToTheTopAndBottom(t *testing.T) {
	g := demoWorkbook(t)
	lab := findLab(t, g, "01")
	o := failingOutcome(lab)
	for i := range 60 {
		o.Parts[1].Tests[0].Output = append(o.Parts[1].Tests[0].Output, fmt.Sprintf("log line %d", i))
	}
	m := newTestModel(t, g)
	m.lab.open(lab, m.home.view(lab))
	m.results.set(o)
	m.state = stateResults
	tm := start(t, m)
	press(tm, ">")
	waitFor(t, tm, 15*time.Second, "log line 59", "100%")
	press(tm, "<")
	waitFor(t, tm, 15*time.Second, "0%")

	m = finish(t, tm)
	assert.Equal(t, stateResults, m.state)
	assert.Equal(t, 0, m.results.vp.YOffset)
}

// A lab whose files changed since some of its parts passed is marked on the
// home screen: those passes may no longer hold.
func TestHomeMarksALabChangedSinceItPassed(t *testing.T) {
	g := demoWorkbook(t)
	m := newTestModel(t, g)
	assert.NotContains(t, m.View(), "changed", "part 1 passed with the files as they are")

	writeFiles(t, g.Workbook.Root, map[string]string{"labs/01-demo/demo.go": "package demo\n\n// edited\n"})
	m = newTestModel(t, g)
	var row string
	for _, l := range strings.Split(m.View(), "\n") {
		if strings.Contains(l, "01 Demo") {
			row = l
		}
	}
	assert.Regexp(t, `^▸ → 01 Demo +changed +0/2 parts +0/20 pts`, row)
	assert.Equal(t, 80, lipgloss.Width(row), "the columns stay where they were")
	assert.Contains(t, m.View(), "Next: run lab 01 part 1 again, \"Adds\"\n      its files changed since it passed")
}

func TestEditorOpensThePartsFile(t *testing.T) {
	g := demoWorkbook(t)
	solved := filepath.Join(t.TempDir(), "solved.go")
	require.NoError(t, os.WriteFile(solved, []byte("package demo\n\nfunc Add(a, b int) int { return a + b }\n\nfunc Sub(a, b int) int { return a - b }\n"), 0o644))
	m := newTestModel(t, g)
	// An "editor" that copies the solution over the file it is given.
	m.c.getenv = func(k string) string { return map[string]string{"EDITOR": "cp " + solved}[k] }
	tm := start(t, m)
	press(tm, "enter", "e")
	// Part 1 passed with the old file: after the edit it shows as changed.
	waitFor(t, tm, 10*time.Second, "CHANGED")

	data, err := os.ReadFile(filepath.Join(g.Workbook.Root, "labs/01-demo/demo.go"))
	require.NoError(t, err)
	assert.Contains(t, string(data), "return a + b")
}

func TestResultsJumpBetweenFailures(t *testing.T) {
	g := demoWorkbook(t)
	lab := findLab(t, g, "01")
	o := failingOutcome(lab)
	o.Parts[0].Status, o.Parts[0].Tests[0].Status = run.Failed, run.TestFailed
	for i := range 40 {
		o.Parts[0].Tests[0].Output = append(o.Parts[0].Tests[0].Output, fmt.Sprintf("log line %d", i))
	}
	m := newTestModel(t, g)
	m.lab.open(lab, m.home.view(lab))
	m.results.set(o)
	m.state = stateResults
	tm := start(t, m)

	press(tm, "n", "n")
	waitFor(t, tm, 15*time.Second, "failure 2 of 2")
	press(tm, "N")
	waitFor(t, tm, 15*time.Second, "failure 1 of 2")
	press(tm, "esc")
	waitFor(t, tm, 15*time.Second, "part 2 is written in")

	m = finish(t, tm)
	assert.Equal(t, stateLab, m.state)
}

func TestResizeRedraws(t *testing.T) {
	tm := start(t, newTestModel(t, demoWorkbook(t)))
	tm.Send(tea.WindowSizeMsg{Width: 120, Height: 40})
	press(tm, "enter")
	waitFor(t, tm, 15*time.Second, "lab 01 demo")

	m := finish(t, tm)
	for _, l := range strings.Split(m.View(), "\n") {
		assert.LessOrEqual(t, lipgloss.Width(l), 120)
	}
	assert.Equal(t, 40, strings.Count(m.View(), "\n")+1, "the frame fills the new height")
}

func TestQuit(t *testing.T) {
	tm := start(t, newTestModel(t, demoWorkbook(t)))
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

func TestRunDrawsAndQuits(t *testing.T) {
	var out bytes.Buffer
	err := Run(context.Background(), demoWorkbook(t), strings.NewReader("q"), &out)
	require.NoError(t, err)
	assert.Contains(t, out.String(), "distlings")
	assert.NotContains(t, out.String(), "\x1b[1m", "output that is not a terminal gets no colour")
}

func TestRunEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	in, w := io.Pipe() // keys that never come
	defer w.Close()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, demoWorkbook(t), in, io.Discard) }()
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err, "an ended context is how the caller asks Run to stop")
	case <-time.After(5 * time.Second):
		t.Fatal("Run still going 5s after its context ended")
	}
}

func TestNoColourIsPlainText(t *testing.T) {
	m := newTestModel(t, demoWorkbook(t))
	assert.NotContains(t, m.View(), "\x1b[", "NO_COLOR: no escape codes at all")
}
