package grade_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/grader/catalog"
	"github.com/distlings/distlings/grader/grade"
)

func nextHint(t *testing.T, g *grade.Grader, lab *catalog.Lab, part int) *grade.Hint {
	t.Helper()
	h, notices, err := g.NextHint(lab, part)
	require.NoError(t, err)
	assert.Empty(t, notices)
	return h
}

func TestNextHintGoesUpATierEachTimeAndStaysAtTheLast(t *testing.T) {
	g := newGrader(t, "")
	lab := findLab(t, g, "01")
	want := []struct {
		number int
		last   bool
		text   string
	}{
		{1, false, "Think about adding."},
		{2, false, "The operator is +."},
		{3, true, "return a + b"},
		{3, true, "return a + b"},
	}
	for i, w := range want {
		h := nextHint(t, g, lab, 1)
		assert.Equal(t, lab, h.Lab)
		assert.Equal(t, 1, h.Part.Number)
		assert.Equal(t, w.number, h.Number, "call %d", i+1)
		assert.Equal(t, w.last, h.Last, "call %d", i+1)
		assert.Equal(t, w.text, h.Text, "call %d", i+1)
	}
}

func TestNextHintKeepsACountPerPart(t *testing.T) {
	g := newGrader(t, "")
	lab := findLab(t, g, "01")
	nextHint(t, g, lab, 1)
	nextHint(t, g, lab, 1)

	h := nextHint(t, g, lab, 2)
	assert.Equal(t, 2, h.Part.Number)
	assert.Equal(t, 1, h.Number)
	assert.True(t, h.Last, "a part with one hint shows its last at once")
	assert.Equal(t, "Use -.", h.Text)

	assert.Equal(t, 3, nextHint(t, g, lab, 1).Number)
}

func TestNextHintForPartZeroIsForTheFirstUnsolvedPart(t *testing.T) {
	g := newGrader(t, "")
	lab := findLab(t, g, "01")
	assert.Equal(t, 1, nextHint(t, g, lab, 0).Part.Number, "nothing run yet")

	record(t, g, lab, 1, true)
	h := nextHint(t, g, lab, 0)
	assert.Equal(t, 2, h.Part.Number, "part 1 passed")
	assert.Equal(t, 1, h.Number)

	record(t, g, lab, 2, true)
	writeFile(t, filepath.Join(lab.Dir, "demo.go"), "package demo\n\n// edited\n")
	h = nextHint(t, g, lab, 0)
	assert.Equal(t, 1, h.Part.Number, "part 1 changed since it passed")
	assert.Equal(t, 2, h.Number, "part 1 already showed hint 1")
}

// A finished lab has nothing to hint, which is not an error; its parts can
// still be asked for by number.
func TestNextHintForPartZeroWhenEveryPartPassedIsNone(t *testing.T) {
	g := newGrader(t, "")
	lab := findLab(t, g, "01")
	record(t, g, lab, 1, true)
	record(t, g, lab, 2, true)

	h, notices, err := g.NextHint(lab, 0)
	require.NoError(t, err)
	assert.Nil(t, h)
	assert.Empty(t, notices)
	book, _, err := g.Progress.Load()
	require.NoError(t, err)
	assert.Zero(t, book.Peek(lab.Name).HintsSeen(1), "no hint was shown, so none is recorded")

	assert.Equal(t, 1, nextHint(t, g, lab, 1).Number, "a named part still has hints")
}

func TestNextHintForAPartOutOfRangeIsAnErrorAndRecordsNothing(t *testing.T) {
	g := newGrader(t, "")
	lab := findLab(t, g, "01")
	for _, part := range []int{3, -1} {
		h, _, err := g.NextHint(lab, part)
		require.Error(t, err, "part %d", part)
		assert.Nil(t, h)
		assert.Contains(t, err.Error(), "lab 01 demo has parts 1 to 2; there is no part")
		assert.ErrorAs(t, err, new(*grade.NoSuchPartError), "the command line tells a typo from a failure by its type")
	}
	book, _, err := g.Progress.Load()
	require.NoError(t, err)
	assert.Nil(t, book.Peek(lab.Name))
}

func TestNextHintRemembersSeenHintsAcrossGraders(t *testing.T) {
	g := newGrader(t, "")
	assert.Equal(t, 1, nextHint(t, g, findLab(t, g, "01"), 1).Number)
	assert.Equal(t, 2, nextHint(t, g, findLab(t, g, "01"), 1).Number)

	again := reopen(t, g.Workbook.Root)
	lab := findLab(t, again, "01")
	assert.Equal(t, 3, nextHint(t, again, lab, 1).Number)
	assert.Equal(t, 1, nextHint(t, again, lab, 2).Number)

	book, _, err := again.Progress.Load()
	require.NoError(t, err)
	assert.Equal(t, 3, book.Peek(lab.Name).HintsSeen(1))
	assert.Equal(t, 1, book.Peek(lab.Name).HintsSeen(2))
}

func TestNextHintOfABrokenLabIsItsManifestError(t *testing.T) {
	g := newGrader(t, "-- labs/00-broken/lab.toml --\ntitle = \"\"\n")
	broken := g.Catalog.Labs[0]
	require.Error(t, broken.Err)
	_, _, err := g.NextHint(broken, 1)
	assert.Equal(t, broken.Err, err)
}
