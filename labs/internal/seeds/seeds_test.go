package seeds

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDefaultSeedDependsOnlyOnTheTestName(t *testing.T) {
	var first, again, other uint64
	t.Run("a", func(t *testing.T) { first = For(t); again = For(t) })
	t.Run("b", func(t *testing.T) { other = For(t) })
	assert.NotZero(t, first)
	assert.Equal(t, first, again, "the same test gets the same seed on every run")
	assert.NotEqual(t, first, other, "different tests get different seeds")
}

func TestSameSeedGivesTheSameSequence(t *testing.T) {
	old := *seedFlag
	defer func() { *seedFlag = old }()
	*seedFlag = 4411
	draw := func(t *testing.T) []uint64 { r := Rand(t); return []uint64{r.Uint64(), r.Uint64()} }
	var x, y []uint64
	t.Run("x", func(t *testing.T) { x = draw(t) })
	t.Run("y", func(t *testing.T) { y = draw(t) })
	assert.Equal(t, x, y, "-seed replays the same numbers, whatever the test")
}

func TestFlagOverridesDefault(t *testing.T) {
	old := *seedFlag
	defer func() { *seedFlag = old }()
	*seedFlag = 4411
	assert.Equal(t, uint64(4411), For(t))
}

func TestEnvironmentSetsSeed(t *testing.T) {
	t.Setenv("DISTLINGS_SEED", "77")
	assert.Equal(t, uint64(77), For(t))
}

func TestReplayNamesTheTestAndSeed(t *testing.T) {
	got := Replay("TestAtMostOneLeaderPerTerm/seed_3", 4411)
	assert.Contains(t, got, "go test ./labs/internal/seeds -run '^TestAtMostOneLeaderPerTerm$' -seed 4411")
	assert.False(t, strings.Contains(got, "grader test"), "not a lab folder")
	wd, _ := os.Getwd()
	assert.True(t, strings.HasSuffix(wd, "labs/internal/seeds"))
}

// recordingTB is a test that has failed, and records what it logs.
type recordingTB struct {
	testing.TB
	cleanups []func()
	logs     []string
}

func (r *recordingTB) Helper()                 {}
func (r *recordingTB) Name() string            { return "TestSomething" }
func (r *recordingTB) Failed() bool            { return true }
func (r *recordingTB) Cleanup(f func())        { r.cleanups = append(r.cleanups, f) }
func (r *recordingTB) Logf(f string, a ...any) { r.logs = append(r.logs, fmt.Sprintf(f, a...)) }

func TestAFailedTestPrintsItsSeedOnce(t *testing.T) {
	rec := &recordingTB{TB: t}
	seed := For(rec)
	Rand(rec)
	For(rec)
	for _, f := range rec.cleanups {
		f()
	}
	if assert.Len(t, rec.logs, 1, "asked three times, told once") {
		assert.Contains(t, rec.logs[0], fmt.Sprintf("seed %d; replay with:", seed))
		assert.Contains(t, rec.logs[0], "-run '^TestSomething$' -seed")
	}
}
