package raftlog

// Part 2: catch-up. Followers that fell behind, or that hold entries of
// an old leader, come back into line, and what that costs is measured.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/sim"
)

// termsRun builds count entries of one term, numbered from first.
func termsRun(first uint64, term uint64, count int) []Entry {
	terms := make([]uint64, count)
	for i := range terms {
		terms[i] = term
	}
	return ents(first, terms...)
}

// Reference: §5.3, "the follower can include the term of the conflicting
// entry and the first index it stores for that term"; 6.5840's TestBackup.
func TestLeaderFindsTheMatchInAboutOneRoundTripPerConflictingTerm(t *testing.T) {
	for _, tc := range []struct {
		name     string
		follower [][]Entry // what old leaders of terms 1, 2, 3 left on n2
		terms    int       // how many terms of n2's log conflict
	}{
		{"an empty log", nil, 1},
		{"60 entries behind", [][]Entry{termsRun(1, 1, 10)}, 1},
		{"60 conflicting entries of two old terms", [][]Entry{termsRun(1, 1, 10), termsRun(11, 2, 20), termsRun(31, 3, 40)}, 2},
		{"60 conflicting entries of four old terms", [][]Entry{termsRun(1, 1, 10), termsRun(11, 2, 5), termsRun(16, 3, 5), termsRun(21, 4, 5), termsRun(26, 5, 45)}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHand(t, 3)
			leader, follower := h.n(1), h.n(2)
			// n1: 10 entries of term 1, then 60 of term 6 from a leader
			// of term 6, then it wins term 7.
			leader.follow(3, 1, termsRun(1, 1, 10)...)
			leader.deliver(3, AppendEntries{Term: 6, Leader: 3, PrevLogIndex: 10, PrevLogTerm: 1, Entries: termsRun(11, 6, 60)})
			// n2: what the old leaders left.
			var first []Entry
			if len(tc.follower) > 0 {
				first = tc.follower[0]
			}
			follower.follow(3, 1, first...)
			for i := 1; i < len(tc.follower); i++ {
				run := tc.follower[i]
				prev := run[0].Index - 1
				follower.deliver(3, AppendEntries{Term: run[0].Term, Leader: 3, PrevLogIndex: prev, PrevLogTerm: tc.follower[i-1][len(tc.follower[i-1])-1].Term, Entries: run})
			}
			before := follower.node.LogEntries()
			h.post(1, leader.makeLeader())
			h.post(1, leader.fire(heartbeatTick{}))
			h.isolate(3)
			delete(h.queue, [2]sim.NodeID{1, 3})

			refusals, rounds, beats, toN3 := 0, 0, 0, 0
			var trail []string
			for rounds = 0; rounds < 200; rounds++ {
				toFollower := h.queue[[2]sim.NodeID{1, 2}]
				delete(h.queue, [2]sim.NodeID{1, 2})
				toN3 += len(h.queue[[2]sim.NodeID{1, 3}])
				delete(h.queue, [2]sim.NodeID{1, 3})
				if len(toFollower) == 0 {
					beats++
					h.post(1, leader.fire(heartbeatTick{}))
					if sameLog(follower.node.LogEntries(), leader.node.LogEntries()) {
						break
					}
					continue
				}
				for _, m := range toFollower {
					log := follower.deliver(1, m)
					for _, r := range replies(log, 1) {
						if !r.Success {
							refusals++
							if len(trail) < 12 {
								trail = append(trail, fmt.Sprintf("%v → %v", m, r))
							}
						}
					}
					h.post(2, log)
				}
				for _, m := range h.queue[[2]sim.NodeID{2, 1}] {
					h.post(1, leader.deliver(2, m))
				}
				delete(h.queue, [2]sim.NodeID{2, 1})
			}
			require.True(t, sameLog(follower.node.LogEntries(), leader.node.LogEntries()), lesson(
				fmt.Sprintf("n2 started with log %s and the leader of term 7 has %s; after %d rounds of messages, n2 has %s", showLogShort(before), showLogShort(leader.node.LogEntries()), rounds, showLogShort(follower.node.LogEntries())),
				"a leader keeps sending a follower earlier entries until their logs match, and then everything after (§5.3)"))
			toN3 += len(h.queue[[2]sim.NodeID{1, 3}])
			require.LessOrEqual(t, toN3, beats+1, lesson(
				fmt.Sprintf("while n2 caught up, the leader sent n3, which was up to date, %d messages over %d heartbeats", toN3, beats),
				"a refusal from one follower concerns that follower only: answer it with one AppendEntries to it, not to everyone"))
			budget := tc.terms + 2
			require.LessOrEqual(t, refusals, budget, lesson(
				fmt.Sprintf("n2 started with log %s, the leader of term 7 has %s: n2 refused %d AppendEntries before the logs matched, over a budget of %d; the first were:\n    %s",
					showLogShort(before), showLogShort(leader.node.LogEntries()), refusals, budget, strings.Join(trail, "\n    ")),
				"a follower's refusal says what it holds at PrevLogIndex (ConflictTerm, ConflictIndex), and the leader skips a whole term per round trip, not one entry: past every entry of ConflictTerm if it has that term, else back to ConflictIndex (§5.3, end). One entry per round trip is 60 round trips here, and a minute of unavailability on a real network"))
		})
	}
}

