package raftlog

// Part 1, rule by rule: each test drives one node by hand and checks one
// rule of Figure 2 or §5.3–§5.4.

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distlings/distlings/labs/internal/nodetest"
	"github.com/distlings/distlings/labs/internal/sim"
)

// Reference: §5.3, "the leader appends the command to its log as a new entry".
func TestLeaderAppendsEachProposalToItsLog(t *testing.T) {
	leader := newOne(t, 1, 3)
	leader.makeLeader()
	follower := newOne(t, 2, 3)
	follower.follow(1, 1)

	for i, cmd := range []string{"x=1", "y=2"} {
		buf := []byte(cmd)
		var index, term uint64
		var ok bool
		leader.guard("in Propose", func() { index, term, ok = leader.node.Propose(buf) })
		copy(buf, "???") // the caller reuses its buffer
		require.True(t, ok && index == uint64(i+1) && term == 1, lesson(
			fmt.Sprintf("the leader of term 1, with %d entries, was asked to Propose(%q) and returned (%d, %d, %v), want (%d, 1, true)", i, cmd, index, term, ok, i+1),
			"the leader appends a proposal to its log as a new entry, at the next index, in its own term, and says where (§5.3)"))
	}
	want := []Entry{{Index: 1, Term: 1, Command: []byte("x=1")}, {Index: 2, Term: 1, Command: []byte("y=2")}}
	requireLog(t, leader, want, "after two proposals, whose callers then reused their buffers (a log keeps its own copy of each command)")

	index, term, ok := follower.propose("z=3")
	assert.False(t, ok, lesson(fmt.Sprintf("a follower's Propose returned (%d, %d, %v)", index, term, ok),
		"only the leader takes proposals: a follower says no, and the caller goes to the leader (§5.1)"))
	requireLog(t, follower, nil, "a follower that was asked to Propose")

	candidate := newOne(t, 3, 3)
	candidate.fire(electionTimeout{})
	index, term, ok = candidate.propose("w=4")
	assert.False(t, ok, lesson(fmt.Sprintf("a candidate's Propose returned (%d, %d, %v)", index, term, ok),
		"a candidate is not a leader yet, and may never be: an entry it took in of its term could meet the real leader's entry of the same index and term, a different command that Log Matching would take for the same"))
	requireLog(t, candidate, nil, "a candidate that was asked to Propose")
}

// Reference: Figure 2, AppendEntries arguments; §5.3.
func TestLeaderSendsEachFollowerTheEntriesItLacks(t *testing.T) {
	n1 := newOne(t, 1, 3)
	n1.follow(2, 1, ents(1, 1, 1)...)
	first := n1.makeLeader() // term 2, log [1:t1 2:t1]
	for _, p := range []sim.NodeID{2, 3} {
		for _, m := range appends(first, p) {
			require.True(t, m.PrevLogIndex == 2 && m.PrevLogTerm == 1 && len(m.Entries) == 0, lesson(
				fmt.Sprintf("n1, with log [1:t1 2:t1], won the election of term 2 and sent %v %v", p, m),
				"a new leader assumes each follower holds its whole log (nextIndex = its last index + 1) until a refusal says otherwise: its first AppendEntries carries no entries, only the check PrevLogIndex 2, PrevLogTerm 1. Starting from the first entry sends the whole log to every follower at every election (Figure 2, state on leaders)"))
		}
	}
	index, _, ok := n1.propose("z")
	require.True(t, ok && index == 3, "the new leader of term 2, with 2 entries, proposes at index 3 (got %d, %v)", index, ok)
	log := n1.env.Take()
	log = append(log, n1.fire(heartbeatTick{})...)
	leaderLog := n1.node.LogEntries()
	for _, p := range []sim.NodeID{2, 3} {
		sent := appends(log, p)
		// A leader may probe with empty AppendEntries first: answered, it
		// sends the entries.
		sent = append(sent, appends(n1.answerAppends(log, p), p)...)
		covered := false
		for _, m := range sent {
			covered = covered || carries(m, leaderLog, 3)
		}
		require.True(t, covered, lesson(
			fmt.Sprintf("the new leader of term 2, log %s, proposed index 3; until its next heartbeat, and once what it sent was answered, it sent %v: %s", showLog(leaderLog), p, nodetest.List(sentMessages(sent))),
			"the leader sends each follower the entries from its nextIndex on, with the index and term of the entry just before them (PrevLogIndex, PrevLogTerm), so the follower can check they fit; a new leader starts nextIndex just past its own last entry (Figure 2)"))
	}
}

