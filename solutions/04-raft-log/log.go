//go:build solution

package raftlog

// The replicated log (§5.3, §5.4): the leader takes in commands, sends
// them to every follower with the entry they must follow, and commits an
// entry of its own term once a majority holds it; every node applies what
// is committed, once, in order.

import (
	"slices"

	"github.com/distlings/distlings/labs/internal/sim"
)

// replication is the log and what every node keeps about it (Figure 2).
type replication struct {
	log         []Entry // log[i] has Index i+1
	commitIndex uint64  // the highest index known to be committed
	lastApplied uint64  // the highest index handed to apply

	// The leader's, reset each time it takes office.
	nextIndex  map[sim.NodeID]uint64 // the next entry to send to each peer
	matchIndex map[sim.NodeID]uint64 // the highest entry known to match on each peer
}

// LogEntries returns a copy of the node's log.
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

// restore reads back the log, at boot and after every crash. Nothing is
// known to be committed yet: the leader will say.
func (n *Node) restore() {
	n.log = LoadLog(n.env.Storage())
}

// persist saves the log. It runs before anything that tells another node,
// or counts towards a majority, that the log holds an entry.
func (n *Node) persist() {
	SaveLog(n.env.Storage(), n.log)
}

// Propose appends cmd to the leader's log and starts replicating it. It
// returns where the entry will be if it commits, and false on a node that
// is not the leader.
func (n *Node) Propose(cmd []byte) (index, term uint64, isLeader bool) {
	if n.role != Leader {
		return 0, 0, false
	}
	last, _ := n.lastLog()
	e := Entry{Index: last + 1, Term: n.term, Command: slices.Clone(cmd)}
	n.log = append(n.log, e)
	n.persist() // the leader counts itself towards the majority
	// The entry goes out with the next heartbeat, with every other entry
	// proposed until then: sending at once would send again, with each
	// proposal, every entry still on its way.
	n.advanceCommit() // a cluster of one commits at once
	return e.Index, e.Term, true
}

// lastLog returns the index and term of the last entry, or 0, 0.
func (n *Node) lastLog() (index, term uint64) {
	if len(n.log) == 0 {
		return 0, 0
	}
	e := n.log[len(n.log)-1]
	return e.Index, e.Term
}

// termAt returns the term of the entry at index, and false if the log
// has no such entry. Index 0 is the empty log before the first entry.
func (n *Node) termAt(index uint64) (uint64, bool) {
	if index == 0 {
		return 0, true
	}
	if index > uint64(len(n.log)) {
		return 0, false
	}
	return n.log[index-1].Term, true
}

// logUpToDate reports whether a candidate's log, ending at lastIndex in
// lastTerm, is at least as up to date as this node's (§5.4.1): the later
// last term wins; with equal last terms, the longer log.
func (n *Node) logUpToDate(lastIndex, lastTerm uint64) bool {
	myIndex, myTerm := n.lastLog()
	return lastTerm > myTerm || (lastTerm == myTerm && lastIndex >= myIndex)
}

// startLeading sets up a new term of office: every follower is assumed to
// be up to date until it says otherwise, and nothing is known to match.
func (n *Node) startLeading() {
	last, _ := n.lastLog()
	n.nextIndex, n.matchIndex = map[sim.NodeID]uint64{}, map[sim.NodeID]uint64{}
	for _, p := range n.env.Peers() {
		n.nextIndex[p] = last + 1
	}
}

// sendAppendEntries sends a follower every entry from its nextIndex on
// (none when it is up to date: a heartbeat).
func (n *Node) sendAppendEntries(to sim.NodeID) {
	prev := n.nextIndex[to] - 1
	prevTerm, _ := n.termAt(prev)
	n.env.Send(to, AppendEntries{
		Term: n.term, Leader: n.env.ID(),
		PrevLogIndex: prev, PrevLogTerm: prevTerm,
		Entries:      n.log[prev:], // the network copies them
		LeaderCommit: n.commitIndex,
	})
}