// A follower cut off while the others commit comes back and catches up;
// 6.5840's TestFailAgree.
func TestAFollowerCutOffCatchesUpWhenItIsBack(t *testing.T) {
	sweep(t, func(t testing.TB, seed uint64) {
		c := newCluster(t, 5, seed, faulty)
		c.one("before", 5, 10*time.Second)
		leader, _ := c.leader()
		away := leader%5 + 1
		c.Partition([]sim.NodeID{away})
		for i := range 15 {
			c.one(fmt.Sprintf("while-%v-was-away-%d", away, i), 4, 10*time.Second)
		}
		c.Heal()
		c.one("after", 5, 10*time.Second)
		c.requireSameApplied()
	})
}

// A leader cut off with a follower keeps taking proposals that can never
// commit; when it is back, the majority's entries replace them; 6.5840's
// TestRejoin and TestBackup.
func TestAnOldLeaderCutOffLosesWhatItNeverCommitted(t *testing.T) {
	sweep(t, func(t testing.TB, seed uint64) {
		c := newCluster(t, 5, seed, faulty)
		c.one("before", 5, 10*time.Second)
		old, _ := c.leader()
		buddy := old%5 + 1
		c.Partition([]sim.NodeID{old, buddy})
		for i := range 20 {
			c.node(old).Propose([]byte(fmt.Sprintf("lost-%d", i)))
		}
		c.Run(300 * time.Millisecond)
		for i := range 20 {
			c.one(fmt.Sprintf("kept-%d", i), 3, 10*time.Second)
		}
		c.Heal()
		c.one("after", 5, 10*time.Second)
		c.requireSameApplied()
		for _, id := range c.IDs() {
			for _, m := range c.applied[id] {
				if strings.HasPrefix(string(m.Command), "lost-") {
					c.Fatal(fmt.Errorf("%v applied %q at index %d, proposed to %v while it and %v were cut off from the other three\n%s\nrule: an entry commits only once a majority holds it (§5.3); two nodes of five are not one",
						id, m.Command, m.Index, old, buddy, c.states()))
				}
			}
		}
	})
}

// Without a majority nothing commits; with it back, everything proposed
// since does; 6.5840's TestFailNoAgree.
func TestNothingCommitsWithoutAMajority(t *testing.T) {
	sweep(t, func(t testing.TB, seed uint64) {
		c := newCluster(t, 5, seed, faulty)
		c.one("before", 5, 10*time.Second)
		leader, _ := c.leader()
		with := leader%5 + 1
		c.Partition([]sim.NodeID{leader, with})
		index, _, ok := c.node(leader).Propose([]byte("alone"))
		if !ok {
			c.Fatal(fmt.Errorf("%v led a moment ago, and its Propose returned false", leader))
		}
		c.Run(2 * time.Second)
		for _, id := range []sim.NodeID{leader, with} {
			if n := c.node(id); n.CommitIndex() >= index {
				c.Fatal(fmt.Errorf("%v committed index %d (\"alone\") while it and %v were cut off from the other three of five\n%s\nrule: an entry commits only once a majority of the whole cluster holds it (§5.3)",
					id, index, with, c.states()))
			}
		}
		c.Heal()
		c.one("after", 5, 10*time.Second)
		c.requireSameApplied()
	})
}

