package raft

// Rule tests: one node, one message or timer, and exactly what it must do.

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/sim"
)

// ---- Part 1: timeouts and voting ----

// Reference: §5.2 "If a follower receives no communication over a period
// of time called the election timeout, then it assumes there is no viable
// leader and begins an election."
func TestFollowerSetsAnElectionTimerOnStart(t *testing.T) {
	o := newOne(t, 1, 5, testCfg)
	assert.Equal(t, Follower, o.node.Role(), "a node starts as a follower (§5.2)")
	p, ok := o.timer(electionTimeout{})
	require.True(t, ok, lesson("after Start, n1 set no electionTimeout timer",
		"a follower that hears nothing must start an election, so it always has an election timer running (§5.2)"))
	assert.Equal(t, 1, o.timers(electionTimeout{}), "one election timer at a time")
	assert.GreaterOrEqual(t, p.at, testCfg.ElectionTimeoutMin, "the election timeout is at least ElectionTimeoutMin")
	assert.Less(t, p.at, testCfg.ElectionTimeoutMax, "the election timeout is below ElectionTimeoutMax")
}

// Reference: §5.2 "Raft uses randomized election timeouts to ensure that
// split votes are rare and that they are resolved quickly."
func TestElectionTimeoutsAreRandomized(t *testing.T) {
	var timeouts []time.Duration
	for id := sim.NodeID(1); id <= 40; id++ {
		o := newOne(t, id, 40, testCfg)
		p, ok := o.timer(electionTimeout{})
		require.True(t, ok, "n%d set no election timer on Start", id)
		timeouts = append(timeouts, p.at)
		o.advance(time.Second)
		o.deliver(2, AppendEntries{Term: 1, Leader: 2}) // a reset draws again
		if q, ok := o.timer(electionTimeout{}); ok {
			timeouts = append(timeouts, q.at-o.env.now)
		}
	}
	slices.Sort(timeouts)
	distinct := slices.Compact(slices.Clone(timeouts))
	spread := timeouts[len(timeouts)-1] - timeouts[0]
	assert.True(t, len(distinct) >= len(timeouts)/2 && spread >= (testCfg.ElectionTimeoutMax-testCfg.ElectionTimeoutMin)/2, lesson(
		fmt.Sprintf("%d election timeouts drawn by 40 nodes had %d distinct values, from %v to %v", len(timeouts), len(distinct), timeouts[0], timeouts[len(timeouts)-1]),
		"each reset draws a new timeout at random from [ElectionTimeoutMin, ElectionTimeoutMax) with env.Rand(); with one fixed timeout, nodes that lost their leader together all stand together and split the vote forever (§5.2)"))

	// One node's own timeouts, reset after reset, are drawn anew too.
	o := newOne(t, 1, 5, testCfg)
	var own []time.Duration
	for range 10 {
		o.advance(time.Second)
		o.deliver(2, AppendEntries{Term: 1, Leader: 2})
		if q, ok := o.timer(electionTimeout{}); ok {
			own = append(own, q.at-o.env.now)
		}
	}
	ownDistinct := slices.Compact(slices.Sorted(slices.Values(own)))
	assert.True(t, len(ownDistinct) > len(own)/2, lesson(
		fmt.Sprintf("n1 reset its election timer on %d heartbeats and drew %d distinct timeouts: %v", len(own), len(ownDistinct), ownDistinct),
		"every reset draws its timeout anew (§5.2: \"each candidate restarts its randomized election timeout at the start of an election\"): with one timeout per node, drawn once, two nodes whose timeouts are close time out together after every heartbeat they both miss, and split the vote again in every election"))
}

