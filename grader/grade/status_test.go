package grade_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/grader/grade"
	"github.com/distlings/distlings/grader/progress"
)

func states(v *grade.LabView) []grade.PartState {
	var out []grade.PartState
	for _, p := range v.Parts {
		out = append(out, p.State)
	}
	return out
}

func TestOverviewOfAFreshWorkbookSuggestsTheFirstPart(t *testing.T) {
	g := newGrader(t, "")
	ov := g.Overview()

	assert.Empty(t, ov.Notices)
	require.Len(t, ov.Labs, 2)
	assert.Equal(t, []grade.PartState{grade.NotRun, grade.NotRun}, states(ov.Labs[0]))
	assert.Equal(t, []grade.PartState{grade.NotRun}, states(ov.Labs[1]))
	assert.Nil(t, ov.Labs[0].Parts[0].Record)
	assert.Equal(t, 0, ov.Earned)
	assert.Equal(t, 35, ov.Total)

	require.NotNil(t, ov.Next)
	assert.Equal(t, "01-demo", ov.Next.Lab.Name)
	assert.Equal(t, 1, ov.Next.Part.Number)
	assert.False(t, ov.Next.Rerun)
	_, err := os.Stat(g.Progress.Path())
	assert.ErrorIs(t, err, os.ErrNotExist, "reading status writes nothing")
}

func TestLabViewReportsPassedFailingAndNotRun(t *testing.T) {
	g := newGrader(t, "")
	lab := findLab(t, g, "01")
	record(t, g, lab, 1, true)
	record(t, g, lab, 2, false)

	v, notices := g.LabView(lab)
	assert.Empty(t, notices)
	assert.Equal(t, []grade.PartState{grade.Passed, grade.Failing}, states(v))
	require.NotNil(t, v.Parts[0].Record)
	assert.Equal(t, progress.Passed, v.Parts[0].Record.Last)
	assert.Equal(t, 10, v.Earned)
	assert.Equal(t, 1, v.Passed())
	assert.False(t, v.Done())

	other, _ := g.LabView(findLab(t, g, "02"))
	assert.Equal(t, []grade.PartState{grade.NotRun}, states(other))
}

func TestPassedPartIsChangedOnceTheLearnersCodeChanges(t *testing.T) {
	g := shippedGrader(t)
	lab := findLab(t, g, "01")
	record(t, g, lab, 1, true)
	record(t, g, lab, 2, true)
	v, _ := g.LabView(lab)
	require.True(t, v.Done())
	assert.False(t, v.Changed())

	// A test file, notes or a file of one's own are not graded.
	writeFile(t, filepath.Join(lab.Dir, "demo_test.go"), "package demo\n")
	writeFile(t, filepath.Join(lab.Dir, "notes.md"), "edited\n")
	writeFile(t, filepath.Join(lab.Dir, "zz.go"), "package demo\n")
	v, _ = g.LabView(lab)
	assert.Equal(t, []grade.PartState{grade.Passed, grade.Passed}, states(v))

	writeFile(t, filepath.Join(lab.Dir, "demo.go"), "package demo\n\n// edited\n")
	v, _ = g.LabView(lab)
	assert.Equal(t, []grade.PartState{grade.Changed, grade.Changed}, states(v))
	assert.Equal(t, 0, v.Earned, "a changed part counts again once it is run again")
	assert.Equal(t, 0, v.Passed())
	assert.False(t, v.Done(), "a changed part is not done")
	assert.True(t, v.Changed())
}

func TestPartThatFailedAfterPassingIsFailing(t *testing.T) {
	g := newGrader(t, "")
	lab := findLab(t, g, "01")
	record(t, g, lab, 1, true)
	record(t, g, lab, 1, false)
	v, _ := g.LabView(lab)
	assert.Equal(t, grade.Failing, v.Parts[0].State)
	assert.Equal(t, 0, v.Earned)
}

func TestOverviewNextIsTheFirstUnsolvedPartOfTheFirstUnfinishedLab(t *testing.T) {
	g := newGrader(t, "")
	demo, more := findLab(t, g, "01"), findLab(t, g, "02")

	// Part 2 passing does not skip part 1, nor does lab 02 passing.
	record(t, g, demo, 2, true)
	record(t, g, more, 1, true)
	ov := g.Overview()
	require.NotNil(t, ov.Next)
	assert.Equal(t, demo, ov.Next.Lab)
	assert.Equal(t, 1, ov.Next.Part.Number)

	record(t, g, demo, 1, false)
	ov = g.Overview()
	require.NotNil(t, ov.Next)
	assert.Equal(t, demo, ov.Next.Lab)
	assert.Equal(t, 1, ov.Next.Part.Number, "a failing part is unsolved")

	record(t, g, demo, 1, true)
	record(t, g, more, 1, false)
	ov = g.Overview()
	require.NotNil(t, ov.Next)
	assert.Equal(t, more, ov.Next.Lab)
	assert.Equal(t, 1, ov.Next.Part.Number)
	assert.Equal(t, 15, ov.Earned)
}

func TestOverviewNextAsksForARerunOfAChangedPart(t *testing.T) {
	g := newGrader(t, "")
	demo := findLab(t, g, "01")
	record(t, g, demo, 1, true)
	record(t, g, demo, 2, true)
	writeFile(t, filepath.Join(demo.Dir, "demo.go"), "package demo\n\n// edited\n")

	ov := g.Overview()
	require.NotNil(t, ov.Next)
	assert.Equal(t, demo, ov.Next.Lab)
	assert.Equal(t, 1, ov.Next.Part.Number)
	assert.True(t, ov.Next.Rerun)
}

func TestOverviewHasNoNextWhenEverythingPassed(t *testing.T) {
	g := newGrader(t, "")
	demo, more := findLab(t, g, "01"), findLab(t, g, "02")
	record(t, g, demo, 1, true)
	record(t, g, demo, 2, true)
	record(t, g, more, 1, true)

	ov := g.Overview()
	assert.Nil(t, ov.Next)
	assert.Equal(t, 35, ov.Earned)
	assert.Equal(t, ov.Total, ov.Earned)
	for _, v := range ov.Labs {
		assert.True(t, v.Done(), v.Lab.Name)
	}
}

func TestOverviewSkipsABrokenLabButStillListsIt(t *testing.T) {
	g := newGrader(t, "-- labs/00-broken/lab.toml --\ntitle = \"\"\n")
	ov := g.Overview()
	require.Len(t, ov.Labs, 3)
	broken := ov.Labs[0]
	assert.Equal(t, "00-broken", broken.Lab.Name)
	assert.Error(t, broken.Lab.Err)
	assert.Empty(t, broken.Parts)
	assert.False(t, broken.Done())
	assert.Equal(t, 35, ov.Total, "a broken lab adds no points")
	require.NotNil(t, ov.Next)
	assert.Equal(t, "01-demo", ov.Next.Lab.Name)
}

func TestOverviewCarriesOnPastADamagedProgressFile(t *testing.T) {
	g := newGrader(t, "")
	writeFile(t, g.Progress.Path(), "{not json")

	ov := g.Overview()
	require.Len(t, ov.Notices, 1)
	assert.Contains(t, ov.Notices[0], "was damaged")
	require.NotNil(t, ov.Next)
	assert.Equal(t, 1, ov.Next.Part.Number)
	assert.Equal(t, 0, ov.Earned)
}
