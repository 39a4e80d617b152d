package seeds

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

func TestSweepRunsEachSeedAsASubtest(t *testing.T) {
	var got []uint64
	Sweep(t, 5, func(t *testing.T, seed uint64) { got = append(got, seed) })
	require.Len(t, got, 5)
	for i := 1; i < len(got); i++ {
		assert.Equal(t, got[0]+uint64(i), got[i], "consecutive seeds from the test's own")
	}
}

func TestSweepCountComesFromTheFlagOrEnvironment(t *testing.T) {
	t.Setenv("DISTLINGS_SEEDS", "3")
	n := 0
	Sweep(t, 50, func(*testing.T, uint64) { n++ })
	assert.Equal(t, 3, n)

	old := *sweepFlag
	defer func() { *sweepFlag = old }()
	*sweepFlag = 2
	n = 0
	Sweep(t, 50, func(*testing.T, uint64) { n++ })
	assert.Equal(t, 2, n, "the flag wins over the environment")
}

func TestSweepWithASeedRunsOnlyThatSeed(t *testing.T) {
	t.Setenv("DISTLINGS_SEED", "77")
	var got []uint64
	Sweep(t, 50, func(t *testing.T, seed uint64) { got = append(got, seed) })
	assert.Equal(t, []uint64{77}, got)
}

func TestSharedCountsOnlyUnguardedDraws(t *testing.T) {
	draw := func(lock bool) int64 {
		r, overlaps := Shared(t)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				for range 20 {
					if lock {
						mu.Lock()
					}
					r.Uint64()
					if lock {
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		return overlaps.Count()
	}
	assert.Zero(t, draw(true), "draws under one lock never overlap")
	assert.Positive(t, draw(false), "50 goroutines drawing without a lock, each yielding inside its draw, overlap")
}