// Reference: §5.2 "To begin an election, a follower increments its current
// term and transitions to candidate state. It then votes for itself and
// issues RequestVote RPCs in parallel to each of the other servers."
func TestFollowerStartsAnElectionWhenItsTimerFires(t *testing.T) {
	o := newOne(t, 1, 5, testCfg)
	o.take()
	o.elect()
	log := o.take()

	assert.Equal(t, Candidate, o.node.Role())
	assert.Equal(t, 1, int(o.node.Term()), "a new election is a new term")
	assert.Equal(t, sim.NodeID(1), o.node.VotedFor(), "a candidate votes for itself")
	out := sent(log)
	for _, p := range []sim.NodeID{2, 3, 4, 5} {
		wantMessages(t, []sim.Message{RequestVote{Term: 1, Candidate: 1}}, out[p], "what n1 sent to %v:\n%s", p, describe(log))
	}
	saved := slices.IndexFunc(log, func(d did) bool { return d.kind == "save" && d.hs == HardState{Term: 1, VotedFor: 1} })
	firstSend := slices.IndexFunc(log, func(d did) bool { return d.kind == "send" })
	assert.True(t, saved >= 0 && saved < firstSend, lesson(
		"the candidate's new term and its vote for itself were not saved before it asked for votes; it did:\n"+describe(log),
		"term and vote are saved (SaveHardState) before any message that depends on them is sent (Figure 2): a crash after the send must not forget them"))
	assert.Equal(t, 1, o.timers(electionTimeout{}), lesson(
		fmt.Sprintf("n1 stood for election and has %d election timers set", o.timers(electionTimeout{})),
		"a candidate runs one election timer, with a new random timeout, as a follower does (§5.2): the one that fired is spent"))
}

// Reference: §5.2 "Each server will vote for at most one candidate in a
// given term, on a first-come-first-served basis."
func TestFollowerVotesAtMostOncePerTerm(t *testing.T) {
	o := newOne(t, 1, 5, testCfg)
	got := sent(o.deliver(2, RequestVote{Term: 1, Candidate: 2}))[2]
	wantMessages(t, []sim.Message{RequestVoteReply{Term: 1, VoteGranted: true}}, got, "the first candidate of term 1 gets n1's vote")

	got = sent(o.deliver(3, RequestVote{Term: 1, Candidate: 3}))[3]
	wantMessages(t, []sim.Message{RequestVoteReply{Term: 1, VoteGranted: false}}, got, lesson(
		"n1 voted for n2 in term 1, then n3 asked in term 1",
		"a node votes at most once per term (§5.2); two votes in one term can elect two leaders"))

	got = sent(o.deliver(2, RequestVote{Term: 1, Candidate: 2}))[2]
	wantMessages(t, []sim.Message{RequestVoteReply{Term: 1, VoteGranted: true}}, got,
		"n2 asking again (its first reply was lost?) gets the same answer: the vote is already its")
	assert.Equal(t, sim.NodeID(2), o.node.VotedFor())
}

// Reference: Figure 2, rules for all servers: "If RPC request or response
// contains term T > currentTerm: set currentTerm = T, convert to follower."
// The vote of term 1 binds term 1 only.
func TestNewerTermFreesTheVote(t *testing.T) {
	o := newOne(t, 1, 5, testCfg)
	o.deliver(2, RequestVote{Term: 1, Candidate: 2})
	require.Equal(t, sim.NodeID(2), o.node.VotedFor(), "setting up: n1 votes for n2 in term 1")
	got := sent(o.deliver(3, RequestVote{Term: 2, Candidate: 3}))[3]
	wantMessages(t, []sim.Message{RequestVoteReply{Term: 2, VoteGranted: true}}, got, lesson(
		"n1 voted for n2 in term 1, then n3 asked for its vote in term 2",
		"a request of a newer term first makes the node a follower of that term, with no vote, and only then is the vote judged (Figure 2); judged against the vote of term 1, every node that voted once refuses every later election, and a split vote never resolves"))
	assert.Equal(t, 2, int(o.node.Term()), "n1 takes term 2")
	assert.Equal(t, sim.NodeID(3), o.node.VotedFor(), "and votes for n3 in it")
}

// Reference: Figure 2, "Persistent state on all servers: (Updated on
// stable storage before responding to RPCs)".
func TestVoteIsSavedBeforeTheReply(t *testing.T) {
	o := newOne(t, 1, 5, testCfg)
	log := o.deliver(2, RequestVote{Term: 1, Candidate: 2})
	saved := slices.IndexFunc(log, func(d did) bool { return d.kind == "save" && d.hs == HardState{Term: 1, VotedFor: 2} })
	reply := slices.IndexFunc(log, func(d did) bool { return d.kind == "send" })
	require.NotEqual(t, -1, reply, "n1 did not answer n2's RequestVote")
	assert.True(t, saved >= 0 && saved < reply, lesson(
		"n1 granted its vote in term 1 to n2; what it did, in order:\n"+describe(log),
		"the vote is saved before the reply leaves (Figure 2): if n1 crashed after replying and before saving, it would come back free to vote again in term 1"))
}

