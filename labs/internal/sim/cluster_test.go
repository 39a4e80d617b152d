package sim_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/seeds"
	"github.com/distlings/distlings/labs/internal/sim"
)

// tracePath finds the trace file a report names, relative to this folder.
func tracePath(t *testing.T, report string) string {
	t.Helper()
	m := regexp.MustCompile(`full trace: (\S+)`).FindStringSubmatch(report)
	require.NotNil(t, m, "the report names its trace file:\n%s", report)
	t.Cleanup(func() { os.Remove(m[1]) })
	return m[1]
}

func TestInvariantFailureStopsAtTheFirstBadEvent(t *testing.T) {
	var w *sim.World
	report := expectFailure(t, func(tb testing.TB) {
		c := sim.NewCluster(tb, sim.Config{Nodes: 3, Seed: 9}, newPinger(100*time.Millisecond))
		w = c.World
		c.Invariant("n2 hears at most 4 pings", func() error {
			if p := pingerOf(c.World, 2); p != nil && len(p.received) > 4 {
				return fmt.Errorf("n2 has heard %d pings", len(p.received))
			}
			return nil
		})
		c.Run(time.Minute)
	})
	f := w.Failure()
	require.NotNil(t, f)
	assert.Equal(t, "invariant", f.Kind)
	assert.Equal(t, 5, len(pingerOf(w, 2).received), "the run stopped at the event that broke the rule")
	last := w.Trace().Last(2)
	assert.Equal(t, sim.KindDeliver, last[0].Kind, "the last event before the failure is the bad one")
	assert.Equal(t, sim.NodeID(2), last[0].Node)
	assert.Equal(t, sim.KindFailure, last[1].Kind)
	assert.Less(t, w.Now(), time.Second, "nothing ran after it")

	assert.Contains(t, report, `invariant "n2 hears at most 4 pings" broken at 0.30`)
	assert.Contains(t, report, "after n2 handling Ping{From:")
	assert.Contains(t, report, "n2 has heard 5 pings")
	assert.Contains(t, report, "events (virtual time, node, event):")
	assert.Regexp(t, `\d\.\d{3}s  n2   ← n\d   Ping\{From:n\d Round:\d+ Path:\[n\d\]\}`, report, "one line per event")
	assert.Contains(t, report, "seed 9; replay with:")
	tracePath(t, report)
}

func TestReportWritesTheFullTraceAsJSONLines(t *testing.T) {
	var count uint64
	report := expectFailure(t, func(tb testing.TB) {
		c := sim.NewCluster(tb, sim.Config{Nodes: 3, Seed: 4}, newPinger(10*time.Millisecond))
		c.Run(5 * time.Second)
		count = c.Trace().Count()
		c.Fatal(fmt.Errorf("the test gave up"))
	})
	path := tracePath(t, report)
	assert.Contains(t, path, filepath.Join(".grader", "traces", "TestFake-seed-4.jsonl"), "kept in the workbook's .grader folder")
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	lines := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), "line %d", lines+1)
		require.Contains(t, rec, "kind")
		require.Contains(t, rec, "at_ns")
		lines++
	}
	assert.Equal(t, int(count), lines, "every event is in the file")
	assert.Contains(t, report, fmt.Sprintf("the last %d of %d events", sim.TimelineLength, count))
}

func TestRunUntilFailsClearlyAtItsVirtualDeadline(t *testing.T) {
	report := expectFailure(t, func(tb testing.TB) {
		c := sim.NewCluster(tb, sim.Config{Nodes: 2, Seed: 1}, newPinger(100*time.Millisecond))
		c.Run(time.Second)
		c.RunUntil("n1 hears from n9", 10*time.Second, func() bool { return false })
	})
	assert.Contains(t, report, "n1 hears from n9 did not happen within 10s of virtual time (from 1.000s to 11.000s)")
}

func TestRunUntilStopsAsSoonAsTheConditionHolds(t *testing.T) {
	c := sim.NewCluster(t, sim.Config{Nodes: 2, Seed: 1, Network: sim.Network{MinLatency: time.Millisecond, MaxLatency: time.Millisecond}}, newPinger(100*time.Millisecond))
	c.RunUntil("n2 hears a ping", time.Minute, func() bool { return len(pingerOf(c.World, 2).received) > 0 })
	assert.Equal(t, 101*time.Millisecond, c.Now())
}

type boom struct{}

func TestAPanickingHandlerIsReportedWithNodeTimeAndEvent(t *testing.T) {
	report := expectFailure(t, func(tb testing.TB) {
		c := sim.NewCluster(tb, sim.Config{Nodes: 3, Seed: 2}, func(id sim.NodeID) sim.Node {
			p := &pinger{period: 100 * time.Millisecond}
			if id == 3 {
				p.onPing = func(_ *pinger, from sim.NodeID, _ Ping) {
					var m map[string]int
					m["x"]++ // a bug in the node
				}
			}
			return p
		})
		c.Run(time.Second)
	})
	assert.Regexp(t, `HandleMessage panicked: assignment to entry in nil map at 0\.1\d\ds, n3 handling Ping\{From:n\d`, report)
	assert.Contains(t, report, "cluster_test.go", "the stack points at the node's code")
	assert.NotContains(t, report, "runtime/debug.Stack", "the simulator's own frames are left out")
	assert.Contains(t, report, "failure: HandleMessage panicked", "the timeline ends with the failure")
}

