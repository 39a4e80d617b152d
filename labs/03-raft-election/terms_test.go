package raft

// Part 2: terms, the rule tests. The cluster tests of safety are in
// cluster_test.go.

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/sim"
)

// Reference: §5.1 "If a server receives a request with a stale term
// number, it rejects the request" and "If one server's current term is
// smaller than the other's, then it updates its current term to the larger
// value. If a candidate or leader discovers that its term is out of date,
// it immediately reverts to follower state."
func TestNewerTermMakesAnyNodeAFollower(t *testing.T) {
	messages := []sim.Message{
		RequestVote{Term: 7, Candidate: 3},
		RequestVoteReply{Term: 7, VoteGranted: false},
		AppendEntries{Term: 7, Leader: 3},
		AppendEntriesReply{Term: 7, Success: false},
	}
	for _, role := range []Role{Follower, Candidate, Leader} {
		for _, msg := range messages {
			t.Run(fmt.Sprintf("%v_gets_%T", role, msg), func(t *testing.T) {
				o := inRole(t, role)
				log := o.deliver(3, msg)
				assert.Equal(t, Follower, o.node.Role(), lesson(
					fmt.Sprintf("n1, a %v in term 2, received %v and is still a %v", role, msg, o.node.Role()),
					"any message with a newer term makes a node a follower of that term (§5.1): its own term is over"))
				assert.Equal(t, 7, int(o.node.Term()), "n1 takes the newer term")
				wantLeader := sim.NodeID(0)
				if ae, ok := msg.(AppendEntries); ok {
					wantLeader = ae.Leader
				}
				assert.Equal(t, wantLeader, o.node.Leader(), lesson(
					fmt.Sprintf("n1, a %v in term 2 (leader %v), received %v: in term 7 it names n%d as leader", role, roleLeader(role), msg, o.node.Leader()),
					"Leader() is the leader of the node's current term, as far as it knows: the leader of term 2 leads nothing in term 7, and a term's leader is known only from its heartbeat (§5.2). Lab 04's clients go where Leader() points"))
				if _, isVote := msg.(RequestVote); !isVote {
					assert.Zero(t, o.node.VotedFor(), "a new term starts with no vote")
				}
				saved := false
				for _, d := range log {
					saved = saved || (d.kind == "save" && d.hs.Term == 7)
				}
				assert.True(t, saved, "the new term is saved (Figure 2); what n1 did:\n%s", describe(log))
				assert.Zero(t, o.timers(heartbeatTick{}), lesson(
					fmt.Sprintf("n1, a %v in term 2, became a follower of term 7 with a heartbeatTick timer still set", role),
					"a follower has no heartbeat timer: leadership ends with its timer, or a node elected again later runs two of them and sends twice the heartbeats"))
				assert.Equal(t, 1, o.timers(electionTimeout{}), "a follower has one election timer")
			})
		}
	}
}