// Reference: Figure 2, "Persistent state on all servers: (Updated on
// stable storage before responding to RPCs)", and currentTerm "increases
// monotonically". The test crashes n1 the moment its reply leaves.
func TestNewerTermIsSavedBeforeTheReply(t *testing.T) {
	cases := []struct {
		name string
		msg  sim.Message
		want HardState
	}{
		{"heartbeat", AppendEntries{Term: 7, Leader: 3}, HardState{Term: 7}},
		{"vote", RequestVote{Term: 7, Candidate: 3}, HardState{Term: 7, VotedFor: 3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := newOne(t, 1, 5, testCfg)
			o.deliver(2, AppendEntries{Term: 2, Leader: 2})
			log := o.deliverThenCrash(3, tc.msg)
			reply := sent(log)[3]
			require.Len(t, reply, 1, "n1 answers %v; it did:\n%s", tc.msg, describe(log))
			state := func(term uint64, vote sim.NodeID) string {
				return fmt.Sprintf("term %d, voted for %s", term, votedFor(vote))
			}
			assert.Equal(t, state(tc.want.Term, tc.want.VotedFor), state(o.node.Term(), o.node.VotedFor()), lesson(
				fmt.Sprintf("n1, a follower in term 2, got %v and answered %v, crashed the moment the reply left, and restarted in %s; what it did before the crash:\n%s",
					tc.msg, reply[0], state(o.node.Term(), o.node.VotedFor()), describe(log)),
				"a newer term is saved before any reply that carries it (Figure 2): n3 has already heard n1 speak in term 7, and a node back in term 2 would obey leaders of terms 3 to 6, which the cluster has left; terms only move forward"))
		})
	}
}

// Reference: Figure 2, "Persistent state on all servers: (Updated on
// stable storage before responding to RPCs)". A machine can lose power
// between any two steps, also right after a write and before the send or
// the write that follows it: every write must be a state the node can
// restart in. The test crashes n1 after its first write, then after its
// second, and so on.
func TestACrashAfterAnyWriteKeepsTheTermAndItsVote(t *testing.T) {
	cases := []struct {
		name string
		act  func(o *one)
	}{
		{"vote_in_a_newer_term", func(o *one) { o.node.HandleMessage(3, RequestVote{Term: 7, Candidate: 3}) }},
		{"heartbeat_of_a_newer_term", func(o *one) { o.node.HandleMessage(3, AppendEntries{Term: 7, Leader: 3}) }},
		{"election_timeout", func(o *one) { o.elect() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k := 1; ; k++ {
				o := newOne(t, 1, 5, testCfg)
				o.deliver(2, RequestVote{Term: 2, Candidate: 2}) // n1 votes for n2 in term 2
				log, crashed := o.crashAfterWrite(k, func() { tc.act(o) })
				if !crashed {
					return // every write has been tried
				}
				term, vote := o.node.Term(), o.node.VotedFor()
				if !assert.True(t, term > 2 || (term == 2 && vote == 2), lesson(
					fmt.Sprintf("n1 voted for n2 in term 2, then lost power right after write %d of the next step; it restarted in term %d, voted for %s. What it did before the crash:\n%s",
						k, term, votedFor(vote), describe(log)),
					"every write must leave a state the node can restart in (Figure 2): the term never goes back, and a term's vote, once given, stays. Back in term 2 with no vote, n1 could vote again in a term it already voted in")) {
					return
				}
			}
		})
	}
}

// Reference: Figure 2, persistent state: currentTerm and votedFor survive
// a crash.
func TestRestartedNodeRemembersItsTermAndVote(t *testing.T) {
	o := newOne(t, 1, 5, testCfg)
	o.deliver(2, RequestVote{Term: 3, Candidate: 2})
	o.boot() // crash and restart: a fresh Node on the same storage
	assert.Equal(t, 3, int(o.node.Term()), "the term survives a crash")
	assert.Equal(t, sim.NodeID(2), o.node.VotedFor(), "the vote survives a crash")
	got := sent(o.deliver(3, RequestVote{Term: 3, Candidate: 3}))[3]
	wantMessages(t, []sim.Message{RequestVoteReply{Term: 3, VoteGranted: false}}, got, lesson(
		"n1 voted for n2 in term 3, crashed, restarted, and n3 asked for its vote in term 3",
		"a vote is for the whole term, crash or no crash: load term and vote from storage in Start (Figure 2)"))
}

