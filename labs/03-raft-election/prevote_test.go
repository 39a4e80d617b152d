package raft

// Part 4 (stretch): pre-vote, from Diego Ongaro's thesis, §9.6. A node that
// was cut off keeps timing out and raising its term; when it comes back,
// that term deposes a healthy leader for nothing. With pre-vote it first
// asks whether it could win, and raises its term only if it could.

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/sim"
)

var preVoteCfg = func() Config { c := testCfg; c.PreVote = true; return c }()

// Reference: thesis §9.6 "a candidate would first ask other servers
// whether its log was up-to-date enough to get their vote ... [and]
// increments its term only if a majority agree."
func TestPreCandidateKeepsItsTerm(t *testing.T) {
	o := newOne(t, 1, 5, preVoteCfg)
	o.deliver(2, AppendEntries{Term: 3, Leader: 2})
	o.elect()
	log := o.take()
	assert.Equal(t, PreCandidate, o.node.Role(), "with PreVote, an election timeout makes a pre-candidate")
	assert.Equal(t, 3, int(o.node.Term()), lesson("n1 raised its term to run a pre-vote",
		"a pre-vote asks without raising the term (§9.6): that is the point of it"))
	for _, d := range log {
		assert.NotEqual(t, "save", d.kind, "a pre-vote changes nothing durable; n1 did:\n%s", describe(log))
	}
	for _, p := range []sim.NodeID{2, 3, 4, 5} {
		wantMessages(t, []sim.Message{RequestVote{Term: 4, Candidate: 1, PreVote: true}}, sent(log)[p],
			"a pre-vote asks about the next term, 4")
	}
}

// Reference: thesis §9.6, a pre-vote changes nothing at the voter.
func TestPreVoteChangesNothingAtTheVoter(t *testing.T) {
	o := newOne(t, 1, 5, preVoteCfg)
	before, _ := o.timer(electionTimeout{})
	o.advance(testCfg.ElectionTimeoutMin / 2)
	log := o.deliver(2, RequestVote{Term: 5, Candidate: 2, PreVote: true})
	wantMessages(t, []sim.Message{RequestVoteReply{Term: 5, VoteGranted: true, PreVote: true}}, sent(log)[2],
		"n1 has heard from no leader, so it would vote for n2 in term 5")
	assert.Equal(t, 0, int(o.node.Term()), lesson("a pre-vote request moved n1 to term 5",
		"a pre-vote is a question, not an election: the voter's term and vote stay as they are (§9.6)"))
	assert.Zero(t, o.node.VotedFor(), "a pre-vote is not a vote")
	for _, d := range log {
		assert.NotEqual(t, "save", d.kind, "nothing to save; n1 did:\n%s", describe(log))
	}
	after, ok := o.timer(electionTimeout{})
	require.True(t, ok, "n1 has no election timer after answering a pre-vote")
	assert.Equal(t, before.at, after.at, lesson(
		fmt.Sprintf("n1 granted n2 a pre-vote and its election timer moved from %v to %v", before.at, after.at),
		"a pre-vote is a question, so granting one resets no timer; only a real vote does (Figure 2, §9.6). A pre-candidate may never stand, and a voter that waits for it each time it asks may never stand either"))
}

// Reference: Figure 2, rules for followers, and thesis §9.6: a vote gives
// its candidate a full election timeout. A pre-candidate has not voted in
// its term, so it may grant a vote; its own campaign is over then, or the
// pre-votes still on their way make it stand against its own candidate.
func TestPreCandidateThatVotesStopsCampaigning(t *testing.T) {
	o := newOne(t, 1, 5, preVoteCfg)
	o.deliver(2, AppendEntries{Term: 3, Leader: 2})
	o.elect() // a pre-candidate for term 4, in term 3
	o.take()
	got := sent(o.deliver(3, RequestVote{Term: 3, Candidate: 3}))[3]
	wantMessages(t, []sim.Message{RequestVoteReply{Term: 3, VoteGranted: true}}, got,
		"n1, a pre-candidate in term 3 that has not voted in it, grants n3's vote for term 3")
	for _, p := range []sim.NodeID{2, 4, 5} {
		o.deliver(p, RequestVoteReply{Term: 4, VoteGranted: true, PreVote: true})
	}
	assert.True(t, o.node.Role() != Candidate && o.node.Term() == 3, lesson(
		fmt.Sprintf("n1, a pre-candidate in term 3, voted for n3 in term 3; then three pre-votes it had asked for earlier arrived, and n1 is now a %v in term %d", o.node.Role(), o.node.Term()),
		"a node that grants a vote gives that candidate a full election timeout to win (Figure 2): a pre-candidate that votes ends its own campaign, and pre-votes that arrive after count for nothing. Standing now, it would depose the candidate it just voted for"))
	vote := o.node.VotedFor()
	got = sent(o.deliver(4, RequestVote{Term: 3, Candidate: 4}))[4]
	wantMessages(t, []sim.Message{RequestVoteReply{Term: 3, VoteGranted: false}}, got, lesson(
		fmt.Sprintf("n1 ended its pre-vote campaign by voting for n3 in term 3 (its vote is now %s), and n4 asked for its vote in term 3", votedFor(vote)),
		"a vote binds for the whole term (§5.2): ending a campaign changes the node's role, not its term, so the vote stays"))
}