// handleAppendEntries is the follower's side of AppendEntries (Figure 2,
// receiver implementation).
func (n *Node) handleAppendEntries(from sim.NodeID, m AppendEntries) {
	if term, ok := n.termAt(m.PrevLogIndex); !ok || term != m.PrevLogTerm {
		n.env.Send(from, n.refusal(m.PrevLogIndex, term, ok))
		return
	}
	// Keep every entry that already matches: this request may be late,
	// and a shorter one than the last, and cutting the log there would
	// drop entries the leader counts as replicated here.
	for i, e := range m.Entries {
		term, ok := n.termAt(e.Index)
		if ok && term == e.Term {
			continue
		}
		if ok {
			n.log = n.log[:e.Index-1] // a conflict: it and all that follow go
		}
		n.log = append(n.log, m.Entries[i:]...)
		n.persist() // before the reply says it holds them
		break
	}
	lastNew := m.PrevLogIndex + uint64(len(m.Entries))
	// Only what this request proved to match may be committed: entries
	// past lastNew may be left over from an old term.
	if commit := min(m.LeaderCommit, lastNew); commit > n.commitIndex {
		n.commitIndex = commit
		n.applyCommitted()
	}
	n.env.Send(from, AppendEntriesReply{Term: n.term, Success: true, Index: lastNew})
}

// refusal says what the follower holds at prev, so that the leader can
// skip a whole term of entries per round trip (§5.3): the term there and
// the first index of that term, or where the log ends if it is shorter.
func (n *Node) refusal(prev, term uint64, held bool) AppendEntriesReply {
	r := AppendEntriesReply{Term: n.term, Index: prev}
	if !held {
		last, _ := n.lastLog()
		r.ConflictIndex = last + 1
		return r
	}
	first := prev
	for first > 1 && n.log[first-2].Term == term {
		first--
	}
	r.ConflictTerm, r.ConflictIndex = term, first
	return r
}

// handleAppendEntriesReply is the leader's side.
func (n *Node) handleAppendEntriesReply(from sim.NodeID, m AppendEntriesReply) {
	if m.Success {
		// Replies may come late or twice: what a follower is known to hold
		// only ever grows.
		if m.Index > n.matchIndex[from] {
			n.matchIndex[from] = m.Index
			n.advanceCommit()
		}
		n.nextIndex[from] = max(n.nextIndex[from], m.Index+1)
		return
	}
	if m.Index+1 != n.nextIndex[from] || m.Index <= n.matchIndex[from] {
		return // answers an earlier try
	}
	// Skip the follower's whole conflicting term: past the leader's own
	// entries of that term if it has any, else to where that term starts
	// on the follower. Always at least one entry back, never below what
	// is known to match.
	next := m.Index
	if m.ConflictIndex != 0 {
		next = m.ConflictIndex
		if last := n.lastIndexOf(m.ConflictTerm); m.ConflictTerm != 0 && last != 0 {
			next = last + 1
		}
	}
	n.nextIndex[from] = max(min(next, m.Index), n.matchIndex[from]+1)
	n.sendAppendEntries(from)
}

// lastIndexOf returns the index of the leader's last entry of term, or 0.
func (n *Node) lastIndexOf(term uint64) uint64 {
	for i := len(n.log) - 1; i >= 0 && n.log[i].Term >= term; i-- {
		if n.log[i].Term == term {
			return n.log[i].Index
		}
	}
	return 0
}

// advanceCommit commits the highest entry of the leader's own term that a
// majority holds, and with it everything before. An entry of an earlier
// term is never committed by counting replicas: a majority may hold it
// and a later leader still overwrite it (§5.4.2, Figure 8).
func (n *Node) advanceCommit() {
	for i := uint64(len(n.log)); i > n.commitIndex; i-- {
		if term, _ := n.termAt(i); term != n.term {
			break // earlier terms from here down
		}
		count := 1 // the leader holds it
		for _, p := range n.env.Peers() {
			if n.matchIndex[p] >= i {
				count++
			}
		}
		if 2*count > len(n.env.Peers())+1 {
			n.commitIndex = i
			n.applyCommitted()
			return
		}
	}
}

// applyCommitted hands every committed entry not yet applied to the
// service, in order.
func (n *Node) applyCommitted() {
	for n.lastApplied < n.commitIndex {
		n.lastApplied++
		e := n.log[n.lastApplied-1]
		n.apply(ApplyMsg{Index: e.Index, Term: e.Term, Command: slices.Clone(e.Command)})
	}
}
