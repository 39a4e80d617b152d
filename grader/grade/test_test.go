package grade_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/grader/grade"
	"github.com/distlings/distlings/grader/progress"
	"github.com/distlings/distlings/grader/run"
)

// buildsLabs readies a test that builds and runs a lab's tests, offline.
func buildsLabs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a lab's tests")
	}
	t.Setenv("GOTOOLCHAIN", "local")
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOFLAGS", "-mod=mod")
}

// A case that builds; the testscripts in cmd/grader cover the rest.
func TestTestGradesAgainstShippedTestsAndRecordsTheOutcome(t *testing.T) {
	buildsLabs(t)

	g := shippedGrader(t)
	lab := findLab(t, g, "01")
	writeFile(t, filepath.Join(lab.Dir, "demo.go"), demoEdited) // solves part 1 only
	// An edited test cannot raise the grade: the shipped one is compiled.
	writeFile(t, filepath.Join(lab.Dir, "demo_test.go"),
		"package demo\n\nimport \"testing\"\n\nfunc TestAdds(t *testing.T) {}\n\nfunc TestSubtracts(t *testing.T) {}\n")

	out, err := g.Test(context.Background(), lab, grade.TestOptions{NoRace: true})
	require.NoError(t, err)
	require.True(t, out.Build.OK, "build: %v", out.Build.Output)
	assert.Equal(t, "off", out.RaceSummary())
	assert.Contains(t, out.Notices, "labs/01-demo/demo_test.go differs from the shipped copy; graded with the shipped one")
	require.Len(t, out.Parts, 2)
	assert.Equal(t, run.Passed, out.Parts[0].Status)
	assert.Equal(t, run.Failed, out.Parts[1].Status)

	book, _, err := g.Progress.Load()
	require.NoError(t, err)
	rec := book.Peek(lab.Name)
	require.NotNil(t, rec)
	require.NotNil(t, rec.Part(1))
	assert.Equal(t, progress.Passed, rec.Part(1).Last)
	assert.True(t, clock.Equal(rec.Part(1).PassedAt), "passed at %v", rec.Part(1).PassedAt)
	assert.True(t, clock.Equal(rec.Part(1).LastRun))
	assert.Equal(t, hashOf(t, g, lab), rec.Part(1).PassedHash)
	require.NotNil(t, rec.Part(2))
	assert.Equal(t, progress.Failed, rec.Part(2).Last)

	ov := g.Overview()
	assert.Equal(t, []grade.PartState{grade.Passed, grade.Failing}, states(ov.Labs[0]))
	require.NotNil(t, ov.Next)
	assert.Equal(t, 2, ov.Next.Part.Number)
}

// A replay of one seed runs less than the shipped sweep: what it finds is
// shown, and nothing is recorded.
func TestAReplayOfOneSeedRecordsNothing(t *testing.T) {
	buildsLabs(t)

	g := shippedGrader(t)
	lab := findLab(t, g, "01")
	writeFile(t, filepath.Join(lab.Dir, "demo.go"), demoEdited) // solves part 1
	out, err := g.Test(context.Background(), lab, grade.TestOptions{NoRace: true, Replay: true, Env: []string{"DISTLINGS_SEED=7"}})
	require.NoError(t, err)
	assert.Equal(t, run.Passed, out.Parts[0].Status)
	assert.Contains(t, out.Notices, "a replay of one seed is not recorded: run the lab without -seed or -faults to record its parts")
	book, _, err := g.Progress.Load()
	require.NoError(t, err)
	assert.Nil(t, book.Peek(lab.Name), "a part that passed one seed is not recorded as passed")
}
