package heartbeat_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/distlings/distlings/labs/internal/seeds"
	"github.com/distlings/distlings/labs/internal/sim"
	"github.com/distlings/distlings/labs/internal/sim/heartbeat"
)

var cfg = heartbeat.Config{Interval: 100 * time.Millisecond}

func detector(c *sim.Cluster, id sim.NodeID) *heartbeat.Node {
	n, _ := c.Node(id).(*heartbeat.Node)
	return n
}

// The worked example of docs/simulator.md, on the simulator.
func TestCrashedNodeIsSuspectedAndForgivenAfterRestart(t *testing.T) {
	seeds.Sweep(t, 20, func(t *testing.T, seed uint64) {
		c := sim.NewCluster(t, sim.Config{Nodes: 5, Seed: seed, Network: sim.Network{Loss: 0.05}}, heartbeat.New(cfg))
		c.Invariant("a node never suspects itself", func() error {
			for _, id := range c.IDs() {
				if n := detector(c, id); n != nil && slices.Contains(n.Suspects(), id) {
					return fmt.Errorf("%v suspects itself", id)
				}
			}
			return nil
		})
		c.Run(10 * time.Second)
		c.Crash(3)
		for _, id := range []sim.NodeID{1, 2, 4, 5} {
			c.RunUntil(fmt.Sprintf("%v suspects n3", id), time.Second, func() bool {
				return slices.Contains(detector(c, id).Suspects(), 3)
			})
		}
		c.Restart(3)
		assert.Equal(t, uint64(2), detector(c, 3).Incarnation(), "the incarnation counter lives in Storage")
		c.RunUntil("nobody suspects n3", time.Second, func() bool {
			for _, id := range []sim.NodeID{1, 2, 4, 5} {
				if slices.Contains(detector(c, id).Suspects(), 3) {
					return false
				}
			}
			return true
		})
	})
}

func TestPartitionedNodesSuspectEachOtherUntilHealed(t *testing.T) {
	c := sim.NewCluster(t, sim.Config{Nodes: 5}, heartbeat.New(cfg))
	c.Run(time.Second)
	c.Partition([]sim.NodeID{1, 2})
	c.Run(time.Second)
	assert.Equal(t, []sim.NodeID{3, 4, 5}, detector(c, 1).Suspects())
	assert.Equal(t, []sim.NodeID{1, 2}, detector(c, 4).Suspects())
	c.Heal()
	c.Run(time.Second)
	for _, id := range c.IDs() {
		assert.Empty(t, detector(c, id).Suspects(), "%v after the heal", id)
	}
}

// BenchmarkTenVirtualMinutes runs a 5-node cluster of detectors for ten
// minutes of virtual time with lost messages, crashes and partitions.
func BenchmarkTenVirtualMinutes(b *testing.B) {
	var events uint64
	for i := range b.N {
		w := sim.NewWorld(sim.Config{Nodes: 5, Seed: uint64(i + 1), Network: sim.Network{Loss: 0.05, Duplicate: 0.01, Reorder: 0.01}},
			heartbeat.New(cfg))
		w.ScheduleFaults(sim.Faults{Every: 5 * time.Second, MinDown: time.Second, MaxDown: 5 * time.Second, Crashes: true, Partitions: true})
		if err := w.RunFor(10 * time.Minute); err != nil {
			b.Fatal(err)
		}
		events += w.Handled()
	}
	b.ReportMetric(float64(events)/float64(b.N), "events/run")
}

func TestTheExampleRunsTheSameForTheSameSeed(t *testing.T) {
	run := func(seed uint64) uint64 {
		w := sim.NewWorld(sim.Config{Nodes: 5, Seed: seed, Network: sim.Network{Loss: 0.05}}, heartbeat.New(cfg))
		w.ScheduleFaults(sim.Faults{Every: 2 * time.Second, MinDown: time.Second, MaxDown: 3 * time.Second, Crashes: true, Partitions: true})
		if err := w.RunFor(time.Minute); err != nil {
			t.Fatal(err)
		}
		return w.Trace().Hash()
	}
	assert.Equal(t, run(8), run(8))
	assert.NotEqual(t, run(8), run(9))
}