func TestMisuseOfTheEnvIsReportedClearly(t *testing.T) {
	t.Run("send to an unknown node", func(t *testing.T) {
		report := expectFailure(t, func(tb testing.TB) {
			sim.NewCluster(tb, sim.Config{Nodes: 2, Seed: 1}, func(sim.NodeID) sim.Node {
				return &funcNode{start: func(env sim.Env) { env.Send(7, Ping{}) }}
			})
		})
		assert.Contains(t, report, "n1 sent Ping{From:n0 Round:0 Path:[]} to n7, which is not in the cluster (its nodes are n1 to n2)")
	})
	t.Run("a crashed node's timer", func(t *testing.T) {
		report := expectFailure(t, func(tb testing.TB) {
			c := sim.NewCluster(tb, sim.Config{Nodes: 2, Seed: 1}, func(sim.NodeID) sim.Node { return &funcNode{} })
			old := c.Node(1).(*funcNode)
			c.Crash(1)
			c.At(time.Second, "poke the crashed node", func() { old.env.SetTimer(time.Second, tick{}) })
			c.Run(2 * time.Second)
		})
		assert.Contains(t, report, "n1 called SetTimer after it crashed")
		assert.Contains(t, report, "the test's action poke the crashed node")
	})
	t.Run("a message that cannot cross a network", func(t *testing.T) {
		report := expectFailure(t, func(tb testing.TB) {
			sim.NewCluster(tb, sim.Config{Nodes: 2, Seed: 1}, func(sim.NodeID) sim.Node {
				return &funcNode{start: func(env sim.Env) { env.Send(2, struct{ Reply chan int }{}) }}
			})
		})
		assert.Contains(t, report, "n1 sent a message that cannot cross a network")
		assert.Contains(t, report, "is a chan")
	})
	t.Run("time that cannot advance", func(t *testing.T) {
		report := expectFailure(t, func(tb testing.TB) {
			c := sim.NewCluster(tb, sim.Config{Nodes: 1, Seed: 1}, func(sim.NodeID) sim.Node {
				return &funcNode{
					start: func(env sim.Env) { env.SetTimer(0, tick{}) },
					timer: func(env sim.Env, _ sim.Timer) { env.SetTimer(0, tick{}) },
				}
			})
			c.Run(time.Second)
		})
		assert.Contains(t, report, "virtual time stopped at 0s")
	})
}

// seededFailure fails for some seeds only. TestReplayCommandReproducesAFailure
// runs it in a child process of the test binary, as a learner's failing
// test would run.
func seededFailure(t *testing.T) {
	seeds.Sweep(t, 50, func(t *testing.T, seed uint64) {
		c := sim.NewCluster(t, sim.Config{Nodes: 3, Seed: seed, Network: sim.Network{Loss: 0.05}}, newPinger(100*time.Millisecond))
		c.Invariant("n1 hears every ping of n2's first 10 rounds", func() error {
			got := map[int]bool{}
			for _, p := range pingerOf(c.World, 1).received {
				if p.From == 2 {
					got[p.Round] = true
				}
			}
			for r := 1; r < pingerOf(c.World, 2).round && r <= 10; r++ {
				if !got[r] && c.Now() > time.Duration(r)*100*time.Millisecond+10*time.Millisecond {
					return fmt.Errorf("n1 never heard round %d", r)
				}
			}
			return nil
		})
		c.Run(2 * time.Second)
	})
}

func TestReplayCommandReproducesAFailure(t *testing.T) {
	if os.Getenv("DISTLINGS_SIM_REPLAY_HELPER") != "" {
		seededFailure(t) // the child: the test that fails
		return
	}
	run := func(args ...string) string {
		cmd := exec.Command(os.Args[0], append([]string{"-test.run", "^TestReplayCommandReproducesAFailure$", "-test.v"}, args...)...)
		cmd.Env = append(os.Environ(), "DISTLINGS_SIM_REPLAY_HELPER=1", "DISTLINGS_SEED=", "DISTLINGS_SEEDS=")
		out, err := cmd.CombinedOutput()
		require.Error(t, err, "the helper test must fail:\n%s", out)
		return string(out)
	}
	sweep := run()
	m := regexp.MustCompile(`go test \./labs/internal/sim -run '\^TestReplayCommandReproducesAFailure\$' -seed (\d+)`).FindStringSubmatch(sweep)
	require.NotNil(t, m, "a failing seed prints its replay command:\n%s", sweep)
	assert.Contains(t, sweep, "stopped at the first failing seed")

	replay := run("-seed", m[1])
	failure := regexp.MustCompile(`invariant "[^"]+" broken at .*`)
	want := failure.FindString(sweep)
	require.NotEmpty(t, want)
	assert.Equal(t, want, failure.FindString(replay), "the replay fails the same way, at the same event")
	assert.Equal(t, 1, strings.Count(replay, "=== RUN   TestReplayCommandReproducesAFailure/seed_"), "a replay runs that one seed")
	tracePath(t, sweep)
	tracePath(t, replay)
}