// Reference: thesis §9.6: the pre-vote comes before every election, also
// the next one of a candidate whose election failed.
func TestCandidateWhoseElectionTimesOutAsksForPreVotesAgain(t *testing.T) {
	o := newOne(t, 1, 5, preVoteCfg)
	o.elect()
	o.deliver(2, RequestVoteReply{Term: 1, VoteGranted: true, PreVote: true})
	o.deliver(3, RequestVoteReply{Term: 1, VoteGranted: true, PreVote: true})
	require.Equal(t, Candidate, o.node.Role(), "setting up: 3 of 5 pre-votes, n1 stands in term 1")
	o.take()
	o.fire(electionTimeout{}, "a candidate keeps an election timer, in case its election fails")
	log := o.take()
	assert.True(t, o.node.Role() == PreCandidate && o.node.Term() == 1, lesson(
		fmt.Sprintf("n1's election in term 1 timed out with no winner, and n1 is now a %v in term %d", o.node.Role(), o.node.Term()),
		"with pre-vote, every election timeout starts a pre-vote, a candidate's as well as a follower's (§9.6): a candidate cut off by a partition right after it stood would otherwise raise its term at every timeout, and depose the leader when it comes back"))
	wantMessages(t, []sim.Message{RequestVote{Term: 2, Candidate: 1, PreVote: true}}, sent(log)[4], "the new round asks for pre-votes for term 2")
}

// Reference: thesis §9.6: a round of pre-votes asks one question, "would
// you vote for me in term T+1?", and counts its own answers only: not the
// late votes of an election the node has given up, nor pre-votes granted
// in an earlier round for a term the node has reached since.
func TestPreCandidateCountsOnlyPreVotesOfItsRound(t *testing.T) {
	o := newOne(t, 1, 5, preVoteCfg)
	o.elect()
	o.deliver(2, RequestVoteReply{Term: 1, VoteGranted: true, PreVote: true})
	o.deliver(3, RequestVoteReply{Term: 1, VoteGranted: true, PreVote: true})
	o.deliver(2, RequestVoteReply{Term: 1, VoteGranted: true}) // n2's real vote of term 1
	o.fire(electionTimeout{}, "a candidate keeps an election timer, in case its election fails")
	require.True(t, o.node.Role() == PreCandidate && o.node.Term() == 1,
		"setting up: n1's election in term 1 timed out, with its own vote and n2's, and n1 asks for pre-votes for term 2; it is a %v in term %d", o.node.Role(), o.node.Term())
	still := func(what, rule string) {
		t.Helper()
		require.True(t, o.node.Role() == PreCandidate && o.node.Term() == 1, lesson(
			fmt.Sprintf("n1, a pre-candidate in term 1 asking for pre-votes for term 2, %s, and is now a %v in term %d", what, o.node.Role(), o.node.Term()), rule))
	}

	o.deliver(3, RequestVoteReply{Term: 1, VoteGranted: true})
	o.deliver(4, RequestVoteReply{Term: 1, VoteGranted: true})
	still("got two late votes of its failed election of term 1, from n3 and n4",
		"a pre-candidate counts pre-votes only (§9.6): a vote of term 1 is no answer to a question about term 2, and the nodes that gave it may hear a leader of term 1 by now")

	o.deliver(4, RequestVoteReply{Term: 1, VoteGranted: true, PreVote: true})
	o.deliver(5, RequestVoteReply{Term: 1, VoteGranted: true, PreVote: true})
	still("got two late pre-votes granted for term 1, asked for in its first round, from n4 and n5",
		"a granted pre-vote counts only for the term that was asked about (§9.6): these say n4 and n5 would have voted for n1 in term 1, which n1 has reached, and nothing about term 2")

	o.deliver(5, RequestVoteReply{Term: 2, VoteGranted: true, PreVote: true})
	still("got its first pre-vote for term 2, from n5",
		"each round of pre-votes starts afresh, with the node's own only (§9.6): n2's vote in the failed election of term 1 is not a pre-vote for term 2, and 2 of 5 is no majority")

	o.deliver(3, RequestVoteReply{Term: 2, VoteGranted: true, PreVote: true})
	assert.True(t, o.node.Role() == Candidate && o.node.Term() == 2, "3 of 5 pre-votes for term 2: n1 stands in term 2; it is a %v in term %d", o.node.Role(), o.node.Term())
}