// carries reports whether m is a well-formed AppendEntries of the leader's
// log that reaches index.
func carries(m AppendEntries, leaderLog []Entry, index uint64) bool {
	if m.PrevLogIndex > uint64(len(leaderLog)) {
		return false
	}
	if m.PrevLogIndex > 0 && leaderLog[m.PrevLogIndex-1].Term != m.PrevLogTerm {
		return false
	}
	for i, e := range m.Entries {
		want := m.PrevLogIndex + uint64(i) + 1
		if want > uint64(len(leaderLog)) || !sameLog([]Entry{e}, []Entry{leaderLog[want-1]}) {
			return false
		}
	}
	return m.PrevLogIndex+uint64(len(m.Entries)) >= index
}

// Reference: Figure 2, AppendEntries receiver, rule 2.
func TestFollowerRefusesEntriesThatDoNotFollowItsLog(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  AppendEntries
		why  string
	}{
		{"prev beyond the log", AppendEntries{Term: 2, Leader: 3, PrevLogIndex: 5, PrevLogTerm: 2, Entries: ents(6, 2), LeaderCommit: 5}, "it has no entry 5"},
		{"prev of another term", AppendEntries{Term: 2, Leader: 3, PrevLogIndex: 3, PrevLogTerm: 1, Entries: ents(4, 2), LeaderCommit: 4}, "its entry 3 is of term 2, not 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n1 := newOne(t, 1, 3)
			n1.follow(2, 1, ents(1, 1, 1)...)
			n1.deliver(3, AppendEntries{Term: 2, Leader: 3, PrevLogIndex: 2, PrevLogTerm: 1, Entries: ents(3, 2)})
			before := n1.node.LogEntries()
			require.True(t, sameLog(before, ents(1, 1, 1, 2)), "setting up: %v's log is %s, want [1:t1 2:t1 3:t2]", n1.id(), showLog(before))

			log := n1.deliver(3, tc.msg)
			got := replies(log, 3)
			require.True(t, len(got) == 1 && !got[0].Success && got[0].Index == tc.msg.PrevLogIndex && got[0].Term == 2, lesson(
				fmt.Sprintf("a follower with log %s was sent %v and answered %s, want AppendEntriesReply{term 2, refused prev %d}: %s", showLog(before), tc.msg, nodetest.List(nodetest.Sent(log)[3]), tc.msg.PrevLogIndex, tc.why),
				"a follower refuses entries unless its log holds an entry at PrevLogIndex of PrevLogTerm: that check is what keeps every log a prefix of the leader's (Figure 2, AppendEntries rule 2; §5.3, the Log Matching Property)"))
			requireLog(t, n1, before, "a refused AppendEntries must change nothing")
			require.True(t, n1.node.CommitIndex() == 0 && len(n1.applied) == 0, lesson(
				fmt.Sprintf("a follower with log %s, nothing committed, refused %v, and then had commit index %d and had applied %s", showLog(before), tc.msg, n1.node.CommitIndex(), showApplied(n1.applied)),
				"a refusal commits nothing: the follower has not shown that any of its entries is the leader's, and LeaderCommit speaks of the leader's entries (Figure 2, AppendEntries rules 2 and 5)"))
		})
	}
}

// Reference: §5.3, the paragraph on finding the match fast; messages.go.
func TestARefusalSaysWhereTheConflictingTermStarts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		prev      uint64
		wantTerm  uint64
		wantIndex uint64
	}{
		{"prev in a term of the log", 5, 2, 4},
		{"prev beyond the log", 9, 0, 7},
	} {
		n1 := newOne(t, 1, 3)
		n1.follow(2, 1, ents(1, 1, 1, 1)...)
		n1.deliver(3, AppendEntries{Term: 2, Leader: 3, PrevLogIndex: 3, PrevLogTerm: 1, Entries: ents(4, 2, 2, 2)})
		msg := AppendEntries{Term: 3, Leader: 4, PrevLogIndex: tc.prev, PrevLogTerm: 3}
		log := n1.deliver(4, msg)
		r := replies(log, 4)
		require.True(t, len(r) == 1 && !r[0].Success && r[0].ConflictTerm == tc.wantTerm && r[0].ConflictIndex == tc.wantIndex, lesson(
			fmt.Sprintf("%s: a follower with log [1:t1 2:t1 3:t1 4:t2 5:t2 6:t2] was sent %v and answered %s, want ConflictTerm %d, ConflictIndex %d",
				tc.name, msg, nodetest.List(nodetest.Sent(log)[4]), tc.wantTerm, tc.wantIndex),
			"a refusal says what the follower holds at PrevLogIndex: the term of its entry there and the first index it holds of that term; or, if its log is shorter, ConflictTerm 0 and one past its last entry (messages.go, part 2)"))
	}
}