// Reference: §5.2 "A candidate wins an election if it receives votes from
// a majority of the servers in the full cluster for the same term ...
// Once a candidate wins an election, it becomes leader. It then sends
// heartbeat messages to all of the other servers."
func TestCandidateWithAMajorityBecomesLeader(t *testing.T) {
	o := newOne(t, 1, 5, testCfg)
	o.elect()
	o.take()
	o.deliver(2, RequestVoteReply{Term: 1, VoteGranted: true})
	assert.Equal(t, Candidate, o.node.Role(), lesson("n1 became leader with 2 votes of 5 (its own and n2's)",
		"a leader needs votes from a majority of the whole cluster: 3 of 5 (§5.2)"))
	o.deliver(3, RequestVoteReply{Term: 1, VoteGranted: false})
	assert.Equal(t, Candidate, o.node.Role(), "a refused vote is not a vote")
	log := o.deliver(4, RequestVoteReply{Term: 1, VoteGranted: true})
	require.Equal(t, Leader, o.node.Role(), "3 votes of 5 make n1 leader")
	assert.Equal(t, sim.NodeID(1), o.node.Leader())
	out := sent(log)
	for _, p := range []sim.NodeID{2, 3, 4, 5} {
		wantMessages(t, []sim.Message{AppendEntries{Term: 1, Leader: 1}}, out[p], lesson(
			fmt.Sprintf("what the new leader sent to %v:\n%s", p, describe(log)),
			"a new leader sends heartbeats to every node at once, before any of them times out and starts another election (§5.2)"))
	}
}

// Reference: §5.2 "votes from a majority of the servers": of servers, not
// of replies. The network may deliver a reply twice.
func TestCandidateCountsEachVoterOnce(t *testing.T) {
	o := newOne(t, 1, 5, testCfg)
	o.elect()
	o.take()
	o.deliver(2, RequestVoteReply{Term: 1, VoteGranted: true})
	o.deliver(2, RequestVoteReply{Term: 1, VoteGranted: true}) // the same reply, duplicated
	assert.Equal(t, Candidate, o.node.Role(), lesson(
		"n1, a candidate in a cluster of 5, got n2's vote twice (the network delivered the reply twice) and is now a leader with votes from 2 nodes, its own and n2's",
		"a majority is of nodes, not of replies: each voter counts once (§5.2). Counted twice, n2's vote lets n1 lead while 3 other nodes elect someone else in the same term"))
}

// Reference: §5.2 "votes from a majority of the servers in the full
// cluster". Half is not a majority: in a cluster of 4, two candidates with
// 2 votes each could both lead the same term.
func TestCandidateNeedsAMajorityOfTheWholeCluster(t *testing.T) {
	for _, size := range []int{3, 4, 5, 6} {
		t.Run(fmt.Sprintf("%d_nodes", size), func(t *testing.T) {
			majority := size/2 + 1
			o := newOne(t, 1, size, testCfg)
			o.elect()
			o.take()
			for votes := 2; votes <= majority; votes++ {
				o.deliver(sim.NodeID(votes), RequestVoteReply{Term: 1, VoteGranted: true})
				if votes < majority {
					require.True(t, o.node.Role() == Candidate, lesson(
						fmt.Sprintf("n1, a candidate in a cluster of %d, has %d votes (its own and %d granted) and is now a %v", size, votes, votes-1, o.node.Role()),
						fmt.Sprintf("a leader needs votes from a majority of the whole cluster, itself included: more than half of %d, so %d (§5.2). Two sets of %d nodes need not share one, so two leaders could be elected in one term", size, majority, votes)))
				}
			}
			assert.Equal(t, Leader, o.node.Role(), "%d votes of %d make n1 leader", majority, size)
		})
	}
}

