package raftlog

import (
	"fmt"
	"strings"

	"github.com/distlings/distlings/labs/internal/sim"
)

// The messages of Raft, field for field as in Figure 2 of the paper. Every
// message carries the sender's term. Raft's RPCs become one message each
// way, a request and its reply.

// Entry is one entry of the log: a command, and the term of the leader
// that took it in. Index is its position, counted from 1.
type Entry struct {
	Index   uint64
	Term    uint64
	Command []byte
}

func (e Entry) String() string { return fmt.Sprintf("%d:t%d", e.Index, e.Term) }

// RequestVote asks for a vote: "make me leader of Term". LastLogIndex and
// LastLogTerm describe the candidate's log (§5.2, §5.4.1).
type RequestVote struct {
	Term         uint64
	Candidate    sim.NodeID
	LastLogIndex uint64
	LastLogTerm  uint64
}

// RequestVoteReply answers a RequestVote.
type RequestVoteReply struct {
	Term        uint64 // the voter's term
	VoteGranted bool
}

// AppendEntries is sent by the leader to each follower: the entries that
// follow PrevLogIndex in the leader's log (none for a bare heartbeat),
// and how far the leader has committed. (§5.3)
type AppendEntries struct {
	Term         uint64
	Leader       sim.NodeID
	PrevLogIndex uint64 // the index of the entry just before Entries
	PrevLogTerm  uint64 // its term; 0 when PrevLogIndex is 0
	Entries      []Entry
	LeaderCommit uint64 // the leader's commit index
}

// AppendEntriesReply answers an AppendEntries.
type AppendEntriesReply struct {
	Term    uint64 // the follower's term
	Success bool   // the follower's log held an entry matching PrevLogIndex and PrevLogTerm
	// Index says which request this answers: on success, the request's
	// PrevLogIndex + len(Entries); on refusal, its PrevLogIndex.
	Index uint64
	// On refusal, what the follower holds at Index, so that the leader
	// can skip a whole term of entries at a time (part 2, §5.3): the
	// term of its entry there and the first index it holds of that term,
	// or, if its log is shorter, ConflictTerm 0 and ConflictIndex one
	// past its last entry.
	ConflictTerm  uint64
	ConflictIndex uint64
}

// InstallSnapshot is sent by the leader to a follower that needs entries
// the leader has dropped into its snapshot (part 4, §7): the snapshot
// stands for every entry up to LastIncludedIndex.
type InstallSnapshot struct {
	Term              uint64
	Leader            sim.NodeID
	LastIncludedIndex uint64
	LastIncludedTerm  uint64
	Data              []byte
}

// InstallSnapshotReply answers an InstallSnapshot.
type InstallSnapshotReply struct {
	Term  uint64 // the follower's term
	Index uint64 // the request's LastIncludedIndex
}

func (m InstallSnapshot) String() string {
	return fmt.Sprintf("InstallSnapshot{term %d, leader %v, up to %d:t%d, %d bytes}", m.Term, m.Leader, m.LastIncludedIndex, m.LastIncludedTerm, len(m.Data))
}

func (m InstallSnapshotReply) String() string {
	return fmt.Sprintf("InstallSnapshotReply{term %d, up to %d}", m.Term, m.Index)
}

func (m RequestVote) String() string {
	return fmt.Sprintf("RequestVote{term %d, candidate %v, last log %d:t%d}", m.Term, m.Candidate, m.LastLogIndex, m.LastLogTerm)
}

func (m RequestVoteReply) String() string {
	verdict := "refused"
	if m.VoteGranted {
		verdict = "granted"
	}
	return fmt.Sprintf("VoteReply{term %d, %s}", m.Term, verdict)
}

func (m AppendEntries) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "AppendEntries{term %d, leader %v, prev %d:t%d, entries [", m.Term, m.Leader, m.PrevLogIndex, m.PrevLogTerm)
	for i, e := range m.Entries {
		if i > 0 {
			b.WriteString(" ")
		}
		if i == 4 && len(m.Entries) > 6 {
			fmt.Fprintf(&b, "… %v", m.Entries[len(m.Entries)-1])
			break
		}
		b.WriteString(e.String())
	}
	fmt.Fprintf(&b, "], commit %d}", m.LeaderCommit)
	return b.String()
}

func (m AppendEntriesReply) String() string {
	if m.Success {
		return fmt.Sprintf("AppendEntriesReply{term %d, ok up to %d}", m.Term, m.Index)
	}
	if m.ConflictIndex != 0 {
		return fmt.Sprintf("AppendEntriesReply{term %d, refused prev %d, conflict %d:t%d}", m.Term, m.Index, m.ConflictIndex, m.ConflictTerm)
	}
	return fmt.Sprintf("AppendEntriesReply{term %d, refused prev %d}", m.Term, m.Index)
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
	case InstallSnapshot:
		return m.Term, true
	case InstallSnapshotReply:
		return m.Term, true
	}
	return 0, false
}
