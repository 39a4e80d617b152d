package raftlog

// Leader election, given: the reference node of lab 03 without pre-vote,
// in the shape of etcd-io/raft. The rules every role shares (terms) run
// first, in HandleMessage; then the message goes to the step function of
// the node's role. becomeFollower, becomeCandidate and becomeLeader are
// the only places a role changes.
//
// It calls into log.go, your file, where the election needs the log:
// lastLog and logUpToDate for votes, startLeading when a term of office
// begins, sendAppendEntries for each heartbeat, and the two AppendEntries
// handlers. To run your own lab 03 node instead, paste its code here and
// make the same calls in the same places.

import (
	"time"

	"github.com/distlings/distlings/labs/internal/sim"
)

// Node is one Raft node.
type Node struct {
	cfg   Config
	env   sim.Env
	svc   Service        // what runs on top of the log
	apply func(ApplyMsg) // svc.Apply: where committed entries go, in order

	// Persistent state (Figure 2), saved with SaveHardState before any
	// message that depends on it is sent. The log is in replication.
	term     uint64
	votedFor sim.NodeID

	// Volatile state, lost in a crash.
	role   Role
	leader sim.NodeID          // the leader of term, if known
	votes  map[sim.NodeID]bool // votes received in this election

	electionTimer  sim.TimerID
	heartbeatTimer sim.TimerID

	replication // the log and everything about it: log.go
}

// Role returns the node's role.
func (n *Node) Role() Role { return n.role }

// Term returns the node's current term.
func (n *Node) Term() uint64 { return n.term }

// VotedFor returns whom the node voted for in its current term, or 0.
func (n *Node) VotedFor() sim.NodeID { return n.votedFor }

// Leader returns the leader of the current term as far as the node knows,
// or 0.
func (n *Node) Leader() sim.NodeID { return n.leader }

// Start boots the node as a follower in the term it last saved, with
// the log it last saved.
func (n *Node) Start(env sim.Env) {
	n.env = env
	hs := LoadHardState(env.Storage())
	n.term, n.votedFor = hs.Term, hs.VotedFor
	n.restore()
	n.role = Follower
	n.resetElectionTimer()
}

// HandleMessage applies the rules on terms that every role shares, then
// hands the message to the role's step function.
func (n *Node) HandleMessage(from sim.NodeID, msg sim.Message) {
	term, ok := termOf(msg)
	if !ok {
		n.env.Logf("ignored %v from %v: not a Raft message", sim.Describe(msg), from)
		return
	}
	switch {
	case term > n.term:
		// Any newer term makes a node a follower of that term (§5.1). An
		// AppendEntries also names the leader.
		leader := sim.NodeID(0)
		switch m := msg.(type) {
		case AppendEntries:
			leader = m.Leader
		case InstallSnapshot:
			leader = m.Leader
		}
		n.becomeFollower(term, leader)
	case term < n.term:
		// A stale message: answer requests with the current term so the
		// sender learns it is behind; drop stale replies (§5.1).
		switch m := msg.(type) {
		case RequestVote:
			n.env.Send(from, RequestVoteReply{Term: n.term})
		case AppendEntries:
			n.env.Send(from, AppendEntriesReply{Term: n.term, Index: m.PrevLogIndex})
		case InstallSnapshot:
			n.env.Send(from, InstallSnapshotReply{Term: n.term, Index: m.LastIncludedIndex})
		}
		return
	}
	switch n.role {
	case Follower:
		n.stepFollower(from, msg)
	case Candidate:
		n.stepCandidate(from, msg)
	case Leader:
		n.stepLeader(from, msg)
	}
}

func (n *Node) stepFollower(from sim.NodeID, msg sim.Message) {
	switch m := msg.(type) {
	case RequestVote:
		n.handleRequestVote(from, m)
	case AppendEntries:
		n.followLeader(from, m)
	case InstallSnapshot:
		n.leader = m.Leader
		n.resetElectionTimer()
		n.handleInstallSnapshot(from, m)
	}
}

func (n *Node) stepCandidate(from sim.NodeID, msg sim.Message) {
	switch m := msg.(type) {
	case RequestVote:
		n.handleRequestVote(from, m)
	case AppendEntries:
		// A leader of this term exists: stop campaigning (§5.2).
		n.becomeFollower(m.Term, m.Leader)
		n.followLeader(from, m)
	case InstallSnapshot:
		n.becomeFollower(m.Term, m.Leader)
		n.stepFollower(from, m)
	case RequestVoteReply:
		if !m.VoteGranted {
			return
		}
		n.votes[from] = true
		if n.hasMajority() {
			n.becomeLeader()
		}
	}
}