// Reference: Figure 2, AppendEntries receiver, rules 3–4.
func TestFollowerAppendsEntriesThatFollowItsLog(t *testing.T) {
	n1 := newOne(t, 1, 3)
	n1.follow(2, 1, ents(1, 1)...)
	for _, step := range []struct {
		msg  AppendEntries
		want []Entry
	}{
		{AppendEntries{Term: 1, Leader: 2, PrevLogIndex: 1, PrevLogTerm: 1, Entries: ents(2, 1, 1)}, ents(1, 1, 1, 1)},
		{AppendEntries{Term: 1, Leader: 2, PrevLogIndex: 3, PrevLogTerm: 1}, ents(1, 1, 1, 1)},
	} {
		before := n1.node.LogEntries()
		log := n1.deliver(2, step.msg)
		got := replies(log, 2)
		wantIndex := step.msg.PrevLogIndex + uint64(len(step.msg.Entries))
		require.True(t, len(got) == 1 && got[0].Success && got[0].Index == wantIndex, lesson(
			fmt.Sprintf("a follower with log %s was sent %v and answered %s, want AppendEntriesReply{term 1, ok up to %d}", showLog(before), step.msg, nodetest.List(nodetest.Sent(log)[2]), wantIndex),
			"a follower whose log matches at PrevLogIndex takes the entries, and answers once: Success, and Index = PrevLogIndex + len(Entries), the last entry it now knows to match the leader's (messages.go)"))
		requireLog(t, n1, step.want, "after %v", step.msg)
	}
}

// Reference: Figure 2, AppendEntries receiver, rule 3 ("if an existing
// entry conflicts with a new one"); Students' Guide to Raft.
func TestALateAppendEntriesDoesNotCutTheLog(t *testing.T) {
	n1 := newOne(t, 1, 3)
	n1.follow(2, 1, ents(1, 1, 1, 1)...)
	late := AppendEntries{Term: 1, Leader: 2, Entries: ents(1, 1)}
	log := n1.deliver(2, late)
	got := n1.node.LogEntries()
	require.True(t, sameLog(got, ents(1, 1, 1, 1)), lesson(
		fmt.Sprintf("a follower with log [1:t1 2:t1 3:t1] was sent a late copy of an earlier %v, and its log became %s", late, showLog(got)),
		"a follower deletes entries only on a real conflict, an entry of the same index and another term; a late or duplicated AppendEntries whose entries already match must not cut the log, or it drops entries the leader has counted as held here, maybe committed (Figure 2, AppendEntries rule 3)"))
	r := replies(log, 2)
	require.True(t, len(r) == 1 && r[0].Success && r[0].Index == 1, lesson(
		fmt.Sprintf("the late %v was answered %s, want AppendEntriesReply{term 1, ok up to 1}", late, nodetest.List(nodetest.Sent(log)[2])),
		"the reply says what this request proved, PrevLogIndex + len(Entries), not how long the log is: entries past it may not be the leader's"))
}

