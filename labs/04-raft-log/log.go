package raftlog

// The replicated log. You write this file.
//
// The API the tests use (keep these names and signatures):
//
//	New(cfg, service) / NewNode(cfg, svc)               // in raft.go, done
//	(*Node).Start, HandleMessage, HandleTimer           // in election.go, done
//	(*Node).Role(), Term(), VotedFor(), Leader()        // in election.go, done
//	(*Node).Propose(cmd []byte) (index, term uint64, isLeader bool)
//	(*Node).LogEntries() []Entry                        // done, if you keep n.log
//	(*Node).CommitIndex() uint64                        // done
//	(*Node).LastApplied() uint64                        // done
//
// You will build, in order:
//
//	Part 1  replicate and commit: the leader's log reaches the followers,
//	        entries commit once they are safe, and every node applies
//	        them once, in order
//	Part 2  catch-up, at a cost: followers that fell behind or went their
//	        own way come back into line in a few round trips, and each
//	        entry crosses the network about once per follower
//	Part 3  crash and recover: the log survives crashes (SaveLog and
//	        LoadLog in raft.go), and clusters keep their promises through
//	        crashes, restarts and partitions
//	Part 4  snapshots: with cfg.SnapshotEvery, the service's state stands
//	        in for the log up to a point, the log before it is dropped,
//	        and a follower behind that point gets the snapshot
//
// Part 5, a key-value store on top of the log, is in kv.go.
//
// The election in election.go calls the functions below at the points
// where it needs the log; each says when. What Figure 2 of the Raft paper
// says about AppendEntries, and §5.3–§5.4, is the specification.
//
// Run `grader test 04` (or `go test ./labs/04-raft-log/`) after each part.
// Log what your node decides with n.env.Logf: the lines show in the
// timeline of a failing test.

import (
	"slices"

	"github.com/distlings/distlings/labs/internal/sim"
)

// replication is the log and what a node keeps about it (Figure 2). Add
// the fields you need.
type replication struct {
	log         []Entry // the entries, in order
	commitIndex uint64  // the highest index known to be committed
	lastApplied uint64  // the highest index handed to n.apply

	// TODO(part 1): what a leader keeps about each follower.

	// TODO(part 4): what the snapshot covers.
}

// LogEntries returns a copy of the node's log: from part 4 on, the
// entries after its snapshot.
func (n *Node) LogEntries() []Entry {
	out := slices.Clone(n.log)
	for i := range out {
		out[i].Command = slices.Clone(out[i].Command)
	}
	return out
}

// CommitIndex returns the highest index the node knows to be committed.
func (n *Node) CommitIndex() uint64 { return n.commitIndex }

// LastApplied returns the highest index the node has applied.
func (n *Node) LastApplied() uint64 { return n.lastApplied }

// restore is called by Start, at boot and after every crash, once the
// term and vote are loaded: everything else the node knew is gone.
func (n *Node) restore() {
	// TODO(part 3): read back what you saved.
	// TODO(part 4): and the snapshot, which the service restores from.
}

// Propose asks the leader to add cmd to the replicated log. It returns the
// index the entry will have if it is ever committed, the leader's term,
// and true; on a node that is not the leader it does nothing and returns
// false. It does not wait for the entry to commit: n.apply hears of it
// then.
func (n *Node) Propose(cmd []byte) (index, term uint64, isLeader bool) {
	// TODO(part 1)
	return 0, 0, false
}

// lastLog returns the index and term of the last entry of the log, or
// 0, 0 for an empty log. The election puts them in its RequestVotes.
func (n *Node) lastLog() (index, term uint64) {
	// TODO(part 1)
	return 0, 0
}

// logUpToDate reports whether a candidate whose log ends at lastIndex, in
// lastTerm, may have this node's vote as far as the logs go (§5.4.1). The
// election asks it before granting a vote.
func (n *Node) logUpToDate(lastIndex, lastTerm uint64) bool {
	// TODO(part 1)
	return true
}

// startLeading is called when the node becomes leader, just before its
// first AppendEntries go out.
func (n *Node) startLeading() {
	// TODO(part 1)
}

// sendAppendEntries sends one AppendEntries to a follower. The election
// calls it for every follower when the node takes office and at every
// heartbeat.
func (n *Node) sendAppendEntries(to sim.NodeID) {
	// TODO(part 1): the entries the follower is missing, and how to find
	// where they go. For now, a bare heartbeat.
	n.env.Send(to, AppendEntries{Term: n.term, Leader: n.env.ID()})
}

// handleAppendEntries is a follower's answer to the leader of its term
// (the term rules have run, and the election timer is reset).
func (n *Node) handleAppendEntries(from sim.NodeID, m AppendEntries) {
	// TODO(part 1): Figure 2, "AppendEntries RPC", receiver implementation.
	// TODO(part 2): a refusal that helps the leader find the match fast.
	n.env.Send(from, AppendEntriesReply{Term: n.term, Success: true})
}

// handleAppendEntriesReply is the leader's side: a follower's answer, of
// the leader's term.
func (n *Node) handleAppendEntriesReply(from sim.NodeID, m AppendEntriesReply) {
	// TODO(part 1)
	// TODO(part 2): what a refusal says about the follower's log.
}

// handleInstallSnapshot is a follower's answer to the leader of its term
// (the term rules have run, and the election timer is reset).
func (n *Node) handleInstallSnapshot(from sim.NodeID, m InstallSnapshot) {
	// TODO(part 4)
}

// handleInstallSnapshotReply is the leader's side.
func (n *Node) handleInstallSnapshotReply(from sim.NodeID, m InstallSnapshotReply) {
	// TODO(part 4)
}
