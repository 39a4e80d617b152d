package raftlog

// Part 3: crash and recover. What a node has told others about its log
// must still be true after it loses power, and clusters keep their
// promises through crashes, restarts and partitions.

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/nodetest"
	"github.com/distlings/distlings/labs/internal/sim"
)

// Reference: Figure 2, "Persistent state on all servers (updated on
// stable storage before responding to RPCs)".
func TestAFollowerThatCrashesRightAfterAnsweringStillHoldsWhatItAnswered(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  AppendEntries
		want []Entry
	}{
		{"new entries at the end", AppendEntries{Term: 1, Leader: 2, PrevLogIndex: 2, PrevLogTerm: 1, Entries: ents(3, 1, 1)}, ents(1, 1, 1, 1, 1)},
		{"entries that replace a conflicting tail", AppendEntries{Term: 2, Leader: 3, PrevLogIndex: 1, PrevLogTerm: 1, Entries: ents(2, 2)}, ents(1, 1, 2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n1 := newOne(t, 1, 3)
			n1.follow(2, 1, ents(1, 1, 1)...)
			n1.env.CrashOnSend() // the power fails the moment the reply is out
			log := n1.deliver(tc.msg.Leader, tc.msg)
			n1.reboot()
			sent := replies(log, tc.msg.Leader)
			require.True(t, len(sent) == 1 && sent[0].Success, "n1 answered %v with %s, want a success", tc.msg, nodetest.List(nodetest.Sent(log)[tc.msg.Leader]))
			got := n1.node.LogEntries()
			require.True(t, sameLog(got, tc.want), lesson(
				fmt.Sprintf("n1, with log [1:t1 2:t1], was sent %v, answered %v, and lost power the moment the answer left; it restarted with log %s, want %s", tc.msg, sent[0], showLog(got), showLog(tc.want)),
				"a follower saves every change to its log before it answers (Figure 2: \"updated on stable storage before responding\"): the leader counts the answer towards a majority, and a node that forgets what it said it held can let a committed entry be lost"))
		})
	}
}

// Reference: Figure 2, persistent state; §5.3.
func TestALeaderThatCrashesAfterCommittingStillHoldsTheEntry(t *testing.T) {
	n1 := newOne(t, 1, 3)
	n1.makeLeader()
	n1.propose("x")
	n1.deliver(2, AppendEntriesReply{Term: 1, Success: true, Index: 1})
	require.Equal(t, 1, int(n1.node.CommitIndex()), "setting up: the leader of 3 nodes committed x once n2 held it")
	n1.reboot()
	got := n1.node.LogEntries()
	require.True(t, sameLog(got, []Entry{{Index: 1, Term: 1, Command: []byte("x")}}), lesson(
		fmt.Sprintf("the leader of 3 nodes proposed x, n2 said it held it, the leader committed it, counting itself; after a crash it restarted with log %s", showLog(got)),
		"a leader counts itself towards the majority that commits an entry, so its own copy must be on disk by then: otherwise only n2 holds a committed entry, and n3, which never got it, can be elected with the restarted leader's vote"))
}

// Reference: Figure 2, persistent state; the node's Start.
func TestARestartedNodeHasItsLogBackAndAppliesAgain(t *testing.T) {
	n1 := newOne(t, 1, 3)
	n1.follow(2, 1, ents(1, 1, 1, 1)...)
	n1.reboot()
	got := n1.node.LogEntries()
	require.True(t, sameLog(got, ents(1, 1, 1, 1)), lesson(
		fmt.Sprintf("n1 held [1:t1 2:t1 3:t1] and crashed; it restarted with log %s", showLog(got)),
		"a node reads its log back from storage when it starts (LoadLog), as it reads its term and vote"))
	msg := AppendEntries{Term: 1, Leader: 2, PrevLogIndex: 3, PrevLogTerm: 1, LeaderCommit: 2}
	n1.deliver(2, msg)
	want := ents(1, 1, 1)
	require.True(t, n1.appliedAre(want), lesson(
		fmt.Sprintf("after its restart, n1 was sent %v and applied %s, want %s", msg, showApplied(n1.applied), showEntries(want)),
		"a restarted node's service starts empty: the node applies the committed entries again from the first, once the leader says how far it has committed; what was committed before the crash is not known until then"))
}

// Faults for the cluster tests of this part: crashes and partitions, a
// minority at a time, until the given time.
func churn(until time.Duration) sim.Faults {
	return sim.Faults{Every: 400 * time.Millisecond, MinDown: 50 * time.Millisecond, MaxDown: time.Second,
		Crashes: true, Partitions: true, Until: until}
}

// Commands keep committing while nodes crash, restart and are cut off,
// and every node ends with the same entries; 6.5840's TestFigure8Unreliable
// and churn tests, on virtual time.
func TestClusterAgreesThroughCrashesAndPartitions(t *testing.T) {
	sweep(t, func(t testing.TB, seed uint64) {
		c := newCluster(t, 5, seed, faulty)
		const faultsUntil = 6 * time.Second
		c.ScheduleFaults(churn(faultsUntil))
		for i := range 15 {
			c.one(fmt.Sprintf("cmd-%d", i), 3, 20*time.Second)
		}
		c.settle(faultsUntil)
		c.one("final", 5, 20*time.Second)
		c.requireSameApplied()
	})
}

// Leaders crash with entries half sent, again and again, on a network
// that loses and reorders more than usual; 6.5840's TestFigure8Unreliable.
func TestLeadersCrashWithEntriesHalfSent(t *testing.T) {
	rough := sim.Network{MinLatency: time.Millisecond, MaxLatency: 20 * time.Millisecond, Loss: 0.1, Duplicate: 0.05, Reorder: 0.2}
	sweep(t, func(t testing.TB, seed uint64) {
		r := rand.New(rand.NewPCG(seed, 8))
		c := newCluster(t, 5, seed, rough)
		var down []sim.NodeID
		for i := range 25 {
			if id, ok := c.leader(); ok {
				for j := range 1 + r.IntN(3) {
					c.node(id).Propose([]byte(fmt.Sprintf("cmd-%d.%d", i, j)))
				}
			}
			c.Run(time.Duration(r.Int64N(int64(200 * time.Millisecond))))
			if id, ok := c.leader(); ok && len(down) < 2 && r.IntN(2) == 0 {
				c.Crash(id)
				down = append(down, id)
			}
			if len(down) > 0 && r.IntN(3) == 0 {
				c.Restart(down[0])
				down = down[1:]
			}
		}
		for _, id := range down {
			c.Restart(id)
		}
		c.one("final", 5, 20*time.Second)
		c.requireSameApplied()
	})
}

// settle runs until the fault schedule, which starts no fault after
// until, is over: every node up and connected again.
func (c *cluster) settle(until time.Duration) {
	c.t.Helper()
	if c.Now() < until {
		c.Run(until - c.Now())
	}
	c.RunUntil("every node up and connected after the faults", 10*time.Second, func() bool {
		for _, id := range c.IDs() {
			if !c.Up(id) {
				return false
			}
			for _, other := range c.IDs() {
				if !c.Connected(id, other) {
					return false
				}
			}
		}
		return true
	})
}