// Reference: Figure 2, AppendEntries receiver, rules 3–4.
func TestFollowerReplacesAConflictingEntryAndAllAfterIt(t *testing.T) {
	n1 := newOne(t, 1, 3)
	n1.follow(2, 1, ents(1, 1, 1, 1)...)
	msg := AppendEntries{Term: 2, Leader: 3, PrevLogIndex: 1, PrevLogTerm: 1, Entries: ents(2, 2)}
	log := n1.deliver(3, msg)
	got := n1.node.LogEntries()
	require.True(t, sameLog(got, ents(1, 1, 2)), lesson(
		fmt.Sprintf("a follower with log [1:t1 2:t1 3:t1] was sent %v by the leader of term 2; its log became %s, want [1:t1 2:t2]", msg, showLog(got)),
		"an entry that conflicts with the leader's (same index, other term) is deleted with every entry after it, and the leader's entries take their place: a follower's log ends up a copy of the leader's (Figure 2, AppendEntries rules 3–4)"))
	r := replies(log, 3)
	require.True(t, len(r) == 1 && r[0].Success && r[0].Index == 2, "the follower answered %s, want AppendEntriesReply{term 2, ok up to 2}", nodetest.List(nodetest.Sent(log)[3]))

	// The conflict inside the request, after an entry that matches.
	n2 := newOne(t, 2, 3)
	n2.follow(1, 1, ents(1, 1, 1, 1)...)
	msg = AppendEntries{Term: 2, Leader: 3, PrevLogIndex: 1, PrevLogTerm: 1, Entries: ents(2, 1, 2)}
	n2.deliver(3, msg)
	got = n2.node.LogEntries()
	require.True(t, sameLog(got, ents(1, 1, 1, 2)), lesson(
		fmt.Sprintf("a follower with log [1:t1 2:t1 3:t1] was sent %v by the leader of term 2; its log became %s, want [1:t1 2:t1 3:t2]", msg, showLog(got)),
		"entries that match stay where they are; from the first conflict on, the leader's entries replace the follower's, each at its own index (Figure 2, AppendEntries rules 3–4)"))
}

// Reference: Figure 2, AppendEntries receiver, rule 5.
func TestFollowerCommitsWhatTheLeaderCommittedUpToWhatItHolds(t *testing.T) {
	n1 := newOne(t, 1, 3)
	all := ents(1, 1, 1, 1)
	n1.follow(2, 1, all[:2]...)
	for _, step := range []struct {
		msg    AppendEntries
		commit uint64
	}{
		{AppendEntries{Term: 1, Leader: 2, PrevLogIndex: 2, PrevLogTerm: 1, LeaderCommit: 1}, 1},
		{AppendEntries{Term: 1, Leader: 2, PrevLogIndex: 2, PrevLogTerm: 1, Entries: all[2:], LeaderCommit: 7}, 3},
		{AppendEntries{Term: 1, Leader: 2, PrevLogIndex: 2, PrevLogTerm: 1, Entries: all[2:], LeaderCommit: 7}, 3},  // a duplicate
		{AppendEntries{Term: 1, Leader: 2, PrevLogIndex: 1, PrevLogTerm: 1, Entries: all[1:2], LeaderCommit: 7}, 3}, // a late one
	} {
		n1.deliver(2, step.msg)
		assert.Equal(t, int(step.commit), int(n1.node.CommitIndex()), lesson(
			fmt.Sprintf("after %v, the follower's commit index", step.msg),
			"a follower commits up to min(LeaderCommit, index of the last new entry): what the leader has committed, as far as this request has shown its log to match (Figure 2, AppendEntries rule 5); and what is committed stays committed, so a late request never lowers the commit index"))
		require.True(t, n1.appliedAre(all[:step.commit]), lesson(
			fmt.Sprintf("after %v, the follower had applied %s, want %s", step.msg, showApplied(n1.applied), showEntries(all[:step.commit])),
			"every committed entry is applied once, in index order, and nothing else is: lastApplied follows commitIndex (Figure 2, rules for all servers)"))
	}
}

// Reference: Figure 2, AppendEntries receiver, rule 5 ("index of last new
// entry"); Students' Guide to Raft, "the index of the last new entry".
func TestFollowerDoesNotCommitEntriesTheLeaderHasNotChecked(t *testing.T) {
	n1 := newOne(t, 1, 3)
	n1.follow(2, 1, ents(1, 1, 1, 1)...)
	// The leader of term 2 holds [1:t1 2:t2] and has committed both; it
	// has not yet found where n1's log and its own part.
	msg := AppendEntries{Term: 2, Leader: 3, PrevLogIndex: 1, PrevLogTerm: 1, LeaderCommit: 2}
	n1.deliver(3, msg)
	require.True(t, n1.node.CommitIndex() <= 1 && len(n1.applied) <= 1, lesson(
		fmt.Sprintf("a follower with log [1:t1 2:t1 3:t1] from the leader of term 1 was sent %v by the leader of term 2; it committed up to %d and applied %s",
			msg, n1.node.CommitIndex(), showApplied(n1.applied)),
		"a follower commits up to min(LeaderCommit, the last index this request proved to match), here 1; its own entry 2 is of an old term and may not be the leader's entry 2, which is the one committed (Figure 2, AppendEntries rule 5)"))
}