func (n *Node) stepLeader(from sim.NodeID, msg sim.Message) {
	switch m := msg.(type) {
	case RequestVote:
		n.handleRequestVote(from, m) // refused: a leader voted for itself
	case AppendEntries:
		// Two leaders in one term cannot happen; if it did, say so.
		n.env.Logf("BUG: AppendEntries from %v, another leader of term %d", from, m.Term)
	case AppendEntriesReply:
		n.handleAppendEntriesReply(from, m)
	case InstallSnapshotReply:
		n.handleInstallSnapshotReply(from, m)
	}
}

// handleRequestVote grants a vote at most once per term (§5.2), and only
// to a candidate whose log is at least as up to date (§5.4.1), saving the
// vote before answering.
func (n *Node) handleRequestVote(from sim.NodeID, m RequestVote) {
	granted := (n.votedFor == 0 || n.votedFor == m.Candidate) && n.logUpToDate(m.LastLogIndex, m.LastLogTerm)
	if granted {
		n.votedFor = m.Candidate
		n.save()
		// A node that grants a vote gives that candidate a full timeout
		// to win before standing itself (Figure 2, rules for followers).
		n.resetElectionTimer()
	}
	n.env.Send(from, RequestVoteReply{Term: n.term, VoteGranted: granted})
}

// followLeader hears the leader of the node's term: it is alive, so the
// election timer starts over, and its entries go to the log.
func (n *Node) followLeader(from sim.NodeID, m AppendEntries) {
	n.leader = m.Leader
	n.resetElectionTimer()
	n.handleAppendEntries(from, m)
}

// HandleTimer starts an election when the election timer fires, and sends
// AppendEntries when the leader's timer does.
func (n *Node) HandleTimer(t sim.Timer) {
	switch t.(type) {
	case electionTimeout:
		n.electionTimer = 0
		if n.role != Leader {
			// Followers and candidates alike: a candidate whose election
			// timed out (a split vote) tries again in a new term (§5.2).
			n.becomeCandidate()
		}
	case heartbeatTick:
		n.heartbeatTimer = 0
		if n.role == Leader {
			n.broadcastAppendEntries()
			n.heartbeatTimer = n.env.SetTimer(n.cfg.HeartbeatInterval, heartbeatTick{})
		}
	}
}

func (n *Node) becomeFollower(term uint64, leader sim.NodeID) {
	if term > n.term {
		n.term, n.votedFor = term, 0
		n.save()
	}
	if n.role != Follower {
		n.env.Logf("%v → follower in term %d", n.role, n.term)
	}
	n.role, n.leader, n.votes = Follower, leader, nil
	if n.heartbeatTimer != 0 {
		n.env.CancelTimer(n.heartbeatTimer)
		n.heartbeatTimer = 0
	}
	n.resetElectionTimer()
}

// becomeCandidate starts an election: a new term, a vote for itself,
// saved before any RequestVote leaves (§5.2).
func (n *Node) becomeCandidate() {
	n.term++
	n.votedFor = n.env.ID()
	n.save()
	n.role, n.leader = Candidate, 0
	n.votes = map[sim.NodeID]bool{n.env.ID(): true}
	n.env.Logf("candidate in term %d", n.term)
	n.resetElectionTimer()
	if n.hasMajority() {
		n.becomeLeader() // a cluster of one
		return
	}
	lastIndex, lastTerm := n.lastLog()
	for _, p := range n.env.Peers() {
		n.env.Send(p, RequestVote{Term: n.term, Candidate: n.env.ID(), LastLogIndex: lastIndex, LastLogTerm: lastTerm})
	}
}

// becomeLeader takes office: AppendEntries at once and then every
// interval, and no election timer while it leads.
func (n *Node) becomeLeader() {
	n.role, n.leader, n.votes = Leader, n.env.ID(), nil
	n.env.Logf("leader of term %d", n.term)
	if n.electionTimer != 0 {
		n.env.CancelTimer(n.electionTimer)
		n.electionTimer = 0
	}
	n.startLeading()
	n.broadcastAppendEntries()
	n.heartbeatTimer = n.env.SetTimer(n.cfg.HeartbeatInterval, heartbeatTick{})
}

func (n *Node) broadcastAppendEntries() {
	for _, p := range n.env.Peers() {
		n.sendAppendEntries(p)
	}
}

// resetElectionTimer sets a new election timer with a random timeout, so
// that nodes rarely time out together and split the vote (§5.2).
func (n *Node) resetElectionTimer() {
	if n.electionTimer != 0 {
		n.env.CancelTimer(n.electionTimer)
	}
	spread := n.cfg.ElectionTimeoutMax - n.cfg.ElectionTimeoutMin
	timeout := n.cfg.ElectionTimeoutMin
	if spread > 0 {
		timeout += time.Duration(n.env.Rand().Int64N(int64(spread)))
	}
	n.electionTimer = n.env.SetTimer(timeout, electionTimeout{})
}

func (n *Node) hasMajority() bool {
	return len(n.votes) > (len(n.env.Peers())+1)/2
}

func (n *Node) save() {
	SaveHardState(n.env.Storage(), HardState{Term: n.term, VotedFor: n.votedFor})
}
