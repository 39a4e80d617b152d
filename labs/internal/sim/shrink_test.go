package sim_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/sim"
)

// missesTwoInARow fails once n1 misses two pings in a row from n2, lost
// on the way or while n1 was down: among the dozens of faults of its run,
// two (or one crash) are the reason. TestAFailingSweepIsShrunk runs it in
// a child process, as a learner's failing test would run.
func missesTwoInARow(t *testing.T) {
	sim.Sweep(t, 20, func(t testing.TB, seed uint64) {
		c := sim.NewCluster(t, sim.Config{Nodes: 4, Seed: seed,
			Network: sim.Network{Loss: 0.04, Duplicate: 0.04, Reorder: 0.04}}, newPinger(40*time.Millisecond))
		c.ScheduleFaults(sim.Faults{Every: 700 * time.Millisecond, MinDown: 50 * time.Millisecond, MaxDown: 100 * time.Millisecond,
			Crashes: true, Partitions: true, MaxCrashed: 1})
		missed := 0
		c.Observe(func(r sim.Record) {
			if r.Node != 1 || r.Peer != 2 {
				return
			}
			switch r.Kind {
			case sim.KindDeliver:
				missed = 0
			case sim.KindDrop:
				missed++
			}
		})
		c.Invariant("n1 never misses two pings of n2 in a row", func() error {
			if missed >= 2 {
				return fmt.Errorf("n1 missed %d pings of n2 in a row", missed)
			}
			return nil
		})
		c.Run(20 * time.Second)
	})
}

func child(t *testing.T, env []string, args ...string) string {
	t.Helper()
	if !slices.Contains(args, "-test.run") {
		args = append([]string{"-test.run", "^TestAFailingSweepIsShrunk$"}, args...)
	}
	cmd := exec.Command(os.Args[0], append([]string{"-test.v"}, args...)...)
	cmd.Env = append(os.Environ(), append([]string{"DISTLINGS_SIM_SHRINK_HELPER=1", "DISTLINGS_SEED=", "DISTLINGS_SEEDS=", "DISTLINGS_SHRINK=", "DISTLINGS_FAULTS="}, env...)...)
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the helper test must fail:\n%s", out)
	return string(out)
}

var shrunk = regexp.MustCompile(`shrinking: the run failed with (\d+) faults?; it still fails the same way \(invariant "n1 never misses two pings of n2 in a row"\) with (this one|these (\d+)):`)

func TestAFailingSweepIsShrunk(t *testing.T) {
	if os.Getenv("DISTLINGS_SIM_SHRINK_HELPER") != "" {
		missesTwoInARow(t)
		return
	}
	out := child(t, nil)
	m := shrunk.FindStringSubmatch(out)
	require.NotNil(t, m, "a failing seed is shrunk, and the report says to what:\n%s", out)
	before, _ := strconv.Atoi(m[1])
	after := 1
	if m[3] != "" {
		after, _ = strconv.Atoi(m[3])
	}
	assert.LessOrEqual(t, after, 2, "two losses in a row, or one crash, are all it takes:\n%s", out)
	assert.Greater(t, before, 10, "the run had many more faults than that")
	assert.Regexp(t, `found in \d+ runs in [\d.]+s; the budget is \d+ runs or \d+s`, out, "the report states its budget")

	diagram := regexp.MustCompile(`diagram (\S+-shrunk\.html)`).FindStringSubmatch(out)
	require.NotNil(t, diagram, "the shrunk run's diagram is named:\n%s", out)
	html, err := os.ReadFile(diagram[1])
	require.NoError(t, err)
	assert.Contains(t, string(html), "<svg")
	assert.NotContains(t, string(html), "<script src", "the diagram is one self-contained file")

	replay := regexp.MustCompile(`go test \./labs/internal/sim -run '\^TestAFailingSweepIsShrunk\$' -seed (\d+) -faults (\S+\.faults\.json)`).FindStringSubmatch(out)
	require.NotNil(t, replay, "the report gives the command that replays the shrunk run:\n%s", out)
	var file sim.FaultsFile
	data, err := os.ReadFile(replay[2])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &file))
	assert.Equal(t, after, len(file.Faults[0]), "the faults file holds the faults the report lists")

	again := child(t, nil, "-seed", replay[1], "-faults", replay[2])
	assert.Contains(t, again, lastShrunkRun(out), "the replay of the shrunk run fails the same way, at the same time")
	assert.NotContains(t, again, "shrinking:", "a replayed run is not shrunk again")

	off := child(t, []string{"DISTLINGS_SHRINK=off"})
	assert.NotContains(t, off, "shrinking:", "DISTLINGS_SHRINK=off turns shrinking off")
	assert.Contains(t, off, "broken at")
}

// lastShrunkRun is the failure line of the shrunk run, read from its trace.
func lastShrunkRun(out string) string {
	m := regexp.MustCompile(`trace (\S+-shrunk\.jsonl)`).FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	data, err := os.ReadFile(m[1])
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var last struct{ Text, At string }
	json.Unmarshal([]byte(lines[len(lines)-1]), &last)
	return fmt.Sprintf(`invariant "n1 never misses two pings of n2 in a row" broken at %s`, last.At)
}