// Reference: §5.3, §5.4.2 ("committed once the leader that created the
// entry has replicated it on a majority").
func TestLeaderCommitsAnEntryOnceAMajorityHoldsIt(t *testing.T) {
	n1 := newOne(t, 1, 5)
	n1.makeLeader()
	n1.propose("x")
	want := []Entry{{Index: 1, Term: 1, Command: []byte("x")}}
	n1.deliver(2, AppendEntriesReply{Term: 1, Success: true, Index: 1})
	require.Equal(t, 0, int(n1.node.CommitIndex()), lesson(
		"the leader of 5 nodes committed index 1 when one follower held it, two nodes of five",
		"an entry is committed when a majority of the cluster, the leader included, holds it (§5.3)"))
	n1.deliver(3, AppendEntriesReply{Term: 1, Success: true, Index: 1})
	require.Equal(t, 1, int(n1.node.CommitIndex()), lesson(
		"two followers of the leader of 5 nodes said they held index 1, three nodes of five with the leader, and the leader's commit index",
		"the leader commits an entry of its term once a majority holds it: its matchIndex for a majority of followers has reached it, counting itself (§5.3, Figure 2, rules for leaders)"))
	require.True(t, n1.appliedAre(want), "the leader applied %s, want 1:x", showApplied(n1.applied))
	n1.applied[0].Command[0] = '!' // the service decodes in place
	require.True(t, sameLog(n1.node.LogEntries(), want), lesson(
		fmt.Sprintf("the service that applied 1:x wrote over the bytes of the command it was handed, and the leader's log became %s", showEntries(n1.node.LogEntries())),
		"the service gets its own copy of each command: one that shares the log's bytes lets the service change the log, which the leader still sends to followers"))

	log := n1.fire(heartbeatTick{})
	for _, p := range []sim.NodeID{2, 4} {
		for _, m := range appends(log, p) {
			assert.Equal(t, 1, int(m.LeaderCommit), lesson(fmt.Sprintf("after committing index 1 the leader sent %v %v", p, m),
				"every AppendEntries tells the follower how far the leader has committed (LeaderCommit), so that followers apply too"))
		}
	}
}

// Reference: §5.4.2 and Figure 8: "Raft never commits log entries from
// previous terms by counting replicas".
func TestLeaderCommitsOnlyItsOwnTermsEntriesByCounting(t *testing.T) {
	n1 := newOne(t, 1, 5)
	n1.follow(2, 1, ents(1, 1)...)
	n1.deliver(3, AppendEntries{Term: 2, Leader: 3, PrevLogIndex: 1, PrevLogTerm: 1, Entries: ents(2, 2), LeaderCommit: 1})
	n1.makeLeader() // term 3, log [1:t1 2:t2], commit 1
	require.Equal(t, 3, int(n1.node.Term()), "setting up: n1 leads term 3")
	index, _, _ := n1.propose("own") // 3:t3, on n1 alone for now
	for _, p := range []sim.NodeID{2, 3} {
		n1.deliver(p, AppendEntriesReply{Term: 3, Success: true, Index: 2})
	}
	require.LessOrEqual(t, n1.node.CommitIndex(), uint64(1), lesson(
		fmt.Sprintf("the leader of term 3, with log [1:t1 2:t2 3:t3], heard from two followers of five that they held index 2, and committed up to %d", n1.node.CommitIndex()),
		"a leader never commits an entry of an earlier term by counting the nodes that hold it: a majority may hold 2:t2 and a leader of term 4 still overwrite it (the paper's Figure 8). It commits an entry of its own term, and everything before it with it (§5.4.2)"))

	for _, p := range []sim.NodeID{2, 3} {
		n1.deliver(p, AppendEntriesReply{Term: 3, Success: true, Index: index})
	}
	require.Equal(t, int(index), int(n1.node.CommitIndex()), lesson(
		fmt.Sprintf("the leader of term 3 proposed index %d and two followers of five said they held it; its commit index", index),
		"once an entry of its own term is on a majority, the leader commits it, and every entry before it (§5.4.2)"))
	want := append(ents(1, 1, 2), Entry{Index: 3, Term: 3, Command: []byte("own")})
	require.True(t, n1.appliedAre(want), "the leader applied %s, want %s, in that order", showApplied(n1.applied), showEntries(want))
}