// Reference: §5.2 and thesis §9.6: a heartbeat of the node's own term says
// its leader is alive. A pre-candidate that hears one after all (a few were
// lost) becomes its follower, and refuses pre-votes against it like any
// node that hears it.
func TestPreCandidateThatHearsTheLeaderStopsCampaigning(t *testing.T) {
	o := newOne(t, 1, 5, preVoteCfg)
	o.deliver(2, AppendEntries{Term: 3, Leader: 2})
	o.elect() // heartbeats were lost: a pre-candidate for term 4, in term 3
	o.take()
	log := o.deliver(2, AppendEntries{Term: 3, Leader: 2})
	wantMessages(t, []sim.Message{AppendEntriesReply{Term: 3, Success: true}}, sent(log)[2], "the heartbeat is answered")
	for _, p := range []sim.NodeID{3, 4} {
		o.deliver(p, RequestVoteReply{Term: 4, VoteGranted: true, PreVote: true})
	}
	require.True(t, o.node.Role() == Follower && o.node.Term() == 3 && o.node.Leader() == 2, lesson(
		fmt.Sprintf("n1, a pre-candidate in term 3, got a heartbeat from n2, leader of term 3, then two pre-votes for term 4 it had asked for; n1 is now a %v in term %d, following %s", o.node.Role(), o.node.Term(), votedFor(o.node.Leader())),
		"a heartbeat of the node's own term means the leader is alive: a pre-candidate becomes its follower, as a candidate does (§5.2), and pre-votes that arrive after count for nothing. Standing now, it would depose a healthy leader"))
	got := sent(o.deliver(5, RequestVote{Term: 4, Candidate: 5, PreVote: true}))[5]
	wantMessages(t, []sim.Message{RequestVoteReply{Term: 3, VoteGranted: false, PreVote: true}}, got, lesson(
		"n1 heard n2, leader of term 3, a moment ago, as a pre-candidate, and n5 asked it for a pre-vote for term 4",
		"a node that heard the leader within the minimum election timeout refuses pre-votes (§9.6), whatever its role when the heartbeat came: the heartbeat that ends a campaign shows a live leader like any other"))
}

// Reference: §5.1 and thesis §9.6: a heartbeat of an older term comes from
// a deposed leader. It is refused and changes nothing (part 2); it is no
// sign of a live leader either.
func TestPreVoteIsGrantedDespiteADeposedLeadersHeartbeat(t *testing.T) {
	o := newOne(t, 1, 5, preVoteCfg)
	o.deliver(2, AppendEntries{Term: 5, Leader: 2})
	o.advance(testCfg.ElectionTimeoutMax)           // n2, leader of term 5, has fallen silent
	o.deliver(3, AppendEntries{Term: 4, Leader: 3}) // n3 led term 4 and does not know it was deposed
	got := sent(o.deliver(4, RequestVote{Term: 6, Candidate: 4, PreVote: true}))[4]
	wantMessages(t, []sim.Message{RequestVoteReply{Term: 6, VoteGranted: true, PreVote: true}}, got, lesson(
		fmt.Sprintf("n1, in term 5, has not heard its leader n2 for %v; then a heartbeat of term 4 came in from n3, and n4 asked n1 for a pre-vote for term 6", testCfg.ElectionTimeoutMax),
		"a live leader is one heard within the minimum election timeout, by a heartbeat of the node's own term (§9.6): n2 has been silent too long, whatever Leader() still says, and n3 leads a term the cluster has left. A node that refuses pre-votes for either helps keep the cluster without a leader"))
}

