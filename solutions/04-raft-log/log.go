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
	log         []Entry // the entries after the snapshot: log[i] has Index snapIndex+i+1
	commitIndex uint64  // the highest index known to be committed
	lastApplied uint64  // the highest index handed to apply

	// The snapshot stands for every entry up to snapIndex (part 4).
	snapIndex, snapTerm uint64
	snapData            []byte

	// The leader's, reset each time it takes office.
	nextIndex  map[sim.NodeID]uint64 // the next entry to send to each peer
	matchIndex map[sim.NodeID]uint64 // the highest entry known to match on each peer
	// inflight is the last entry sent to a follower that waits for its
	// answer, 0 for none: new entries wait for that answer too, and then
	// go out together.
	inflight map[sim.NodeID]uint64
}

// LogEntries returns a copy of the node's log after its snapshot.
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

// restore reads back the snapshot and the log, at boot and after every
// crash. What the snapshot covers is committed and applied; of the rest
// nothing is known to be committed yet: the leader will say.
func (n *Node) restore() {
	snap := LoadSnapshot(n.env.Storage())
	if snap.Index > 0 {
		n.snapIndex, n.snapTerm, n.snapData = snap.Index, snap.Term, snap.Data
		n.svc.Restore(snap.Data)
		n.commitIndex, n.lastApplied = snap.Index, snap.Index
	}
	// A crash between saving a snapshot and saving the log after it
	// leaves entries the snapshot already covers: drop them.
	n.log = slices.DeleteFunc(LoadLog(n.env.Storage()), func(e Entry) bool { return e.Index <= n.snapIndex })
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
	// A follower with nothing on its way gets the entry at once, not at
	// the next heartbeat; the others get it with the answer they await.
	for _, p := range n.env.Peers() {
		if n.inflight[p] == 0 {
			n.sendAppendEntries(p)
		}
	}
	n.advanceCommit() // a cluster of one commits at once
	return e.Index, e.Term, true
}

// lastLog returns the index and term of the last entry, or of the
// snapshot's last entry if the log after it is empty.
func (n *Node) lastLog() (index, term uint64) {
	if len(n.log) == 0 {
		return n.snapIndex, n.snapTerm
	}
	e := n.log[len(n.log)-1]
	return e.Index, e.Term
}

// termAt returns the term of the entry at index, and false if the log
// has no such entry or has dropped it into the snapshot. The snapshot's
// last entry has its term; index 0 is the empty log.
func (n *Node) termAt(index uint64) (uint64, bool) {
	switch last, _ := n.lastLog(); {
	case index == n.snapIndex:
		return n.snapTerm, true
	case index < n.snapIndex || index > last:
		return 0, false
	}
	return n.entry(index).Term, true
}

// entry returns the entry at index, which must be after the snapshot.
func (n *Node) entry(index uint64) Entry { return n.log[index-n.snapIndex-1] }

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
	n.inflight = map[sim.NodeID]uint64{}
	for _, p := range n.env.Peers() {
		n.nextIndex[p] = last + 1
	}
}

// sendAppendEntries sends a follower every entry from its nextIndex on
// (none when it is up to date: a heartbeat), or the snapshot if the
// entries it needs are in it.
func (n *Node) sendAppendEntries(to sim.NodeID) {
	prev := n.nextIndex[to] - 1
	if prev < n.snapIndex {
		n.env.Send(to, InstallSnapshot{Term: n.term, Leader: n.env.ID(),
			LastIncludedIndex: n.snapIndex, LastIncludedTerm: n.snapTerm, Data: n.snapData})
		return
	}
	prevTerm, _ := n.termAt(prev)
	n.env.Send(to, AppendEntries{
		Term: n.term, Leader: n.env.ID(),
		PrevLogIndex: prev, PrevLogTerm: prevTerm,
		Entries:      n.log[prev-n.snapIndex:], // the network copies them
		LeaderCommit: n.commitIndex,
	})
	if last, _ := n.lastLog(); last > prev {
		n.inflight[to] = last
	}
}