// Reference: Figure 2, rules for leaders ("update nextIndex and matchIndex
// for follower"); replies may arrive late.
func TestLeaderCountsOnlyWhatAFollowerSaidItHolds(t *testing.T) {
	n1 := newOne(t, 1, 3)
	n1.makeLeader()
	for _, cmd := range []string{"a", "b", "c"} {
		n1.propose(cmd)
	}
	// The reply to the AppendEntries that carried only entry 1.
	n1.deliver(2, AppendEntriesReply{Term: 1, Success: true, Index: 1})
	require.Equal(t, 1, int(n1.node.CommitIndex()), lesson(
		fmt.Sprintf("the leader of 3 nodes, log %s, heard n2 say it held up to index 1 (a reply to its first AppendEntries), and committed up to %d", showLog(n1.node.LogEntries()), n1.node.CommitIndex()),
		"a reply vouches for what it says, up to its Index: the follower holds that much, maybe no more. Taking a success for the leader's whole log counts entries the follower never got, and commits them"))

	// In five nodes: n2 holds up to 3, then its reply to an earlier
	// request arrives late; n3 holds up to 3 too.
	n5 := newOne(t, 1, 5)
	n5.makeLeader()
	for _, cmd := range []string{"a", "b", "c"} {
		n5.propose(cmd)
	}
	n5.deliver(2, AppendEntriesReply{Term: 1, Success: true, Index: 3})
	n5.deliver(2, AppendEntriesReply{Term: 1, Success: true, Index: 1}) // late
	n5.deliver(3, AppendEntriesReply{Term: 1, Success: true, Index: 3})
	require.Equal(t, 3, int(n5.node.CommitIndex()), lesson(
		"the leader of 5 nodes heard n2 say it held up to 3, then a late reply of n2 saying 1, then n3 saying 3: n1, n2 and n3 hold index 3. Its commit index",
		"what a follower is known to hold only grows: a late reply to an earlier request says less than the follower has since said, and must not lower matchIndex"))
	for _, m := range appends(n5.fire(heartbeatTick{}), 2) {
		require.True(t, m.PrevLogIndex == 3 && len(m.Entries) == 0, lesson(
			fmt.Sprintf("n2 had said it held up to 3, and then a late reply of n2 said 1; at the next heartbeat the leader sent n2 %v", m),
			"nextIndex moves back only on a refusal: a late success says less than n2 has since said, and sending n2 again what it holds doubles the traffic"))
	}
}

// Reference: Figure 2, state on leaders, "reinitialized after election".
func TestALeaderStartsEachTermAfreshAboutItsFollowers(t *testing.T) {
	n1 := newOne(t, 1, 5)
	n1.makeLeader() // term 1
	for _, cmd := range []string{"a", "b", "c"} {
		n1.propose(cmd)
	}
	n1.deliver(2, AppendEntriesReply{Term: 1, Success: true, Index: 3})
	// The leader of term 2 replaces n1's log with its own one entry.
	n1.deliver(3, AppendEntries{Term: 2, Leader: 3, Entries: ents(1, 2)})
	requireLog(t, n1, ents(1, 2), "setting up: n1, deposed by the leader of term 2")
	n1.makeLeader() // term 3
	index, _, _ := n1.propose("new")
	n1.fire(heartbeatTick{})
	n1.deliver(4, AppendEntriesReply{Term: 3, Success: true, Index: index})
	require.Less(t, n1.node.CommitIndex(), index, lesson(
		fmt.Sprintf("n1 led term 1, where n2 said it held up to 3; deposed, its log became [1:t2]; re-elected in term 3, it proposed index %d, n4 said it held it, and n1 committed up to %d: two nodes of five", index, n1.node.CommitIndex()),
		"nextIndex and matchIndex are reset each time a node takes office (Figure 2: \"reinitialized after election\"): what a follower held in an earlier term, the leader's own log may no longer hold"))
}

