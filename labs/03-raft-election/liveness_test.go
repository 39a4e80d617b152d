package raft

// Part 3: liveness. Safety says nothing bad happens; liveness says
// something good does: a leader, soon, whenever a majority can talk.

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/sim"
)

// Reference: §5.2 "The third possible outcome is that a candidate neither
// wins nor loses the election ... each candidate will time out and start a
// new election by incrementing its term and initiating another round of
// RequestVote RPCs."
func TestCandidateWhoseElectionTimesOutStandsAgain(t *testing.T) {
	o := newOne(t, 1, 5, testCfg)
	o.elect() // term 1; nobody answers
	o.take()
	o.fire(electionTimeout{}, "a candidate keeps an election timer, in case its election fails")
	log := o.take()
	assert.Equal(t, Candidate, o.node.Role())
	assert.Equal(t, 2, int(o.node.Term()), lesson(
		"n1's election in term 1 timed out with no winner, and n1 did not start another",
		"a candidate whose election timer fires starts a new election in a new term (§5.2). The article's onElectionTimeout only lets followers stand: after one split vote, nobody ever stands again"))
	wantMessages(t, []sim.Message{RequestVote{Term: 2, Candidate: 1}}, sent(log)[2], "the new election asks again")
}

// A candidate that learns of a newer term leaves its election: it draws
// a fresh election timeout from that moment, as etcd's becomeFollower
// does. Kept, the old timer fires when the abandoned election's would, in
// step with every other candidate that stood then, and close timeouts
// split the vote again and again (see TestSplitVotesResolve).
func TestCandidateThatStepsDownDrawsAFreshTimeout(t *testing.T) {
	o := newOne(t, 1, 5, testCfg)
	o.elect() // term 1
	old, ok := o.timer(electionTimeout{})
	require.True(t, ok, "a candidate keeps an election timer")
	o.advance(testCfg.ElectionTimeoutMin - time.Millisecond)
	o.take()
	log := o.deliver(2, RequestVoteReply{Term: 3})
	require.Equal(t, Follower, o.node.Role(), "a newer term in a reply makes the candidate a follower (§5.1)")
	now, ok := o.timer(electionTimeout{})
	require.True(t, ok, lesson("n1 stepped down to follower with no election timer set", "a follower always has an election timer running (Figure 2)"))
	assert.GreaterOrEqual(t, now.at, o.env.now+testCfg.ElectionTimeoutMin, lesson(
		fmt.Sprintf("n1 stepped down from its election at %v and its election timer fires at %v, %v later: it kept the timer its election set (due at %v). Its actions: %s",
			o.env.now, now.at, now.at-o.env.now, old.at, describe(log)),
		"a node that leaves an election for a newer term starts a fresh timeout, drawn from [ElectionTimeoutMin, ElectionTimeoutMax) from now; candidates that stood together and keep their timers stand together again"))
}

// Reference: §5.2, after a leader fails a new one is elected.
func TestNewLeaderSoonAfterTheLeaderCrashes(t *testing.T) {
	const bound = 2 * time.Second
	sweep(t, func(t testing.TB, seed uint64) {
		c := newCluster(t, 5, seed, faulty, testCfg)
		old := c.awaitLeader(3 * time.Second)
		c.Crash(old)
		crashed := c.Now()
		c.RunUntil(fmt.Sprintf("a new leader within %v of the leader's crash", bound), bound, func() bool {
			id, ok := c.leader()
			return ok && id != old
		})
		assert.Less(t, c.Now()-crashed, bound)
	})
}

// Reference: §5.2, a candidate needs a majority of the whole cluster.
func TestMinorityNeverElectsALeader(t *testing.T) {
	sweep(t, func(t testing.TB, seed uint64) {
		c := newCluster(t, 5, seed, faulty, testCfg)
		leader := c.awaitLeader(3 * time.Second)
		var minority, majority []sim.NodeID
		for _, id := range c.IDs() {
			if id != leader && len(minority) < 2 {
				minority = append(minority, id)
			} else {
				majority = append(majority, id)
			}
		}
		c.Partition(minority, majority)
		cut := len(c.elected)
		c.Run(10 * time.Second)
		// The majority may be between leaders at any one instant (a few
		// heartbeats lost in a row): it must have one again soon.
		c.RunUntil("a leader on the majority side", 2*time.Second, func() bool {
			_, ok := c.leaderAmong(majority)
			return ok
		})
		for _, l := range c.elected[cut:] {
			assert.False(t, slices.Contains(minority, l.node), lesson(
				fmt.Sprintf("%v became leader of term %d at %s, cut off with only %v", l.node, l.term, at(l.since), minority),
				"a leader needs votes from a majority of the whole cluster, counting nodes it cannot reach (§5.2): 3 of 5, never 2"))
		}
	})
}

