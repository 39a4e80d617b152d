package raft

// Cluster tests of parts 1 and 2: elections on the simulator, over many
// seeds, with the rules of safety checked after every event.

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/sim"
)

// awaitLeader runs until one node leads and every running node follows it.
// If that does not happen in time, the failure shows where each node stood
// at the deadline.
func (c *cluster) awaitLeader(within time.Duration) sim.NodeID {
	c.t.Helper()
	var leader sim.NodeID
	start := c.Now()
	ok, err := c.World.RunUntil(func() bool {
		id, ok := c.leader()
		if !ok {
			return false
		}
		term := c.node(id).Term()
		for _, other := range c.IDs() {
			if n := c.node(other); n != nil && (n.Term() != term || n.Leader() != id) {
				return false
			}
		}
		leader = id
		return true
	}, start+within)
	if err != nil {
		c.Fatal(err)
	}
	if !ok {
		c.Fatal(fmt.Errorf("a leader that every running node follows did not happen within %v of virtual time (from %s to %s); at the deadline:\n%s\nrule: a candidate with votes from a majority becomes leader and sends heartbeats at once; a node that hears one follows it: the leader's term, and Leader() naming it (§5.2). Look above for the node that does not, then read its events in the timeline",
			within, at(start), at(c.Now()), c.states()))
	}
	return leader
}

// Reference: §5.2, leader election.
func TestClusterElectsALeaderThatEveryoneFollows(t *testing.T) {
	sweep(t, func(t testing.TB, seed uint64) {
		c := newCluster(t, 5, seed, sim.Network{}, testCfg)
		leader := c.awaitLeader(2 * time.Second)
		c.Run(2 * time.Second)
		now, ok := c.leader()
		require.True(t, ok, "the leader was lost with nothing failing: %s", c.roles())
		assert.Equal(t, leader, now, "with nothing failing, the leader stays")
	})
}

// Reference: §5.2 Election Safety: "at most one leader can be elected in a
// given term." Checked after every event, while the network loses,
// duplicates and reorders messages, partitions come and go and nodes crash.
func TestAtMostOneLeaderPerTerm(t *testing.T) {
	sweep(t, func(t testing.TB, seed uint64) {
		c := newCluster(t, 5, seed, faulty, testCfg)
		c.ScheduleFaults(sim.Faults{Every: time.Second, MinDown: 200 * time.Millisecond, MaxDown: 2 * time.Second,
			Crashes: true, Partitions: true})
		c.Run(20 * time.Second)
		require.GreaterOrEqual(t, len(c.elected), 2, lesson(
			fmt.Sprintf("in 20s of crashes and partitions only %d leader(s) were elected: %s", len(c.elected), c.roles()),
			"the cluster must keep electing leaders as faults come and go, or this test proves nothing"))
	})
}

// Reference: §5.2 Election Safety, in clusters of 3, 4 and 6 nodes. In a
// cluster of 3 a single vote decides; in an even cluster half is not a
// majority (2 of 4, 3 of 6). On top of loss, crashes and partitions, links
// are cut one way: a node may hear another that does not hear it.
func TestAtMostOneLeaderPerTermInClustersOfThreeFourAndSix(t *testing.T) {
	for _, size := range []int{3, 4, 6} {
		t.Run(fmt.Sprintf("%d_nodes", size), func(t *testing.T) {
			sim.Sweep(t, sweepSeeds/4, func(t testing.TB, seed uint64) {
				c := newCluster(t, size, seed, faulty, testCfg)
				c.ScheduleFaults(sim.Faults{Every: time.Second, MinDown: 200 * time.Millisecond, MaxDown: time.Second,
					Crashes: true, Partitions: true})
				c.scheduleOneWayCuts(500*time.Millisecond, 10*time.Second)
				c.At(5*time.Second, "crash the leader, if there is one", func() {
					if id, ok := c.leader(); ok {
						c.Crash(id)
						c.At(c.Now()+500*time.Millisecond, fmt.Sprintf("restart %v", id), func() { c.Restart(id) })
					}
				})
				c.Run(10 * time.Second)
				require.GreaterOrEqual(t, len(c.elected), 2, lesson(
					fmt.Sprintf("in 10s of faults a cluster of %d elected only %d leader(s): %s", size, len(c.elected), c.roles()),
					"the cluster must keep electing leaders as faults come and go, or this test proves nothing"))
			})
		})
	}
}

// Reference: Figure 2, persistent state. Nodes crash often, in the middle
// of elections; a vote given before a crash binds the node after it.
func TestVotesBindAcrossCrashes(t *testing.T) {
	sweep(t, func(t testing.TB, seed uint64) {
		c := newCluster(t, 5, seed, faulty, testCfg)
		c.ScheduleFaults(sim.Faults{Every: 200 * time.Millisecond, MinDown: 10 * time.Millisecond, MaxDown: 300 * time.Millisecond,
			Crashes: true})
		c.Run(10 * time.Second)
		require.NotEmpty(t, c.elected, lesson(
			fmt.Sprintf("in 10s of crashes no leader was elected: %s", c.roles()),
			"elections must go on between crashes (nodes are up most of the time), or this test proves nothing"))
	})
}

// Reference: §5.1, a leader that learns of a newer term steps down.
func TestDeposedLeaderStepsDownWhenThePartitionHeals(t *testing.T) {
	sweep(t, func(t testing.TB, seed uint64) {
		c := newCluster(t, 5, seed, faulty, testCfg)
		old := c.awaitLeader(2 * time.Second)
		var rest []sim.NodeID
		for _, id := range c.IDs() {
			if id != old {
				rest = append(rest, id)
			}
		}
		c.Partition([]sim.NodeID{old})
		c.RunUntil("a new leader among the other four", 3*time.Second, func() bool {
			_, ok := c.leaderAmong(rest)
			return ok
		})
		newTerm := c.node(rest[0]).Term()
		c.Heal()
		c.RunUntil(fmt.Sprintf("the old leader %v stepping down", old), time.Second, func() bool {
			n := c.node(old)
			return n.Role() == Follower && n.Term() >= newTerm
		})
	})
}