// Reference: §5.2, a majority of a cluster of one is its own vote: a
// single node (a development setup, the first node of a cluster being
// built) leads as soon as it stands, with nobody to hear from.
func TestANodeAloneElectsItself(t *testing.T) {
	for _, cfg := range []Config{testCfg, preVoteCfg} {
		t.Run(fmt.Sprintf("prevote_%v", cfg.PreVote), func(t *testing.T) {
			o := newOne(t, 1, 1, cfg)
			o.elect()
			assert.Equal(t, Leader, o.node.Role(), lesson(
				fmt.Sprintf("n1, alone in a cluster of one, stood for election and is a %v in term %d", o.node.Role(), o.node.Term()),
				"its own vote is a majority of one (§5.2): count it when the election starts, not only when a reply comes in, for no reply ever will"))
			assert.Equal(t, 1, int(o.node.Term()), "one election, one term")
		})
	}
}

// Reference: §5.2 "Leaders send periodic heartbeats ... to all followers in
// order to maintain their authority."
func TestLeaderSendsHeartbeatsEveryInterval(t *testing.T) {
	o := newOne(t, 1, 3, testCfg)
	o.makeLeader()
	for round := range 3 {
		before := o.env.now
		o.fire(heartbeatTick{}, "a leader sends heartbeats every HeartbeatInterval")
		assert.Equal(t, testCfg.HeartbeatInterval, o.env.now-before, "round %d: the heartbeat timer is HeartbeatInterval", round+1)
		out := sent(o.take())
		for _, p := range []sim.NodeID{2, 3} {
			wantMessages(t, []sim.Message{AppendEntries{Term: 1, Leader: 1}}, out[p], "round %d: heartbeat to %v", round+1, p)
		}
	}
}

// Reference: §5.2 and the leader's duties in Figure 2: a leader does not
// stand for election while it leads.
func TestLeaderRunsNoElectionTimer(t *testing.T) {
	o := newOne(t, 1, 3, testCfg)
	o.makeLeader()
	assert.Zero(t, o.timers(electionTimeout{}), lesson(
		"n1 became leader and its election timer is still set",
		"a leader has no election timer: when it fires, the leader starts an election against itself and the cluster loses its leader every few hundred milliseconds"))
	assert.Equal(t, 1, o.timers(heartbeatTick{}), "a leader has one heartbeat timer")
}

// Reference: Figure 2, rules for followers: "If election timeout elapses
// without receiving AppendEntries RPC from current leader or granting vote
// to candidate: convert to candidate."
func TestGrantingAVoteResetsTheElectionTimer(t *testing.T) {
	o := newOne(t, 1, 5, testCfg)
	o.deliver(2, RequestVote{Term: 1, Candidate: 2})
	p, _ := o.timer(electionTimeout{})
	o.env.now = p.at - time.Millisecond
	// n2 did not hear the reply and asks again, in the same term.
	got := sent(o.deliver(2, RequestVote{Term: 1, Candidate: 2}))[2]
	require.True(t, wantMessages(t, []sim.Message{RequestVoteReply{Term: 1, VoteGranted: true}}, got, "n2 asks again for the vote n1 gave it"))
	q, ok := o.timer(electionTimeout{})
	require.True(t, ok, "n1 has no election timer after voting")
	assert.Equal(t, 1, o.timers(electionTimeout{}), "one election timer at a time: cancel the old one")
	assert.GreaterOrEqual(t, q.at-o.env.now, testCfg.ElectionTimeoutMin, lesson(
		fmt.Sprintf("n1 granted its vote in term 1 %v before its election timer was due, and the timer still fires %v later", time.Millisecond, q.at-o.env.now),
		"granting a vote resets the election timer (Figure 2): the candidate voted for needs a full timeout to win, not a rival from its own voters"))
}