// handleAppendEntries is the follower's side of AppendEntries (Figure 2,
// receiver implementation).
func (n *Node) handleAppendEntries(from sim.NodeID, m AppendEntries) {
	if m.PrevLogIndex < n.snapIndex {
		// The snapshot already holds the start of this request: those
		// entries are committed, so they match; check from its end.
		skip := min(n.snapIndex-m.PrevLogIndex, uint64(len(m.Entries)))
		m.Entries = m.Entries[skip:]
		m.PrevLogIndex, m.PrevLogTerm = m.PrevLogIndex+skip, n.snapTerm
		if m.PrevLogIndex < n.snapIndex {
			n.env.Send(from, AppendEntriesReply{Term: n.term, Success: true, Index: m.PrevLogIndex})
			return // all of it is old news
		}
	}
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
			n.log = n.log[:e.Index-n.snapIndex-1] // a conflict: it and all that follow go
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
	for first > n.snapIndex+1 {
		if t, _ := n.termAt(first - 1); t != term {
			break
		}
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
		if m.Index >= n.inflight[from] && n.inflight[from] != 0 {
			n.inflight[from] = 0 // the answer the entries on their way waited for
			if last, _ := n.lastLog(); n.nextIndex[from] <= last {
				n.sendAppendEntries(from) // what was proposed meanwhile
			}
		}
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
	last, _ := n.lastLog()
	for i := last; i > n.commitIndex; i-- {
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
		e := n.entry(n.lastApplied)
		n.apply(ApplyMsg{Index: e.Index, Term: e.Term, Command: slices.Clone(e.Command)})
	}
	if every := n.cfg.SnapshotEvery; every > 0 && n.lastApplied-n.snapIndex >= uint64(every) {
		n.takeSnapshot()
	}
}

// takeSnapshot has the service's state stand for the log up to the last
// applied entry, and drops those entries.
func (n *Node) takeSnapshot() {
	term, _ := n.termAt(n.lastApplied)
	n.log = slices.Clone(n.log[n.lastApplied-n.snapIndex:])
	n.snapIndex, n.snapTerm, n.snapData = n.lastApplied, term, n.svc.Snapshot()
	n.saveSnapshot()
}

// saveSnapshot saves the snapshot, then the log after it. A crash between
// the two leaves the new snapshot and the old log, whose entries the
// snapshot covers are dropped by restore; the other order would leave the
// old snapshot and a log that no longer holds what came between.
func (n *Node) saveSnapshot() {
	SaveSnapshot(n.env.Storage(), Snapshot{Index: n.snapIndex, Term: n.snapTerm, Data: n.snapData})
	n.persist()
}

// handleInstallSnapshot is a follower's side of InstallSnapshot (§7).
func (n *Node) handleInstallSnapshot(from sim.NodeID, m InstallSnapshot) {
	reply := InstallSnapshotReply{Term: n.term, Index: m.LastIncludedIndex}
	if m.LastIncludedIndex <= n.commitIndex {
		n.env.Send(from, reply) // it has all that, or more: a snapshot never rolls the state back
		return
	}
	if term, ok := n.termAt(m.LastIncludedIndex); ok && term == m.LastIncludedTerm && m.LastIncludedIndex > n.snapIndex {
		n.log = slices.Clone(n.log[m.LastIncludedIndex-n.snapIndex:]) // what follows is still good
	} else {
		n.log = nil
	}
	n.snapIndex, n.snapTerm, n.snapData = m.LastIncludedIndex, m.LastIncludedTerm, m.Data
	n.svc.Restore(m.Data)
	n.commitIndex, n.lastApplied = m.LastIncludedIndex, m.LastIncludedIndex
	n.saveSnapshot()
	n.env.Send(from, reply)
}

// handleInstallSnapshotReply is the leader's side: the follower holds
// everything up to the snapshot's end.
func (n *Node) handleInstallSnapshotReply(from sim.NodeID, m InstallSnapshotReply) {
	if m.Index > n.matchIndex[from] {
		n.matchIndex[from] = m.Index
		n.advanceCommit()
	}
	n.nextIndex[from] = max(n.nextIndex[from], m.Index+1)
	n.inflight[from] = 0
}