// requireSameApplied checks, a second after the last command was applied
// everywhere, that every node's service is in a state some node had at the
// same index. A node may be a little behind: a new leader cannot know that
// its predecessor's last entries are committed until it commits one of its
// own term.
func (c *cluster) requireSameApplied() {
	c.t.Helper()
	c.Run(time.Second)
	for _, id := range c.IDs() {
		s := c.tallies[id]
		if s.Index > 0 && s.Hash != c.hashAt[s.Index] {
			c.Fatal(fmt.Errorf("a second after the last command was applied everywhere, %v's service at index %d differs from %v's at that index\n%s\nrule: every node applies the same entries in the same order (State Machine Safety, §5.4.3)",
				id, s.Index, c.firstBy[s.Index], c.states()))
		}
	}
}

// Reference: 6.5840's TestRPCBytes and TestCount: replication sends each
// entry to each follower about once, and an idle leader sends one
// AppendEntries per follower per heartbeat.
func TestReplicationSendsEachEntryAboutOnce(t *testing.T) {
	c := newCluster(t, 3, 0, sim.Network{})
	c.one("warm-up", 3, 10*time.Second)
	leader, _ := c.leader()
	var bytes int
	counting := false
	c.Observe(func(r sim.Record) {
		if r.Kind != sim.KindSend || !counting {
			return
		}
		if ae, ok := r.Msg.(AppendEntries); ok {
			for _, e := range ae.Entries {
				bytes += len(e.Command)
			}
		}
	})
	const size, count = 1000, 40
	payload := strings.Repeat("x", size)
	counting = true
	for i := range count / 2 { // one at a time
		c.one(fmt.Sprintf("%03d%s", i, payload[3:]), 3, 10*time.Second)
	}
	for i := count / 2; i < count; i++ { // all at once
		c.node(leader).Propose([]byte(fmt.Sprintf("%03d%s", i, payload[3:])))
	}
	c.RunUntil("every command applied everywhere", 10*time.Second, func() bool {
		return len(c.applied[1]) == count+1 && len(c.applied[2]) == count+1 && len(c.applied[3]) == count+1
	})
	counting = false
	want := count * size * 2 // each entry to each of two followers
	if bytes > want*3/2 {
		c.Fatal(fmt.Errorf("to replicate %d commands of %d bytes to 2 followers, half of them one by one and half at once, the leader sent %d bytes of commands, %.1f times the %d needed, on a network that lost nothing (latency 1 to 5 ms: messages still overtake each other)\nrule: a leader sends a follower the entries from its nextIndex on, and moves nextIndex past what the follower has said it holds; resending what is known to be there, or what is still on its way, multiplies the traffic",
			count, size, bytes, float64(bytes)/float64(want), want))
	}

	idle := 0
	c.Observe(func(r sim.Record) {
		if r.Kind == sim.KindSend {
			idle++
		}
	})
	c.Run(time.Second)
	perSecond := 2 * 2 * int(time.Second/testCfg.WithDefaults().HeartbeatInterval) // two followers, request and reply
	if idle > perSecond*5/4 {
		c.Fatal(fmt.Errorf("an idle cluster of 3 sent %d messages in one second of virtual time, over %d: one AppendEntries per follower per heartbeat (%v) and its reply\nrule: with nothing to send, a leader sends each follower one heartbeat per HeartbeatInterval, and a reply answers it; a message sent in answer to every answer loops",
			idle, perSecond*5/4, testCfg.WithDefaults().HeartbeatInterval))
	}
}

// Reference: 6.5840's TestSpeed: a client that waits for each command
// must not wait for heartbeats.
func TestACommandCommitsWithoutWaitingForAHeartbeat(t *testing.T) {
	c := newCluster(t, 3, 0, sim.Network{})
	c.one("warm-up", 3, 10*time.Second)
	leader, _ := c.leader()
	const count = 30
	start := c.Now()
	for i := range count {
		cmd := fmt.Sprintf("fast-%d", i)
		index, _, ok := c.node(leader).Propose([]byte(cmd))
		if !ok {
			c.Fatal(fmt.Errorf("%v led a moment ago, and its Propose returned false", leader))
		}
		c.RunUntil(fmt.Sprintf("the leader's commit of %q", cmd), 5*time.Second, func() bool { return c.node(leader).CommitIndex() >= index })
	}
	per := (c.Now() - start) / count
	beat := testCfg.WithDefaults().HeartbeatInterval
	if per > beat/2 {
		c.Fatal(fmt.Errorf("%d commands proposed one after another, each once the last had committed, took %v each on average, on a network with 1 to 5 ms of latency; the heartbeat interval is %v\nrule: a leader sends a new entry to a follower that is waiting for nothing at once, not at the next heartbeat: a client waiting for each of its commands would otherwise wait for a heartbeat every time",
			count, per, beat))
	}
}