// Reference: Figure 2, rules for leaders ("if AppendEntries fails because
// of log inconsistency: decrement nextIndex and retry"); replies may be
// duplicated.
func TestLeaderBacksUpUntilTheLogsMatch(t *testing.T) {
	n1 := newOne(t, 1, 3)
	n1.follow(2, 1, ents(1, 1)...)
	n1.makeLeader() // term 2
	n1.propose("z")
	n1.env.Take()
	refusal := AppendEntriesReply{Term: 2, Index: 1}
	log := n1.deliver(3, refusal)
	log = append(log, n1.deliver(3, refusal)...) // the network delivered it twice
	log = append(log, n1.fire(heartbeatTick{})...)
	leaderLog := n1.node.LogEntries()
	sent := appends(log, 3)
	for _, m := range sent {
		if m.PrevLogIndex == 0 && len(m.Entries) == 0 { // an empty probe: answered, the entries follow
			sent = append(sent, appends(n1.answerAppends(log, 3), 3)...)
			break
		}
	}
	ok := false
	for _, m := range sent {
		ok = ok || (m.PrevLogIndex == 0 && carries(m, leaderLog, 2))
	}
	require.True(t, ok, lesson(
		fmt.Sprintf("the leader of term 2, log %s, heard n3 refuse prev 1; by its next heartbeat it sent n3 %s (the network had delivered the refusal twice)", showLog(leaderLog), nodetest.List(sentMessages(sent))),
		"when a follower refuses, the leader steps back to an earlier entry and tries again, until the logs match: here from PrevLogIndex 0, with every entry. A refusal answers one request: a copy of it, or a refusal of an earlier try, must not send nextIndex further back, past the start of the log (Figure 2, rules for leaders)"))
}

// Reference: §5.4.1, the election restriction; Figure 2, RequestVote
// receiver rule 2.
func TestVotesGoOnlyToCandidatesWithLogsAtLeastAsUpToDate(t *testing.T) {
	for _, tc := range []struct {
		lastIndex, lastTerm uint64
		grant               bool
		why                 string
	}{
		{5, 1, false, "its last term, 1, is older than the voter's, 2, however long its log"},
		{1, 2, false, "its last term is the voter's, and its log is shorter"},
		{2, 2, true, "its log ends where the voter's does"},
		{3, 2, true, "its last term is the voter's, and its log is longer"},
		{1, 3, true, "its last term, 3, is newer than the voter's"},
	} {
		n1 := newOne(t, 1, 5)
		n1.follow(2, 1, ents(1, 1)...)
		n1.deliver(3, AppendEntries{Term: 2, Leader: 3, PrevLogIndex: 1, PrevLogTerm: 1, Entries: ents(2, 2)})
		rv := RequestVote{Term: 4, Candidate: 4, LastLogIndex: tc.lastIndex, LastLogTerm: tc.lastTerm}
		log := n1.deliver(4, rv)
		var got []RequestVoteReply
		for _, m := range nodetest.Sent(log)[4] {
			if r, ok := m.(RequestVoteReply); ok {
				got = append(got, r)
			}
		}
		verdict := "refuse"
		if tc.grant {
			verdict = "grant"
		}
		assert.True(t, len(got) == 1 && got[0].VoteGranted == tc.grant, lesson(
			fmt.Sprintf("a node with log [1:t1 2:t2] was sent %v and answered %s; it should %s: %s", rv, nodetest.List(nodetest.Sent(log)[4]), verdict, tc.why),
			"a node votes only for a candidate whose log is at least as up to date as its own: the later last term wins, and with the same last term the longer log. Every committed entry is on a majority, so a leader elected this way holds them all (§5.4.1)"))
	}
}

// Reference: §5.3; a cluster of one node is its own majority.
func TestALeaderAloneCommitsAtOnce(t *testing.T) {
	n1 := newOne(t, 1, 1)
	n1.makeLeader()
	index, _, ok := n1.propose("solo")
	require.True(t, ok, "the only node of a cluster of one leads, and takes proposals")
	require.True(t, n1.node.CommitIndex() == index && n1.appliedAre([]Entry{{Index: 1, Term: 1, Command: []byte("solo")}}), lesson(
		fmt.Sprintf("the only node of a cluster of one proposed %q at index %d; its commit index is %d and it applied %s", "solo", index, n1.node.CommitIndex(), showApplied(n1.applied)),
		"a majority of one node is that node: an entry it holds is committed at once, with no reply to wait for (§5.3)"))
}