// Reference: Figure 2, rules for followers: the timer is reset by an
// AppendEntries from the current leader or by granting a vote, nothing
// else.
func TestRefusingAVoteKeepsTheElectionTimer(t *testing.T) {
	o := newOne(t, 1, 5, testCfg)
	o.deliver(2, RequestVote{Term: 1, Candidate: 2})
	p, _ := o.timer(electionTimeout{})
	o.env.now = p.at - time.Millisecond
	got := sent(o.deliver(3, RequestVote{Term: 1, Candidate: 3}))[3]
	require.True(t, wantMessages(t, []sim.Message{RequestVoteReply{Term: 1, VoteGranted: false}}, got, "n1 voted for n2 in term 1 and refuses n3"))
	q, ok := o.timer(electionTimeout{})
	require.True(t, ok, "n1 has no election timer after refusing a vote")
	assert.Equal(t, p.at, q.at, lesson(
		fmt.Sprintf("n1 refused n3 its vote %v before its election timer was due, and the timer moved from %v to %v", time.Millisecond, p.at, q.at),
		"only a vote granted resets the election timer, never a vote refused (Figure 2): refusals come in split votes, and a voter that waits again after each one stands later, so the split lasts longer"))
}

// Reference: §5.2 "A server remains in follower state as long as it
// receives valid RPCs from a leader or candidate."
func TestHeartbeatResetsTheElectionTimer(t *testing.T) {
	o := newOne(t, 1, 5, testCfg)
	o.deliver(2, AppendEntries{Term: 1, Leader: 2})
	p, _ := o.timer(electionTimeout{})
	o.env.now = p.at - time.Millisecond
	log := o.deliver(2, AppendEntries{Term: 1, Leader: 2}) // the next heartbeat of the same leader
	wantMessages(t, []sim.Message{AppendEntriesReply{Term: 1, Success: true}}, sent(log)[2], "a heartbeat is answered")
	assert.Equal(t, sim.NodeID(2), o.node.Leader(), "a heartbeat says who leads")
	q, ok := o.timer(electionTimeout{})
	require.True(t, ok, "n1 has no election timer after a heartbeat")
	assert.Equal(t, 1, o.timers(electionTimeout{}), "one election timer at a time: cancel the old one")
	assert.GreaterOrEqual(t, q.at-o.env.now, testCfg.ElectionTimeoutMin, lesson(
		fmt.Sprintf("a heartbeat reached n1 %v before its election timer was due, and the timer still fires %v later", time.Millisecond, q.at-o.env.now),
		"every heartbeat from the leader resets the election timer (§5.2); otherwise followers start elections against a healthy leader"))
}

// Reference: §5.2 "If the leader's term ... is at least as large as the
// candidate's current term, then the candidate recognizes the leader as
// legitimate and returns to follower state."
func TestCandidateStepsDownOnAHeartbeatOfItsTerm(t *testing.T) {
	o := inRole(t, Candidate)
	log := o.deliver(3, AppendEntries{Term: 2, Leader: 3})
	assert.Equal(t, Follower, o.node.Role(), lesson(
		"n1, a candidate in term 2, got a heartbeat from n3, leader of term 2, and kept campaigning",
		"a heartbeat of the candidate's own term means another node won this election: the candidate becomes its follower (§5.2)"))
	assert.Equal(t, 2, int(o.node.Term()), "same term")
	assert.Equal(t, sim.NodeID(3), o.node.Leader())
	wantMessages(t, []sim.Message{AppendEntriesReply{Term: 2, Success: true}}, sent(log)[3], "and answers the leader")
	vote := o.node.VotedFor()
	got := sent(o.deliver(4, RequestVote{Term: 2, Candidate: 4}))[4]
	wantMessages(t, []sim.Message{RequestVoteReply{Term: 2, VoteGranted: false}}, got, lesson(
		fmt.Sprintf("n1 voted for itself in term 2, then followed n3, the leader of term 2 (its vote is now %s), and n4 asked for its vote in term 2", votedFor(vote)),
		"a vote binds for the whole term (§5.2): following the winner of its own term changes the node's role, not its term, so the vote stays. Freed, n1 can vote in term 2 again, for a rival of the leader it follows"))
}

// Reference: §5.2, a leader voted for itself in its term.
func TestLeaderRefusesVotesInItsTerm(t *testing.T) {
	o := inRole(t, Leader)
	got := sent(o.deliver(3, RequestVote{Term: 2, Candidate: 3}))[3]
	wantMessages(t, []sim.Message{RequestVoteReply{Term: 2, VoteGranted: false}}, got, "n1 voted for itself in term 2")
	assert.Equal(t, Leader, o.node.Role(), "a request of the same term changes nothing")
}