// Reference: §5.1 "If a server receives a request with a stale term
// number, it rejects the request." That holds in every role: a deposed
// leader's heartbeat is no reason for a candidate to give up its election.
func TestStaleRequestsAreRefusedWithTheCurrentTerm(t *testing.T) {
	for _, role := range []Role{Follower, Candidate, Leader} {
		t.Run(role.String(), func(t *testing.T) {
			o := inRole(t, role)
			leader := o.node.Leader()
			log := o.deliver(3, RequestVote{Term: 1, Candidate: 3})
			wantMessages(t, []sim.Message{RequestVoteReply{Term: 2, VoteGranted: false}}, sent(log)[3], lesson(
				fmt.Sprintf("n1 is a %v in term 2 and n3 asked for a vote in term 1", role),
				"a request from an older term is refused, and the reply carries the newer term so that the sender learns it is behind (§5.1)"))
			heartbeat := o.deliver(3, AppendEntries{Term: 1, Leader: 3})
			wantMessages(t, []sim.Message{AppendEntriesReply{Term: 2, Success: false}}, sent(heartbeat)[3], lesson(
				fmt.Sprintf("n1 is a %v in term 2 and got a heartbeat of term 1 from n3", role),
				"a deposed leader's heartbeat is refused with the current term, so that it steps down (§5.1)"))
			log = append(log, heartbeat...)
			assert.Equal(t, role, o.node.Role(), lesson(
				fmt.Sprintf("n1, a %v in term 2, got a heartbeat of term 1 from n3 and became a %v", role, o.node.Role()),
				"a message of an older term changes nothing (§5.1): n3 leads a term the cluster has left. A candidate steps down only for a leader of its own term or a newer one (§5.2); one that follows a deposed leader gives up an election it could win"))
			assert.Equal(t, leader, o.node.Leader(), "a stale leader does not replace the current one")
			acted := slices.ContainsFunc(log, func(d did) bool { return d.kind != "send" })
			assert.False(t, acted, lesson(
				"n1 answered two requests of an older term and did:\n"+describe(log),
				"a stale request is answered and changes nothing else: no save, no timer reset, for it comes neither from the leader nor from a candidate n1 votes for (§5.1)"))
		})
	}
}

// Reference: §5.2, a candidate counts the votes of its own election; and
// §5.1, stale replies are dropped.
func TestCandidateCountsOnlyVotesOfItsOwnTerm(t *testing.T) {
	o := inRole(t, Candidate) // in term 2, after an election in term 1 went nowhere
	for _, p := range []sim.NodeID{2, 3, 4} {
		o.deliver(p, RequestVoteReply{Term: 1, VoteGranted: true})
	}
	assert.Equal(t, Candidate, o.node.Role(), lesson(
		"n1, a candidate in term 2, became leader on three votes granted in term 1",
		"a vote is for one term's election: replies from an earlier term (late, duplicated) must not count (§5.1), or a node can lead a term nobody elected it in"))
}

// Reference: §5.1 "If a candidate or leader discovers that its term is out
// of date, it immediately reverts to follower state."
func TestLeaderStepsDownOnANewerTermInAReply(t *testing.T) {
	o := inRole(t, Leader)
	o.deliver(4, AppendEntriesReply{Term: 5, Success: false})
	assert.Equal(t, Follower, o.node.Role(), lesson(
		"n1, leader of term 2, got a heartbeat reply carrying term 5 and went on leading",
		"the reply says the cluster has moved on to term 5, maybe while n1 was cut off: n1's leadership is over (§5.1)"))
	assert.Equal(t, 5, int(o.node.Term()))
	assert.Zero(t, o.timers(heartbeatTick{}), lesson(
		"n1 stepped down from leader of term 2 to follower of term 5 with a heartbeatTick timer still set",
		"a follower has no heartbeat timer: leadership ends with its timer, or a node elected again later runs two of them and sends twice the heartbeats"))
}

// Reference: §5.2: a follower stands because it heard no leader for an
// election timeout, and in the term it starts nobody leads until a
// candidate wins it.
func TestCandidateKnowsNoLeaderOfItsNewTerm(t *testing.T) {
	o := newOne(t, 1, 5, testCfg)
	o.deliver(2, AppendEntries{Term: 2, Leader: 2})
	o.elect()
	require.Equal(t, Candidate, o.node.Role(), "setting up: n1 stands for election")
	assert.Zero(t, o.node.Leader(), lesson(
		fmt.Sprintf("n1 followed n2, leader of term 2, then stood for election in term %d, and Leader() names %v", o.node.Term(), o.node.Leader()),
		"Leader() is the leader of the node's current term, as far as it knows: n2 led term 2, and nobody leads term 3 until a candidate wins it (§5.2). A client sent to n2 finds a node the cluster may have deposed"))
}

// roleLeader is who leads term 2 for a node that inRole set up in role.
func roleLeader(role Role) string {
	switch role {
	case Follower:
		return "n2"
	case Leader:
		return "n1"
	}
	return "none"
}
