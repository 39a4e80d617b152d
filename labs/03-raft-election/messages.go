package raft

import (
	"fmt"

	"github.com/distlings/distlings/labs/internal/sim"
)

// The messages of leader election, field for field as in Figure 2 of the
// Raft paper (without the log, which lab 04 adds). Every message carries
// the sender's term: that is how nodes learn that time has moved on.

// RequestVote asks for a vote: "make me leader of Term". (Raft §5.2)
// With PreVote set it only asks "would you vote for me in Term?" (part 4,
// Raft thesis §9.6).
type RequestVote struct {
	Term      uint64 // the candidate's term; for a pre-vote, the term it would stand in
	Candidate sim.NodeID
	PreVote   bool
}

// RequestVoteReply answers a RequestVote.
type RequestVoteReply struct {
	Term        uint64 // in the answer to a real vote, the voter's term
	VoteGranted bool
	PreVote     bool // the answer to a pre-vote
}

// AppendEntries is sent by the leader to every follower; in this lab it
// carries no entries and serves as the heartbeat that says "I am still the
// leader of Term". (Raft §5.2)
type AppendEntries struct {
	Term   uint64
	Leader sim.NodeID
}

// AppendEntriesReply answers an AppendEntries.
type AppendEntriesReply struct {
	Term    uint64 // the follower's term
	Success bool   // whether the follower accepted the heartbeat
}

func (m RequestVote) String() string {
	if m.PreVote {
		return fmt.Sprintf("PreVote{term %d, candidate %v}", m.Term, m.Candidate)
	}
	return fmt.Sprintf("RequestVote{term %d, candidate %v}", m.Term, m.Candidate)
}

func (m RequestVoteReply) String() string {
	name, verdict := "VoteReply", "refused"
	if m.PreVote {
		name = "PreVoteReply"
	}
	if m.VoteGranted {
		verdict = "granted"
	}
	return fmt.Sprintf("%s{term %d, %s}", name, m.Term, verdict)
}

func (m AppendEntries) String() string {
	return fmt.Sprintf("AppendEntries{term %d, leader %v}", m.Term, m.Leader)
}

func (m AppendEntriesReply) String() string {
	verdict := "ok"
	if !m.Success {
		verdict = "rejected"
	}
	return fmt.Sprintf("AppendEntriesReply{term %d, %s}", m.Term, verdict)
}

// termOf returns the term a message carries, and false for anything that
// is not a Raft message.
func termOf(msg sim.Message) (uint64, bool) {
	switch m := msg.(type) {
	case RequestVote:
		return m.Term, true
	case RequestVoteReply:
		return m.Term, true
	case AppendEntries:
		return m.Term, true
	case AppendEntriesReply:
		return m.Term, true
	}
	return 0, false
}