// Reference: §5.2, randomized timeouts resolve split votes. Six nodes with
// a narrow timeout range: elections often split three to three, while the
// network loses, duplicates and reorders messages.
func TestSplitVotesResolve(t *testing.T) {
	cfg := Config{ElectionTimeoutMin: 150 * time.Millisecond, ElectionTimeoutMax: 165 * time.Millisecond, HeartbeatInterval: 50 * time.Millisecond}
	sweep(t, func(t testing.TB, seed uint64) {
		c := newCluster(t, 6, seed, sim.Network{MinLatency: 5 * time.Millisecond, MaxLatency: 15 * time.Millisecond,
			Loss: 0.05, Duplicate: 0.05, Reorder: 0.02}, cfg)
		start := c.Now()
		ok, err := c.World.RunUntil(func() bool {
			_, ok := c.leader()
			return ok
		}, start+5*time.Second)
		if err != nil {
			c.Fatal(err)
		}
		if !ok {
			c.Fatal(fmt.Errorf("6 nodes whose election timeouts all fall in 150-165ms elected no leader within 5s of virtual time (from %s to %s); at the deadline:\n%s\nrule: split votes end because candidates fall out of step: each election timeout is drawn anew, a candidate whose election times out stands again (§5.2), and a node that leaves an election for a newer term starts a fresh timeout, as etcd's becomeFollower does, rather than keep the one its election set. Read the timeline for the timers each node sets and when they fire",
				at(start), at(c.Now()), c.states()))
		}
	})
}

// Reference: §5.2, a leader keeps its authority with heartbeats. With
// nothing failing, one election, then none for two minutes.
func TestNoElectionsWhileTheLeaderIsHealthy(t *testing.T) {
	// A follower whose timer is not reset stands within ElectionTimeoutMax
	// (300ms): 100 times that leaves no follower unchecked.
	const quiet = 30 * time.Second
	sweep(t, func(t testing.TB, seed uint64) {
		c := newCluster(t, 5, seed, sim.Network{}, testCfg)
		leader := c.awaitLeader(2 * time.Second)
		term, requests := c.node(leader).Term(), c.requests
		c.Run(quiet)
		now, ok := c.leader()
		require.True(t, ok, "no leader after %v of quiet: %s", quiet, c.roles())
		assert.True(t, now == leader && c.node(now).Term() == term && c.requests == requests, lesson(
			fmt.Sprintf("%v led term %d; %v later, with nothing failing, %v leads term %d after %d more RequestVotes",
				leader, term, quiet, now, c.node(now).Term(), c.requests-requests),
			"a healthy leader's heartbeats reset every follower's election timer, and a leader runs no election timer of its own (§5.2): nobody has a reason to stand"))
	})
}

// Heartbeats are the price of leadership: one per follower per interval,
// answered once. Not more.
func TestHeartbeatTrafficStaysWithinBudget(t *testing.T) {
	sweep(t, func(t testing.TB, seed uint64) {
		c := newCluster(t, 5, seed, sim.Network{}, testCfg)
		c.awaitLeader(2 * time.Second)
		messages := 0
		c.Observe(func(r sim.Record) {
			if r.Kind == sim.KindSend || r.Kind == sim.KindDuplicate {
				messages++
			}
		})
		const window = 20 * time.Second // 400 heartbeat intervals
		c.Run(window)
		perSecond := float64(messages) / window.Seconds()
		budget := 2 * 4 * float64(time.Second/testCfg.HeartbeatInterval) * 1.05 // heartbeats and replies, 4 followers
		assert.LessOrEqual(t, perSecond, budget, lesson(
			fmt.Sprintf("a healthy 5-node cluster sent %.0f messages per second; heartbeats every %v to 4 followers, answered, are %.0f", perSecond, testCfg.HeartbeatInterval, budget/1.05),
			"a leader sends one heartbeat per follower per HeartbeatInterval: one heartbeat timer, cancelled when it stops leading, never two"))
	})
}