// needsSeven fails a run of a seed divisible by 4 that had at least 7
// crashes, and a run of the seed after it that had at least 2: a failing
// seed that cannot be shrunk below 7 faults, next to one that fails the
// same way with 2.
func needsSeven(t *testing.T) {
	sim.Sweep(t, 1, func(t testing.TB, seed uint64) {
		c := sim.NewCluster(t, sim.Config{Nodes: 3, Seed: seed}, newPinger(40*time.Millisecond))
		c.ScheduleFaults(sim.Faults{Every: 100 * time.Millisecond, MinDown: 10 * time.Millisecond, MaxDown: 20 * time.Millisecond,
			Crashes: true, MaxCrashed: 1})
		c.Run(2 * time.Second)
		need := map[uint64]int{0: 7, 1: 2}[seed%4]
		if os.Getenv("DISTLINGS_SIM_SHRINK_ALONE") != "" {
			need = map[uint64]int{400: 7}[seed] // no other seed fails
		}
		if crashes := len(c.Faults()); need > 0 && crashes >= need {
			t.Errorf("%d crashes, at least %d", crashes, need)
		}
	})
}

func TestAShrinkLooksAtLaterSeeds(t *testing.T) {
	if os.Getenv("DISTLINGS_SIM_SHRINK_HELPER") != "" {
		if os.Getenv("DISTLINGS_SIM_SHRINK_ALONE") != "" {
			sim.ShrinkRuns = 1500 // enough to look past the first hundred seeds
		}
		needsSeven(t)
		return
	}
	out := child(t, nil, "-test.run", "^TestAShrinkLooksAtLaterSeeds$", "-seed", "400")
	m := regexp.MustCompile(`on its seed the fewest found that still fail the same way \(.*, at shrink_test.go:\d+\) were 7, but a later seed, 401, fails that way with these 2:`).FindStringSubmatch(out)
	require.NotNil(t, m, "seed 400 needs 7 faults, seed 401 fails the same way with 2, and the report says so:\n%s", out)

	replay := regexp.MustCompile(`-run '\^TestAShrinkLooksAtLaterSeeds\$' -seed (\d+) -faults (\S+\.faults\.json)`).FindStringSubmatch(out)
	require.NotNil(t, replay, "the report gives the command that replays the later seed's run:\n%s", out)
	assert.Equal(t, "401", replay[1], "the replay runs the later seed")
	again := child(t, nil, "-test.run", "^TestAShrinkLooksAtLaterSeeds$", "-seed", replay[1], "-faults", replay[2])
	assert.Contains(t, again, "2 crashes, at least 2", "the replay of the later seed fails with its two faults")
	assert.NotContains(t, again, "shrinking:", "a replayed run is not shrunk again")

	alone := child(t, []string{"DISTLINGS_SIM_SHRINK_ALONE=1"}, "-test.run", "^TestAShrinkLooksAtLaterSeeds$", "-seed", "400")
	assert.Regexp(t, `it still fails the same way \(.*\) with these 7:`, alone, "no later seed fails, so the report is the failing seed's own")
	assert.Regexp(t, `\(the \d+ seeds after this one were run too: none failed the same way, so this failure is rare`, alone,
		"a report that stays long says that the later seeds were tried, and how they went")
}

// failsAnyway fails every run, with its crashes or without.
func failsAnyway(t *testing.T) {
	sim.Sweep(t, 1, func(t testing.TB, seed uint64) {
		c := sim.NewCluster(t, sim.Config{Nodes: 3, Seed: seed}, newPinger(40*time.Millisecond))
		c.ScheduleFaults(sim.Faults{Every: 100 * time.Millisecond, MinDown: 10 * time.Millisecond, MaxDown: 20 * time.Millisecond,
			Crashes: true, MaxCrashed: 1})
		c.Run(time.Second)
		t.Errorf("the run had %d faults", len(c.Faults()))
	})
}

func TestARunShrunkToNoFaultReplaysWithNone(t *testing.T) {
	if os.Getenv("DISTLINGS_SIM_SHRINK_HELPER") != "" {
		failsAnyway(t)
		return
	}
	out := child(t, nil, "-test.run", "^TestARunShrunkToNoFaultReplaysWithNone$")
	assert.Contains(t, out, "with none of them: no crash, partition or lost message is needed")
	replay := regexp.MustCompile(`-seed (\d+) -faults (\S+\.faults\.json)`).FindStringSubmatch(out)
	require.NotNil(t, replay, "a run shrunk to no fault has a faults file too, or its replay would have the seed's random faults:\n%s", out)
	again := child(t, nil, "-test.run", "^TestARunShrunkToNoFaultReplaysWithNone$", "-seed", replay[1], "-faults", replay[2])
	assert.Contains(t, again, "the run had 0 faults", "the replay has no fault")
}