// Reference: thesis §9.6: a pre-vote for term T asks "would you vote for
// me in T?". A pre-candidate or a candidate in an earlier term has not
// voted in T, and hears no leader: it says yes. Two pre-candidates that
// refuse each other, in a cluster of 3 with a node down, never stand.
func TestCandidatesGrantPreVotesForALaterTerm(t *testing.T) {
	for _, role := range []Role{PreCandidate, Candidate} {
		t.Run(role.String(), func(t *testing.T) {
			o := newOne(t, 1, 3, preVoteCfg)
			o.elect()
			if role == Candidate {
				o.deliver(2, RequestVoteReply{Term: 1, VoteGranted: true, PreVote: true})
			}
			require.Equal(t, role, o.node.Role(), "setting up a %v", role)
			o.take()
			asked := o.node.Term() + 1
			got := sent(o.deliver(3, RequestVote{Term: asked, Candidate: 3, PreVote: true}))[3]
			wantMessages(t, []sim.Message{RequestVoteReply{Term: asked, VoteGranted: true, PreVote: true}}, got, lesson(
				fmt.Sprintf("n1, a %v in term %d that has heard no leader, was asked by n3 for a pre-vote for term %d", role, o.node.Term(), asked),
				fmt.Sprintf("a pre-vote is granted for a term above the voter's own when no leader is heard, whatever the voter's role (§9.6): n1 has not voted in term %d, and a real RequestVote of it would free n1's vote. Refused, two nodes campaigning at once each wait for the other's pre-vote, and in a cluster of 3 with one node down neither ever stands", asked)))
		})
	}
}

// Reference: thesis §9.6 / §4.2.3: a node that hears from a leader refuses
// to help depose it.
func TestPreVoteIsRefusedWhileTheLeaderIsHeard(t *testing.T) {
	o := newOne(t, 1, 5, preVoteCfg)
	o.deliver(2, AppendEntries{Term: 3, Leader: 2})
	o.advance(testCfg.ElectionTimeoutMin / 2)
	got := sent(o.deliver(4, RequestVote{Term: 9, Candidate: 4, PreVote: true}))[4]
	require.Len(t, got, 1, "n1 answers the pre-vote")
	assert.False(t, got[0].(RequestVoteReply).VoteGranted, lesson(
		fmt.Sprintf("n1 heard from its leader n2 %v ago and granted n4 a pre-vote for term 9", testCfg.ElectionTimeoutMin/2),
		"while a node hears from a leader (within the minimum election timeout), it refuses pre-votes: the leader is fine, and the node asking is the one cut off (§9.6)"))
	assert.Equal(t, 3, int(o.node.Term()))
}

// Reference: thesis §9.6 / §4.2.3: a leader knows a leader is alive:
// itself. It hears no heartbeats, so a check on heartbeats alone misses it,
// and in a cluster of 3 the leader's pre-vote and the asker's own are a
// majority.
func TestLeaderRefusesPreVotes(t *testing.T) {
	o := newOne(t, 1, 3, preVoteCfg)
	o.makeLeader()
	o.advance(testCfg.ElectionTimeoutMax) // long after any heartbeat
	got := sent(o.deliver(2, RequestVote{Term: 2, Candidate: 2, PreVote: true}))[2]
	wantMessages(t, []sim.Message{RequestVoteReply{Term: 1, VoteGranted: false, PreVote: true}}, got, lesson(
		"n1, leader of term 1 in a cluster of 3, was asked by n2 for a pre-vote for term 2",
		"a leader refuses pre-votes (§9.6): it is the live leader. Granted, its pre-vote and n2's own are 2 of 3, and n2, cut off for a moment, deposes a healthy leader"))
	assert.Equal(t, Leader, o.node.Role(), "a pre-vote changes nothing at the voter")
	assert.Equal(t, 1, int(o.node.Term()))
}

// Reference: Figure 2, rules for all servers: a response with a newer term
// makes any node a follower of it. Only a granted pre-vote carries the term
// asked for; a refusal carries the voter's own.
func TestPreCandidateAdoptsTheNewerTermOfARefusal(t *testing.T) {
	o := newOne(t, 1, 5, preVoteCfg)
	o.deliver(2, AppendEntries{Term: 3, Leader: 2})
	o.elect() // a pre-candidate for term 4, in term 3
	o.take()
	log := o.deliver(4, RequestVoteReply{Term: 7, VoteGranted: false, PreVote: true})
	assert.True(t, o.node.Role() == Follower && o.node.Term() == 7, lesson(
		fmt.Sprintf("n1, a pre-candidate in term 3, was refused a pre-vote by a voter in term 7; n1 is now a %v in term %d", o.node.Role(), o.node.Term()),
		"a refused pre-vote carries the voter's own term, and a newer term is a newer term like any other: the node takes it and becomes a follower (Figure 2). Left in term 3, n1 asks for pre-votes for term 4 over and over, refused by voters already in term 7"))
	saved := slices.ContainsFunc(log, func(d did) bool { return d.kind == "save" && d.hs.Term == 7 })
	assert.True(t, saved, "the new term is saved (Figure 2); what n1 did:\n%s", describe(log))
}

// Reference: thesis §9.6, with a majority of pre-votes the real election
// starts.
func TestPreCandidateWithAMajorityStandsForElection(t *testing.T) {
	o := newOne(t, 1, 5, preVoteCfg)
	o.elect()
	o.take()
	o.deliver(2, RequestVoteReply{Term: 1, VoteGranted: true, PreVote: true})
	require.True(t, o.node.Role() == PreCandidate && o.node.Term() == 0, lesson(
		fmt.Sprintf("n1, a pre-candidate in term 0, got its first pre-vote, granted for term 1; n1 is now a %v in term %d", o.node.Role(), o.node.Term()),
		"a granted pre-vote carries the term that was asked for, which nobody is in yet: it is an answer, not news of a newer term, and moves nobody to it (thesis §9.6)"))
	log := o.deliver(3, RequestVoteReply{Term: 1, VoteGranted: true, PreVote: true})
	assert.Equal(t, Candidate, o.node.Role(), "3 of 5 pre-votes: now the real election")
	assert.Equal(t, 1, int(o.node.Term()))
	wantMessages(t, []sim.Message{RequestVote{Term: 1, Candidate: 1}}, sent(log)[4], "a real RequestVote this time")
}

// Reference: thesis §9.6: the reason for pre-vote, on a cluster. Three
// nodes as well as five: with three, one wrong pre-vote is a majority.
func TestRejoiningNodeDoesNotDisruptTheCluster(t *testing.T) {
	for _, size := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d_nodes", size), func(t *testing.T) {
			sweep(t, func(t testing.TB, seed uint64) {
				c := newCluster(t, size, seed, sim.Network{}, preVoteCfg)
				leader := c.awaitLeader(3 * time.Second)
				term := c.node(leader).Term()
				loner := leader%sim.NodeID(size) + 1
				c.Partition([]sim.NodeID{loner})
				c.Run(5 * time.Second) // the loner times out again and again
				c.Heal()
				c.Run(3 * time.Second)
				now, ok := c.leader()
				require.True(t, ok, "no leader after the heal: %s", c.roles())
				assert.True(t, now == leader && c.node(now).Term() == term, lesson(
					fmt.Sprintf("in a cluster of %d, %v led term %d; %v was cut off for 5s and rejoined; now %v leads term %d", size, leader, term, loner, now, c.node(now).Term()),
					"a node that cannot win must not raise its term: with pre-vote it learns it cannot win while cut off, so it comes back in the old term and follows the leader (§9.6)"))
				assert.Equal(t, leader, c.node(loner).Leader(), "the loner follows the leader again")
			})
		})
	}
}

// Reference: thesis §9.6: a pre-vote asks "would you vote for me in the
// next term?", and only a term above the voter's own can be one it has not
// voted in yet.
func TestPreVoteIsRefusedForATermNotAboveTheVoters(t *testing.T) {
	o := newOne(t, 1, 5, preVoteCfg)
	o.deliver(2, AppendEntries{Term: 5, Leader: 2})
	o.advance(testCfg.ElectionTimeoutMax) // the leader has not been heard for a while
	for _, term := range []uint64{4, 5} {
		got := sent(o.deliver(3, RequestVote{Term: term, Candidate: 3, PreVote: true}))[3]
		wantMessages(t, []sim.Message{RequestVoteReply{Term: 5, VoteGranted: false, PreVote: true}}, got, lesson(
			fmt.Sprintf("n1, in term 5 and with no leader heard for %v, was asked by n3 for a pre-vote for term %d", testCfg.ElectionTimeoutMax, term),
			"a pre-vote is granted only for a term above the voter's own (§9.6), and a refusal carries the voter's term. Term 5 has begun here, and its vote may be taken: a pre-candidate let through into it splits the votes of an election already under way"))
	}
	got := sent(o.deliver(3, RequestVote{Term: 6, Candidate: 3, PreVote: true}))[3]
	wantMessages(t, []sim.Message{RequestVoteReply{Term: 6, VoteGranted: true, PreVote: true}}, got,
		"a pre-vote for term 6, above n1's own, with no leader heard: granted, with the term asked for")
}

// Reference: thesis §9.6: pre-votes and votes are answers to different
// questions. Once a pre-candidate has its majority and stands, the
// pre-votes still on the way are not votes of the election.
func TestCandidateCountsNoPreVotes(t *testing.T) {
	o := newOne(t, 1, 5, preVoteCfg)
	o.elect()
	o.take()
	o.deliver(2, RequestVoteReply{Term: 1, VoteGranted: true, PreVote: true})
	o.deliver(3, RequestVoteReply{Term: 1, VoteGranted: true, PreVote: true})
	require.Equal(t, Candidate, o.node.Role(), "3 of 5 pre-votes: n1 stands in term 1")
	o.deliver(4, RequestVoteReply{Term: 1, VoteGranted: true, PreVote: true})
	o.deliver(5, RequestVoteReply{Term: 1, VoteGranted: true, PreVote: true})
	assert.Equal(t, Candidate, o.node.Role(), lesson(
		"n1 stood in term 1 after 3 of 5 pre-votes, then two late pre-votes for term 1 came in, from n4 and n5, and n1 is now a leader without a single real vote",
		"a pre-vote is not a vote: only RequestVote answers to the election count towards it (§9.6). n4 and n5 may still give their real votes of term 1 to another candidate, and that one would lead term 1 too"))
}

// Reference: thesis §9.6 and §4.2.3. A follower that cannot hear the
// leader, while the leader and everyone else hear it, times out again and
// again; with pre-vote it never wins a pre-vote, so the leader keeps its
// term. Three nodes as well as five.
func TestPreVoteKeepsALeaderThatOneFollowerCannotHear(t *testing.T) {
	for _, size := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d_nodes", size), func(t *testing.T) {
			sim.Sweep(t, sweepSeeds/4, func(t testing.TB, seed uint64) {
				c := newCluster(t, size, seed, sim.Network{}, preVoteCfg)
				leader := c.awaitLeader(3 * time.Second)
				term := c.node(leader).Term()
				deaf := leader%sim.NodeID(size) + 1
				c.Cut(leader, deaf)
				c.Run(5 * time.Second)
				now, ok := c.leader()
				require.True(t, ok, "no leader after 5s of the one-way cut: %s", c.roles())
				assert.True(t, now == leader && c.node(now).Term() == term, lesson(
					fmt.Sprintf("in a cluster of %d, %v led term %d; for 5s %v could not hear it, while %v heard %v; now %v leads term %d", size, leader, term, deaf, leader, deaf, now, c.node(now).Term()),
					"a pre-vote is refused by every node that hears the leader, and by the leader itself (§9.6): the one node that cannot hear it never gets a majority, never raises its term, and deposes nobody"))
			})
		})
	}
}

// Reference: thesis §9.6: pre-vote changes when elections start, never
// what makes them safe. Under loss, crashes, partitions and one-way cuts:
// at most one leader per term and one vote per node per term; once the
// faults end, a leader; and when that leader crashes, a new one soon.
func TestPreVoteStaysSafeAndLiveUnderFaults(t *testing.T) {
	const bound = 2 * time.Second
	for _, size := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d_nodes", size), func(t *testing.T) {
			sim.Sweep(t, sweepSeeds/4, func(t testing.TB, seed uint64) {
				c := newCluster(t, size, seed, faulty, preVoteCfg)
				c.ScheduleFaults(sim.Faults{Every: time.Second, MinDown: 200 * time.Millisecond, MaxDown: time.Second,
					Crashes: true, Partitions: true, Until: 8 * time.Second})
				c.scheduleOneWayCuts(500*time.Millisecond, 8*time.Second)
				c.Run(10 * time.Second)
				c.Heal()
				old := c.awaitLeader(3 * time.Second)
				c.Crash(old)
				c.RunUntil(fmt.Sprintf("a new leader within %v of the leader's crash, with pre-vote", bound), bound, func() bool {
					id, ok := c.leader()
					return ok && id != old
				})
			})
		})
	}
}
